package io.dharmana.tensor.file;

import io.dharmana.internal.ExecutorTermination;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A thread that does a single coding thread's writes, in the order they are asked for, as zstd's
 * asynchronous I/O does: the coder works on one run of tensors while this thread writes the run
 * before. On one thread, writing (and, decompressing, checking the CRC-32Cs) was a sixth of a
 * decompression and a tenth of a compression (510 MB, page cache warm), which the second core now
 * takes.
 *
 * <p>Callers hand it runs of about {@link TensorFileReader#RUN_BYTES}, not single tensors: waking a
 * thread costs microseconds (more on a virtual machine's idle core), and a checkpoint may hold
 * thousands of tensors of a few hundred bytes. Runs larger than that came out slower: the coder's
 * output no longer stays in its core's cache until this thread reads it. Reads stay with the coder:
 * reading ahead here made the coder wait for this thread, behind the writes queued before.
 *
 * <p>At most one write waits behind the one under way, so the memory in flight stays a few runs.
 * A failed write is thrown from a later {@link #write} or from {@link #finish}. The thread is
 * never interrupted: an interrupt during a {@code FileChannel} write would close the channel under
 * its other users. Not thread-safe: one coding thread uses it.
 */
final class WriteBehind implements AutoCloseable {
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "dharmana-write-behind");
    t.setDaemon(true);
    return t;
  });
  private final ArrayDeque<Future<?>> pending = new ArrayDeque<>();

  /** Queues a write once at most one write is outstanding; a failure of an earlier write is thrown here. */
  void write(Runnable task) {
    forget(1);
    pending.add(thread.submit(task));
  }

  /** Waits for every write queued so far, throwing the first failure. */
  void finish() {
    forget(0);
  }

  /** Takes finished writes off the queue, and waits for the oldest until at most {@code keep} are outstanding. */
  private void forget(int keep) {
    while (!pending.isEmpty() && (pending.peek().isDone() || pending.size() > keep)) {
      TensorFileWriter.await(pending.poll());
    }
  }

  /** Drops the writes not started, waits for the one under way, and stops the thread. */
  @Override
  public void close() {
    for (Future<?> f : pending) {
      f.cancel(false);
    }
    pending.clear();
    thread.shutdown();
    // the write under way may still use the caller's channel: wait for it, interrupted or not
    ExecutorTermination.await(thread);
  }
}
