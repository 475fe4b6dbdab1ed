package io.dharmana.tensor.file;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Byte arrays passed from tensor to tensor within one compression or decompression: allocating
 * (and zeroing, and first touching) a fresh array per tensor costs about as much as checksumming
 * it. Arrays come back through {@link #give} once their bytes are written; a pool holds no more
 * arrays than were in use at once, and none above {@link #MAX_KEPT_BYTES}. Safe for concurrent use.
 */
final class ArrayPool {
  /** A larger tensor gets an array of its own, left to the collector after use. */
  static final int MAX_KEPT_BYTES = 64 << 20;

  private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();
  /** The largest length asked for so far (up to the cap): new arrays get it, so they fit later tensors too. */
  private volatile int largest;

  /** An array of at least {@code minLength} bytes, with arbitrary contents. */
  byte[] take(int minLength) {
    for (byte[] a; (a = free.poll()) != null; ) {
      if (a.length >= minLength) {
        return a;
      }
      // Too small for this tensor: dropped, and replaced below by one that fits the largest seen.
    }
    if (minLength > MAX_KEPT_BYTES) {
      return new byte[minLength];
    }
    int size = Math.max(minLength, largest);
    largest = size;
    return new byte[size];
  }

  /** Hands {@code array} back for a later {@link #take}; the caller must no longer use it. */
  void give(byte[] array) {
    if (array.length <= MAX_KEPT_BYTES) {
      free.offer(array);
    }
  }
}
