package io.dharmana.tensor.lossy;

/**
 * The OCP fp8 E4M3 ("FN") format: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities,
 * {@code S.1111.111} is NaN, the largest finite value is 448 ({@code 0x7E}).
 *
 * <p>{@link #encode} rounds to nearest, ties to even, and saturates: values beyond 448 (and
 * infinities) become +-448. NaN becomes {@code 0x7F}.
 */
public final class Fp8E4M3 {
  public static final float MAX = 448f;
  private static final float[] DECODE = new float[256];

  static {
    for (int b = 0; b < 256; b++) {
      int exp = (b >> 3) & 0xF;
      int mant = b & 7;
      float magnitude;
      if (exp == 0xF && mant == 7) {
        magnitude = Float.NaN;
      } else if (exp == 0) {
        magnitude = mant * 0x1p-9f;
      } else {
        magnitude = (1 + mant / 8f) * (float) Math.scalb(1.0, exp - 7);
      }
      DECODE[b] = (b & 0x80) != 0 ? -magnitude : magnitude;
    }
  }

  private Fp8E4M3() {}

  public static float decode(byte bits) {
    return DECODE[bits & 0xFF];
  }

  public static byte encode(float value) {
    if (Float.isNaN(value)) {
      return 0x7F;
    }
    int sign = (Float.floatToRawIntBits(value) >>> 24) & 0x80;
    float v = Math.abs(value);
    if (v >= MAX) {
      return (byte) (sign | 0x7E);
    }
    // Quantum of the binade holding v (subnormals share the quantum of the lowest binade).
    int e = Math.max(Math.getExponent(v), -6);
    float quantum = Math.scalb(1f, e - 3);
    // v / quantum is exact (power-of-two scaling); rint rounds half to even.
    float r = (float) Math.rint(v / quantum) * quantum;
    if (r == 0) {
      return (byte) sign;
    }
    if (r > MAX) {
      r = MAX;
    }
    int re = Math.getExponent(r);
    int bits;
    if (re < -6) {
      bits = (int) (r / 0x1p-9f);
    } else {
      bits = ((re + 7) << 3) | ((int) (Math.scalb(r, -re) * 8) - 8);
    }
    return (byte) (sign | bits);
  }
}
