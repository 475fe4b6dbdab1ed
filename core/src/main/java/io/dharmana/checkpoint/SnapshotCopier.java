package io.dharmana.checkpoint;

import io.dharmana.DharmanaException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Copies a state into staging buffers while the caller of {@code save} waits: the one part of a
 * save the caller pays for, so it runs at memory bandwidth. The bytes are cut into pieces of a
 * few MiB (a single huge tensor is split too) that the caller's thread and dedicated helper
 * threads take in turn; the helpers are this copier's own, so a copy never queues behind encoding
 * or other work of a shared pool, and a helper that is not scheduled only leaves more pieces to
 * the caller. Small states are copied by the caller alone.
 */
final class SnapshotCopier implements AutoCloseable {
  /** Below this many bytes, handing work to another thread costs more than it saves. */
  static final long PARALLEL_BYTES = 32L << 20;
  private static final int PIECE = 8 << 20;

  private final int helperCount;
  private final ExecutorService helpers;

  /** @param threads threads copying a large state, the caller's included; 1 copies on the caller alone */
  SnapshotCopier(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("Invalid copy threads " + threads + ": must be >= 1");
    }
    this.helperCount = threads - 1;
    AtomicInteger n = new AtomicInteger();
    this.helpers = helperCount == 0 ? null : Executors.newFixedThreadPool(helperCount, r -> {
      Thread t = new Thread(r, "dharmana-checkpoint-copy-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Copies each of {@code sources} (from its position to its limit) into the target of the same
   * index, which must have exactly that many bytes remaining, at position 0; positions and limits
   * are left unchanged. Returns when every byte is copied. Not thread-safe: one copy at a time.
   */
  void copy(List<ByteBuffer> sources, List<ByteBuffer> targets) {
    List<long[]> pieces = new ArrayList<>(); // {tensor, offset, length}
    long total = 0;
    for (int t = 0; t < sources.size(); t++) {
      int size = sources.get(t).remaining();
      if (targets.get(t).remaining() != size || targets.get(t).position() != 0) {
        throw new IllegalArgumentException("Invalid staging target " + t + ": " + targets.get(t) + " for " + size
            + " bytes");
      }
      for (int off = 0; off < size; off += PIECE) {
        pieces.add(new long[] {t, off, Math.min(PIECE, size - off)});
      }
      total += size;
    }
    AtomicInteger next = new AtomicInteger();
    Runnable worker = () -> {
      for (int i = next.getAndIncrement(); i < pieces.size(); i = next.getAndIncrement()) {
        long[] p = pieces.get(i);
        ByteBuffer src = sources.get((int) p[0]);
        targets.get((int) p[0]).put((int) p[1], src, src.position() + (int) p[1], (int) p[2]);
      }
    };
    if (helpers == null || total < PARALLEL_BYTES || pieces.size() < 2) {
      worker.run();
      return;
    }
    List<Future<?>> running = new ArrayList<>(helperCount);
    for (int h = 0; h < Math.min(helperCount, pieces.size() - 1); h++) {
      running.add(helpers.submit(worker));
    }
    RuntimeException failure = null;
    try {
      worker.run();
    } catch (RuntimeException e) {
      failure = e;
      next.set(pieces.size()); // the helpers stop at their next piece
    }
    // the helpers read the caller's tensors: wait for them even when the caller's part failed
    boolean interrupted = false;
    for (Future<?> f : running) {
      while (true) {
        try {
          f.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          if (failure == null) {
            failure = e.getCause() instanceof RuntimeException r ? r
                : new DharmanaException("Cannot copy the state into staging memory: " + e.getCause(), e.getCause());
          }
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void close() {
    if (helpers != null) {
      helpers.shutdown();
    }
  }
}
