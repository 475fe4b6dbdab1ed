package io.dharmana.checkpoint;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Host staging memory for in-flight saves: a fixed number of arenas, one per save in flight. An
 * arena keeps its buffers from save to save and hands them out again best-fit, so saving states
 * of the same shapes allocates nothing after the first save of each arena; buffers an arena did
 * not use in its last save are dropped, so memory follows the current state instead of growing.
 * {@link #acquire} blocks while every arena is in use: that is what bounds saves in flight.
 */
final class StagingPool {
  private final BlockingQueue<Arena> free;
  private final AtomicLong allocations = new AtomicLong();
  private final AtomicLong allocatedBytes = new AtomicLong();

  StagingPool(int arenas) {
    free = new ArrayBlockingQueue<>(arenas);
    for (int i = 0; i < arenas; i++) {
      free.add(new Arena());
    }
  }

  Arena acquire() throws InterruptedException {
    return free.take();
  }

  void release(Arena arena) {
    arena.reset();
    free.add(arena);
  }

  /** Arenas no save holds right now. */
  int idleArenas() {
    return free.size();
  }

  /** Buffers allocated since the pool was made. */
  long allocations() {
    return allocations.get();
  }

  /** Bytes of all buffers allocated since the pool was made. */
  long allocatedBytes() {
    return allocatedBytes.get();
  }

  final class Arena {
    private final List<ByteBuffer> idle = new ArrayList<>();
    private final List<ByteBuffer> used = new ArrayList<>();

    /** A buffer of exactly {@code size} bytes, position 0. */
    ByteBuffer take(int size) {
      ByteBuffer best = null;
      for (ByteBuffer b : idle) {
        // best fit, but not a buffer more than twice too large: it would pin memory a later tensor needs
        if (b.capacity() >= size && b.capacity() <= 2L * size + 4096 && (best == null || b.capacity() < best.capacity())) {
          best = b;
        }
      }
      if (best == null) {
        best = ByteBuffer.allocate(size);
        allocations.incrementAndGet();
        allocatedBytes.addAndGet(size);
      } else {
        idle.remove(best);
      }
      used.add(best);
      return best.clear().limit(size).slice();
    }

    private void reset() {
      idle.clear(); // unused last time: let them go
      idle.addAll(used);
      used.clear();
      idle.sort(Comparator.comparingInt(ByteBuffer::capacity));
    }
  }
}
