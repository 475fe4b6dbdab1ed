package io.dharmana.tensor.codec;

/** Writes bits LSB-first into a {@link ByteSink}; used for the compact frequency tables. */
final class BitWriter {
  private final ByteSink sink;
  private long acc;
  private int bits;
  private long written;

  BitWriter(ByteSink sink) {
    this.sink = sink;
  }

  void write(int value, int n) {
    acc |= (value & ((1L << n) - 1)) << bits;
    bits += n;
    written += n;
    while (bits >= 8) {
      sink.writeByte((int) acc);
      acc >>>= 8;
      bits -= 8;
    }
  }

  /** Exp-Golomb (k = 0) code of {@code v >= 0}: small values take few bits. */
  void writeGamma(int v) {
    long x = (long) v + 1;
    int n = 63 - Long.numberOfLeadingZeros(x);
    write(0, n);
    // The value's n + 1 bits, top one first, so the reader can find the length by counting zeros.
    // Bits go out LSB-first, so writing them top first is one write of the bit-reversed value.
    write(Integer.reverse((int) x) >>> (31 - n), n + 1);
  }

  long bitsWritten() {
    return written;
  }

  void flush() {
    if (bits > 0) {
      sink.writeByte((int) acc);
      acc = 0;
      bits = 0;
    }
  }

  static int gammaBits(int v) {
    long x = (long) v + 1;
    return 2 * (63 - Long.numberOfLeadingZeros(x)) + 1;
  }
}
