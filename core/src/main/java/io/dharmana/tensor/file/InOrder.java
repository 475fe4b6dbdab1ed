package io.dharmana.tensor.file;

import io.dharmana.internal.ExecutorTermination;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.function.IntToLongFunction;

/**
 * Runs numbered tasks on a pool of threads, the calling thread helping, and hands their results
 * to the calling thread in order: the shape of compressing (and of decompressing a file older than
 * format version 3), where tensors code independently but the output is written in file order
 * (and, decompressing, hashed).
 *
 * <p>Why the caller codes too: the ordered work (every write and the kernel's copy into the page
 * cache; before format version 3, also the SHA-256 of the whole file) was a third to a half of a
 * coding thread's work. Done by a
 * caller that only waited otherwise, it became the critical path: the pool threads finished their
 * few tasks ahead and waited for it (decompressing 510 MB on 2 cores: main thread 1.27 s of CPU,
 * each decoder 0.65 s and blocked a third of its life; 1.00-1.15x from 1 to 2 threads). Here,
 * whenever the next result is not ready, the caller runs a task no pool thread has started yet, and
 * tasks start far enough ahead that the pool threads do not wait for the caller: the ordered work
 * and the coding share the cores whatever their proportion. With more than one thread the pool has
 * {@code threads} threads, the caller helping between its ordered work, so that on a busy machine
 * the command keeps as many runnable threads as one pool thread per core plus an ordered writer
 * would (one thread fewer lost a third of its share of a loaded machine to other processes).
 *
 * <p>Tasks are started in index order, ahead of the caller by at least {@link #MIN_AHEAD_PER_THREAD}
 * per thread and by more (up to {@link #MAX_AHEAD}) while that many tasks of the largest input seen
 * so far stay under {@link #AHEAD_BYTES_PER_THREAD} per thread: small tensors finish in
 * microseconds, and a short window would leave the pool idle while the caller codes a large one;
 * counting each as the largest bounds the memory of array pools that size arrays to the largest.
 * A task's failure is thrown on the caller when its turn comes; pool threads have finished with
 * their tasks when {@link #run} returns or throws.
 */
final class InOrder {
  static final int MIN_AHEAD_PER_THREAD = 2;
  static final long AHEAD_BYTES_PER_THREAD = 8L << 20;
  static final int MAX_AHEAD = 256;

  /** One numbered task; runs on any of the threads. */
  @FunctionalInterface
  interface Task<T> {
    T run(int index) throws Exception;
  }

  /** Takes the results in index order, on the calling thread. */
  @FunctionalInterface
  interface Sink<T> {
    void accept(int index, T result) throws IOException;
  }

  private InOrder() {}

  /**
   * Runs {@code task} for indexes {@code 0..count-1} on the caller alone ({@code threads} 1) or on
   * {@code threads} pool threads with the caller's help, and gives each result to {@code sink} in
   * index order.
   *
   * @param bytes the input size of each task, which bounds how far ahead tasks start
   * @throws IOException from {@code sink}
   */
  static <T> void run(int count, int threads, IntToLongFunction bytes, Task<T> task, Sink<T> sink) throws IOException {
    ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(threads, TensorFileWriter.daemonThreads()) : null;
    boolean finished = false;
    try {
      ArrayDeque<FutureTask<T>> window = new ArrayDeque<>();
      int minAhead = MIN_AHEAD_PER_THREAD * threads;
      long maxBytes = AHEAD_BYTES_PER_THREAD * threads;
      // Every task counts as the largest so far: the callers' array pools size new arrays to fit it.
      long largest = 1;
      int next = 0;
      for (int done = 0; done < count; done++) {
        while (next < count && window.size() < MAX_AHEAD) {
          long size = Math.max(largest, bytes.applyAsLong(next));
          if (window.size() >= minAhead && (window.size() + 1) * size > maxBytes) {
            break;
          }
          largest = size;
          int index = next++;
          FutureTask<T> f = new FutureTask<>(() -> task.run(index));
          window.add(f);
          if (pool != null) {
            pool.execute(f);
          }
        }
        FutureTask<T> head = window.peek();
        // Run what nobody has started, from the head on, until the head is done. run() on a task a
        // pool thread holds or has finished returns at once.
        for (FutureTask<T> f : window) {
          if (head.isDone()) {
            break;
          }
          f.run();
        }
        T result = TensorFileWriter.await(window.poll());
        sink.accept(done, result);
      }
      finished = true;
    } finally {
      if (pool != null) {
        if (finished) {
          pool.shutdown();
        } else {
          // Tasks not yet started are dropped; the running ones may still be reading the input.
          pool.shutdownNow();
        }
        // the pool threads finish their tasks (one tensor each at most), within reason
        ExecutorTermination.awaitAtMost(pool, Duration.ofMinutes(1));
      }
    }
  }
}
