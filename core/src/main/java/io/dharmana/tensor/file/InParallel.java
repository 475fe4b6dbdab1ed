package io.dharmana.tensor.file;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs one body on {@code threads} threads at once, the calling thread being one of them: the
 * shape of a decompression whose threads take tensors from a shared counter and write each to its
 * own place, with nothing to hand back in order (for that, see {@link InOrder}).
 *
 * <p>The first failure is thrown on the caller once every thread has finished; the others' are
 * added to it as suppressed. The body must stop early on its own when it should (it knows its work).
 */
final class InParallel {
  /** The work of one thread. */
  @FunctionalInterface
  interface Body {
    void run() throws IOException;
  }

  private InParallel() {}

  static void run(int threads, Body body) throws IOException {
    if (threads <= 1) {
      body.run();
      return;
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads - 1, TensorFileWriter.daemonThreads());
    try {
      List<Future<?>> helpers = new ArrayList<>(threads - 1);
      for (int t = 1; t < threads; t++) {
        helpers.add(pool.submit(() -> {
          body.run();
          return null;
        }));
      }
      Throwable failure = null;
      try {
        body.run();
      } catch (IOException | RuntimeException | Error e) {
        failure = e;
      }
      for (Future<?> helper : helpers) {
        try {
          TensorFileWriter.await(helper);
        } catch (RuntimeException | Error e) {
          Throwable cause = e instanceof io.dharmana.DharmanaException && e.getCause() instanceof IOException io ? io : e;
          if (failure == null) {
            failure = cause;
          } else if (failure != cause) {
            failure.addSuppressed(cause);
          }
        }
      }
      if (failure instanceof IOException io) {
        throw io;
      }
      if (failure instanceof RuntimeException r) {
        throw r;
      }
      if (failure instanceof Error err) {
        throw err;
      }
    } finally {
      pool.shutdown();
    }
  }
}
