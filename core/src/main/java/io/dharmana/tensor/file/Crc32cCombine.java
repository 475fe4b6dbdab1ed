package io.dharmana.tensor.file;

/**
 * The CRC-32C of a concatenation from the CRC-32Cs of its parts ({@code java.util.zip.CRC32C}
 * values), without their bytes: zlib's {@code crc32_combine} for the Castagnoli polynomial.
 *
 * <p>Why: a version 3 file records the CRC-32C of every tensor, which the decoding threads check
 * in parallel, and of the whole output, which follows from them in index order. So the whole
 * output is checked without a serial pass over its bytes.
 */
final class Crc32cCombine {
  /** The Castagnoli polynomial, bit-reflected (as the JDK and zlib compute CRCs). */
  private static final int POLY = 0x82F63B78;

  /** {@code x^(2^k) mod p} for k = 0..31, reflected. */
  private static final int[] X2N = new int[32];

  static {
    int p = 1 << 30; // x^1
    X2N[0] = p;
    for (int k = 1; k < 32; k++) {
      p = multiply(p, p);
      X2N[k] = p;
    }
  }

  private Crc32cCombine() {}

  /** The CRC-32C of {@code a || b}, given the CRC-32C of {@code a} and of {@code b}, which is {@code bLength} bytes long. */
  static long combine(long crcA, long crcB, long bLength) {
    return (multiply(xPowerEightTimes(bLength), (int) crcA) ^ (int) crcB) & 0xFFFFFFFFL;
  }

  /** {@code a * b mod p} in the reflected representation. */
  private static int multiply(int a, int b) {
    int m = 1 << 31;
    int product = 0;
    while (true) {
      if ((a & m) != 0) {
        product ^= b;
        if ((a & (m - 1)) == 0) {
          return product;
        }
      }
      m >>>= 1;
      b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
    }
  }

  /** {@code x^(8 n) mod p}: shifting a CRC past {@code n} zero bytes. */
  private static int xPowerEightTimes(long n) {
    int p = 1 << 31; // x^0
    int k = 3;
    while (n != 0) {
      if ((n & 1) != 0) {
        p = multiply(X2N[k & 31], p);
      }
      n >>>= 1;
      k++;
    }
    return p;
  }
}
