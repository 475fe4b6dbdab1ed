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

  /** Drops the bits left in the current byte; the byte-aligned format continues after. */
  void align() {
    acc = 0;
    bits = 0;
  }
}
