package io.dharmana.internal;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Waiting for a shut down executor's tasks to end, the two ways the library needs: until they have
 * ended, when a task still running would use what the caller is about to close; or for at most a
 * while, when a task left running does no harm. Both keep an interrupt for the caller to see.
 */
public final class ExecutorTermination {
  private ExecutorTermination() {}

  /**
   * Waits until every task of {@code executor}, which must be shut down, has ended, however often
   * this thread is interrupted meanwhile; an interrupt is re-asserted on return.
   */
  public static void await(ExecutorService executor) {
    boolean interrupted = false;
    while (true) {
      try {
        if (executor.awaitTermination(1, TimeUnit.MINUTES)) {
          break;
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits until every task of {@code executor}, which must be shut down, has ended, for at most
   * {@code timeout}; an interrupt ends the wait and is re-asserted.
   *
   * @return whether the tasks ended
   */
  public static boolean awaitAtMost(ExecutorService executor, Duration timeout) {
    try {
      return executor.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
