package io.dharmana.checkpoint;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The puts of checkpoint files under way, by pattern (a bucket and a key with its numbers ignored),
 * so that a put can wait for the one of its pattern received before it and be delta-coded against
 * it.
 *
 * <p>Why: {@code aws s3 sync} of a directory of steps uploads them ten at a time. Each put looks
 * for its parent among the committed objects once its body is in; with all of them coding at once,
 * none found another committed and every step was stored whole. Here the puts of one pattern line
 * up in the order their bodies arrived: each waits for the one before it (which waited for its
 * own), so the second is coded against the first, the third against the second, and so on.
 *
 * <p>A wait is bounded: the client is waiting for its response meanwhile, and the SDKs give up
 * after 30 s (Java SDK v2) or 60 s (AWS CLI, boto3). A put whose predecessor takes longer goes on
 * and takes what is committed by then (an older step, or nothing). The wait never fails a put.
 * Thread-safe.
 */
final class InFlightPuts {
  /** One put under way: its object's name and the future completed when it has finished, committed or not. */
  record Put(String name, CompletableFuture<Void> done) {}

  private final Duration wait;
  /** Per pattern, the put of that pattern received last that has not finished. */
  private final Map<String, Put> last = new ConcurrentHashMap<>();

  InFlightPuts(Duration wait) {
    this.wait = wait;
  }

  /**
   * Enters the put of {@code name} under {@code pattern}, and returns the put of that pattern
   * entered before it and not yet finished, if any. The caller must {@link #finished} its put.
   */
  Put enter(String pattern, String name, CompletableFuture<Void> done) {
    return last.put(pattern, new Put(name, done));
  }

  /** Ends the put of {@code pattern} whose future is {@code done}: puts waiting for it go on. */
  void finished(String pattern, CompletableFuture<Void> done) {
    done.complete(null);
    last.computeIfPresent(pattern, (p, put) -> put.done() == done ? null : put);
  }

  /**
   * Waits until {@code predecessor} has finished, at most the wait this was made with.
   *
   * @return whether it finished within the wait (false also when this thread is interrupted,
   *     whose interrupt is kept)
   */
  boolean await(Put predecessor) {
    try {
      predecessor.done().get(wait.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return true; // futures here are only completed normally; a failed one has finished all the same
    }
  }
}
