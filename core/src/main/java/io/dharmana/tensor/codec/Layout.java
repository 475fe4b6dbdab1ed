package io.dharmana.tensor.codec;

import io.dharmana.tensor.DType;

/**
 * How the elements of a dtype are split into planes: floats into exponent, sign with top
 * mantissa bits, and the rest of the mantissa; everything else into byte planes, most significant
 * first. The code is written into the encoded form, so values must never change.
 */
enum Layout {
  BYTES(0),
  F32(1),
  BF16(2),
  F16(3);

  final int code;

  Layout(int code) {
    this.code = code;
  }

  static Layout of(DType dtype) {
    return switch (dtype) {
      case F32 -> F32;
      case BF16 -> BF16;
      case F16 -> F16;
      default -> BYTES;
    };
  }

  static Layout ofCode(int code) {
    for (Layout l : values()) {
      if (l.code == code) {
        return l;
      }
    }
    return null;
  }

  /** Planes of the float split (for BYTES, one per byte of the element). */
  int planes(int elementSize) {
    return switch (this) {
      case F32 -> 4;
      case BF16 -> 2;
      case F16 -> 3;
      case BYTES -> elementSize;
    };
  }

  /**
   * Bits per symbol of a plane's order-0 coding above which no context is tried for it. Not part
   * of the encoded form: the decoder reads which context (if any) a plane was coded with.
   */
  double noiseBits(int plane) {
    return this != BYTES && plane > 0 ? PlaneCoder.FLOAT_MANTISSA_NOISE_BITS : PlaneCoder.NOISE_BITS;
  }

  /**
   * The context candidates each plane may be conditioned on in float coding format {@code format}.
   * An exponent is conditioned on the exponent four elements back from format 2 on ({@link
   * PlaneCoder#CTX_LANE}): magnitudes vary over rows of elements, so it predicts about as well as
   * the previous one, and decodes two to three times faster. Bytes keep the previous byte, which
   * may be a sequence's (text, indices) where four back tells little.
   */
  int[] contexts(int plane, int format) {
    return switch (this) {
      // exponent: an earlier exponent; the rest: the element's exponent
      case F32, BF16, F16 -> plane == 0 ? new int[] {format >= 2 ? PlaneCoder.CTX_LANE : PlaneCoder.CTX_SELF} : new int[] {0};
      case BYTES -> plane == 0 ? new int[] {PlaneCoder.CTX_SELF} : new int[] {plane - 1};
    };
  }
}
