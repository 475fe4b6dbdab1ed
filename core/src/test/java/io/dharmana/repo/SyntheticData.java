package io.dharmana.repo;

import java.io.InputStream;
import java.util.SplittableRandom;

/**
 * Deterministic pseudo-random bytes of any length, generated on the fly so tests can stream
 * gigabytes without holding them; the same seed always gives the same bytes, so a reader can
 * check what it gets back without a copy. An optional insertion splices extra bytes in at an
 * offset (for content-defined chunking tests).
 */
final class SyntheticData extends InputStream {
  private static final int BLOCK = 4096;
  private final long seed;
  private final long size;
  private final long insertAt;
  private final byte[] insertion;
  private long pos;
  private final byte[] block = new byte[BLOCK];
  private long blockIndex = -1;

  SyntheticData(long seed, long size) {
    this(seed, size, -1, new byte[0]);
  }

  SyntheticData(long seed, long size, long insertAt, byte[] insertion) {
    this.seed = seed;
    this.size = size + insertion.length;
    this.insertAt = insertAt;
    this.insertion = insertion;
  }

  /** Byte {@code i} of the base stream (without insertion): blocks of 4 KiB, each from its own seed. */
  private byte base(long i) {
    long b = i / BLOCK;
    if (b != blockIndex) {
      SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + b);
      for (int k = 0; k < BLOCK; k += 8) {
        long v = r.nextLong();
        for (int j = 0; j < 8; j++) {
          block[k + j] = (byte) (v >>> (8 * j));
        }
      }
      blockIndex = b;
    }
    return block[(int) (i % BLOCK)];
  }

  private byte at(long i) {
    if (insertAt < 0 || i < insertAt) {
      return base(i);
    }
    if (i < insertAt + insertion.length) {
      return insertion[(int) (i - insertAt)];
    }
    return base(i - insertion.length);
  }

  @Override
  public int read() {
    return pos >= size ? -1 : at(pos++) & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (pos >= size) {
      return -1;
    }
    int n = (int) Math.min(len, size - pos);
    for (int k = 0; k < n; k++) {
      b[off + k] = at(pos + k);
    }
    pos += n;
    return n;
  }

  /** Whether {@code in} yields exactly the bytes of a fresh stream with the same parameters. */
  static boolean sameAs(InputStream in, long seed, long size) throws java.io.IOException {
    SyntheticData expected = new SyntheticData(seed, size);
    byte[] a = new byte[1 << 16];
    byte[] b = new byte[1 << 16];
    while (true) {
      int n = in.readNBytes(a, 0, a.length);
      int m = expected.readNBytes(b, 0, b.length);
      if (n != m || !java.util.Arrays.equals(a, 0, n, b, 0, m)) {
        return false;
      }
      if (n == 0) {
        return true;
      }
    }
  }
}
