package io.dharmana.tensor.codec;

import io.dharmana.tensor.DType;
import java.util.Random;

/** Seeded generators of tensor bytes that reach every class of bit pattern and every coding mode. */
final class FloatPatterns {
  private FloatPatterns() {}

  /** Bytes of {@code length} mixing weight-like values, special values and random bit patterns. */
  static byte[] mixed(Random r, DType dtype, int length) {
    byte[] b = new byte[length];
    int size = dtype.size();
    int style = r.nextInt(4);
    double scale = Math.pow(10, r.nextInt(9) - 6);
    for (int j = 0; j + size <= length; j += size) {
      long bits;
      int pick = r.nextInt(100);
      if (style == 0 || pick < 10) {
        bits = r.nextLong(); // any bit pattern: NaN payloads, subnormals, everything
      } else if (pick < 20) {
        bits = special(r, dtype);
      } else {
        bits = fromDouble(dtype, r.nextGaussian() * scale, r);
      }
      if (style == 3 && r.nextInt(8) != 0 && j >= size) {
        bits = readBits(b, j - size, size); // runs of repeats
      }
      writeBits(b, j, size, bits);
    }
    for (int j = length - length % size; j < length; j++) {
      b[j] = (byte) r.nextInt();
    }
    return b;
  }

  /** A copy of {@code base} with a fraction of elements nudged, as a later checkpoint would be. */
  static byte[] nudged(Random r, byte[] base, int size, double fraction) {
    byte[] b = base.clone();
    for (int j = 0; j + size <= b.length; j += size) {
      if (r.nextDouble() < fraction) {
        long bits = readBits(b, j, size) + (r.nextInt(2001) - 1000);
        writeBits(b, j, size, bits);
      }
    }
    return b;
  }

  static long special(Random r, DType dtype) {
    int k = r.nextInt(10);
    return switch (dtype) {
      case F32 -> switch (k) {
        case 0 -> Float.floatToRawIntBits(Float.NaN);
        case 1 -> 0x7F800001 | r.nextInt(0x7FFFFF) | (r.nextBoolean() ? 0x80000000 : 0); // NaN with payload
        case 2 -> Float.floatToRawIntBits(Float.POSITIVE_INFINITY);
        case 3 -> Float.floatToRawIntBits(Float.NEGATIVE_INFINITY);
        case 4 -> 0x80000000L; // -0.0
        case 5 -> 0;
        case 6 -> r.nextInt(0x7FFFFF) | (r.nextBoolean() ? 0x80000000 : 0); // subnormal
        case 7 -> Float.floatToRawIntBits(Float.MAX_VALUE);
        case 8 -> Float.floatToRawIntBits(Float.MIN_NORMAL);
        default -> Float.floatToRawIntBits(Float.MIN_VALUE);
      };
      case BF16, F16 -> {
        int expBits = dtype == DType.BF16 ? 8 : 5;
        int mantBits = 15 - expBits;
        int expMax = (1 << expBits) - 1;
        int sign = r.nextBoolean() ? 0x8000 : 0;
        yield switch (k) {
          case 0, 1 -> sign | expMax << mantBits | (1 + r.nextInt((1 << mantBits) - 1)); // NaN
          case 2, 3 -> sign | expMax << mantBits; // Inf
          case 4, 5 -> sign; // ±0
          case 6, 7 -> sign | r.nextInt(1 << mantBits); // subnormal
          default -> sign | (expMax - 1) << mantBits | ((1 << mantBits) - 1); // max
        };
      }
      case F64 -> switch (k) {
        case 0 -> Double.doubleToRawLongBits(Double.NaN);
        case 1 -> 0x7FF0000000000001L | (r.nextLong() & 0x000FFFFFFFFFFFFEL); // NaN payload
        case 2 -> Double.doubleToRawLongBits(Double.NEGATIVE_INFINITY);
        case 3 -> 0x8000000000000000L;
        case 4 -> r.nextLong() & 0x000FFFFFFFFFFFFFL;
        default -> Double.doubleToRawLongBits(Double.MAX_VALUE);
      };
      default -> k < 5 ? 0 : -1L;
    };
  }

  static long fromDouble(DType dtype, double v, Random r) {
    return switch (dtype) {
      case F32 -> Float.floatToRawIntBits((float) v);
      case BF16 -> Float.floatToRawIntBits((float) v) >>> 16;
      case F16 -> Fp16.fromFloat((float) v);
      case F64 -> Double.doubleToRawLongBits(v);
      default -> (long) (v / Math.max(1e-6, Math.abs(v)) * r.nextInt(64));
    };
  }

  static long readBits(byte[] b, int off, int size) {
    long v = 0;
    for (int k = size - 1; k >= 0; k--) {
      v = (v << 8) | (b[off + k] & 0xFF);
    }
    return v;
  }

  static void writeBits(byte[] b, int off, int size, long v) {
    for (int k = 0; k < size; k++) {
      b[off + k] = (byte) v;
      v >>>= 8;
    }
  }
}
