package io.dharmana.stage.builtin;

/**
 * Per-thread scratch arrays for encoders whose output size is known only after encoding: the
 * encoder writes into a bound-sized scratch array and copies out exactly what it produced, so a
 * chunk costs one allocation of its final size instead of one of its worst-case size.
 */
final class ScratchBuffers {
  /** Larger scratch arrays are not kept, so a rare 64 MiB chunk does not pin memory per thread. */
  private static final int MAX_RETAINED = 8 << 20;

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

  private ScratchBuffers() {}

  /** An array of at least {@code size} bytes, owned by the calling thread until its next call. */
  static byte[] atLeast(int size) {
    byte[] scratch = SCRATCH.get();
    if (scratch.length >= size) {
      return scratch;
    }
    byte[] grown = new byte[size];
    if (size <= MAX_RETAINED) {
      SCRATCH.set(grown);
    }
    return grown;
  }
}
