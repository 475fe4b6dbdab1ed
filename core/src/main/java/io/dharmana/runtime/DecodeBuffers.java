package io.dharmana.runtime;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The native buffers one read decodes chunks into and writes them to a channel from, reused from
 * chunk to chunk: a read allocates at most {@code max} of them however long the object is, and a
 * channel writes a native buffer as it is where a heap array would be copied into one first.
 * Thread-safe.
 */
final class DecodeBuffers {
  private final int size;
  private final int max;
  private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
  private final AtomicInteger allocated = new AtomicInteger();

  /**
   * @param size bytes in each buffer: the largest chunk the read decodes
   * @param max buffers at most: as many as the read can hold at once (the chunks it lets decode
   *     ahead and the one being written)
   */
  DecodeBuffers(int size, int max) {
    if (size < 0 || max < 1) {
      throw new IllegalArgumentException("Invalid decode buffers: " + max + " of " + size + " bytes; at least one of 0 bytes or more");
    }
    this.size = size;
    this.max = max;
  }

  /**
   * A cleared buffer of {@link #size} bytes, reused if one was given back.
   *
   * @throws IllegalStateException if {@code max} are out already: the caller holds more than it
   *     said it would
   */
  ByteBuffer take() {
    ByteBuffer buffer = free.poll();
    if (buffer != null) {
      return buffer.clear();
    }
    if (allocated.incrementAndGet() > max) {
      allocated.decrementAndGet();
      throw new IllegalStateException("Cannot take a decode buffer: all " + max + " are in use");
    }
    return ByteBuffer.allocateDirect(size);
  }

  /** Gives back a buffer {@link #take} handed out; the caller must not use it afterwards. */
  void give(ByteBuffer buffer) {
    free.add(buffer);
  }

  int size() {
    return size;
  }

  /** Buffers allocated so far (never more than {@code max}). */
  int allocated() {
    return allocated.get();
  }
}
