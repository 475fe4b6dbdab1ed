package io.dharmana.store;

import java.io.IOException;
import java.io.InterruptedIOException;

/**
 * One flush action shared by concurrent callers (group commit): a caller that arrives while a
 * flush runs waits for it to end and then for one more, which one of the waiters runs for all of
 * them. So callers that finish their writes together pay for one flush rather than one each, and
 * {@link #flush} never returns before a flush that started after it was called has ended.
 *
 * <p>Thread safe. Callers that use different instances for one action still get that guarantee
 * each; they only share less.
 */
final class GroupFlush {
  /** The action flushed, such as an fsync. */
  @FunctionalInterface
  interface Action {
    void run() throws IOException;
  }

  private final Object lock = new Object();
  private Round running; // guarded by lock
  private Round queued; // guarded by lock

  /**
   * Returns once {@code action} has run to its end, started after this call began, here or in
   * another caller's thread.
   *
   * @throws IOException if the flush this caller waited for failed (every caller that waited for
   *     it gets the failure, as the cause of its own exception)
   */
  void flush(Action action, String what) throws IOException {
    Round mine;
    synchronized (lock) {
      if (running == null) {
        // a round queued by callers not yet awake starts after they called too: run it for them
        mine = running = queued != null ? queued : new Round();
        queued = null;
      } else {
        if (queued == null) {
          queued = new Round();
        }
        mine = queued;
        try {
          while (running != null && !mine.done) {
            lock.wait();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("Cannot " + what + ": interrupted while waiting for the flush before it");
        }
        if (mine.done) {
          mine.rethrow();
          return;
        }
        // the round before ended and no other waiter has started ours yet: run it for all of us
        running = mine;
        queued = null;
      }
    }
    Throwable failure = null;
    try {
      action.run();
    } catch (IOException | RuntimeException | Error e) {
      failure = e;
    } finally {
      synchronized (lock) {
        mine.done = true;
        mine.failure = failure;
        running = null;
        lock.notifyAll();
      }
    }
    mine.rethrow();
  }

  /** One flush, shared by the callers that waited for it, and its outcome. Guarded by lock. */
  private static final class Round {
    boolean done;
    Throwable failure;

    void rethrow() throws IOException {
      if (failure instanceof IOException e) {
        // each waiter gets its own exception with its own stack, the shared failure as cause
        throw new IOException(e.getMessage(), e);
      } else if (failure instanceof RuntimeException e) {
        throw e;
      } else if (failure instanceof Error e) {
        throw e;
      }
    }
  }
}
