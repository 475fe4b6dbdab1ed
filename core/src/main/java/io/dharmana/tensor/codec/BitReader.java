package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;

/** Reads what {@link BitWriter} wrote, failing with {@link CorruptDataException} past the end. */
final class BitReader {
  private final ByteSource src;
  private long acc;
  private int bits;

  BitReader(ByteSource src) {
    this.src = src;
  }

  int read(int n) {
    while (bits < n) {
      acc |= (long) src.readByte() << bits;
      bits += 8;
    }
    int v = (int) (acc & ((1L << n) - 1));
    acc >>>= n;
    bits -= n;
    return v;
  }

  int readGamma() {
    // A table's codes (zigzagged differences of 12-bit frequencies) take at most 25 bits: each
    // is read whole from a full accumulator.
    while (bits <= 56 && src.remaining() > 0) {
      acc |= (long) src.readByte() << bits;
      bits += 8;
    }
    int zeros = Long.numberOfTrailingZeros(acc); // 64 when acc is 0
    if (2 * zeros + 1 <= bits) {
      long value = acc >>> (zeros + 1) & ((1L << zeros) - 1); // first bit read lowest
      acc >>>= 2 * zeros + 1;
      bits -= 2 * zeros + 1;
      long x = (1L << zeros | Long.reverse(value) >>> (64 - zeros)) - 1;
      if (x > Integer.MAX_VALUE) {
        throw new CorruptDataException("Cannot decode float coding: Exp-Golomb value " + x + " too large");
      }
      return (int) x;
    }
    return readGammaBitwise();
  }

  /** As {@link #readGamma}, one bit at a time: near the end of the input, or a code too long for the accumulator. */
  private int readGammaBitwise() {
    int zeros = 0;
    while (read(1) == 0) {
      if (++zeros > 31) {
        throw new CorruptDataException("Cannot decode float coding: Exp-Golomb code longer than 31 bits");
      }
    }
    long x = 1;
    for (int i = 0; i < zeros; i++) {
      x = (x << 1) | read(1);
    }
    long v = x - 1;
    if (v > Integer.MAX_VALUE) {
      throw new CorruptDataException("Cannot decode float coding: Exp-Golomb value " + v + " too large");
    }
    return (int) v;
  }

  /**
   * Drops the bits left in the current byte and gives back the whole bytes {@link #readGamma}
   * read ahead: the byte-aligned format continues after the byte holding the last bit read.
   */
  void align() {
    src.pos -= bits >>> 3;
    acc = 0;
    bits = 0;
  }
}
