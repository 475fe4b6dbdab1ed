package io.dharmana.tensor.codec;

/** IEEE binary16 from float with round-to-nearest-even (Java 17 has no Float.floatToFloat16). */
final class Fp16 {
  private Fp16() {}

  static int fromFloat(float f) {
    int x = Float.floatToRawIntBits(f);
    int sign = (x >>> 16) & 0x8000;
    int exp = (x >>> 23) & 0xFF;
    int mant = x & 0x7FFFFF;
    if (exp == 0xFF) {
      return sign | 0x7C00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0);
    }
    int e = exp - 127 + 15;
    if (e >= 0x1F) {
      return sign | 0x7C00;
    }
    if (e <= 0) {
      if (e < -10) {
        return sign;
      }
      mant |= 0x800000;
      int shift = 14 - e;
      int half = 1 << (shift - 1);
      int rounded = (mant + half - 1 + ((mant >>> shift) & 1)) >>> shift;
      return sign | rounded;
    }
    int rounded = mant + 0xFFF + ((mant >>> 13) & 1);
    if ((rounded & 0x800000) != 0) {
      rounded = 0;
      e++;
      if (e >= 0x1F) {
        return sign | 0x7C00;
      }
    }
    return sign | e << 10 | (rounded >>> 13);
  }
}
