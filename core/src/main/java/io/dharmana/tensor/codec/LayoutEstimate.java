package io.dharmana.tensor.codec;

/**
 * Tells a block of floats from anything else, cheaply: the order-0 entropy of the planes of every
 * layout {@code float-split} with {@code dtype: auto} chooses from (plain bytes, fp32, bf16, fp16),
 * counted in one pass over a sample of at most {@link #SAMPLE_BYTES} bytes. Floats split into
 * planes with far less entropy than their bytes have together; text, JSON, pickles, compressed and
 * random bytes do not. The plane coder's contexts (previous exponent, the element's exponent) and
 * tables are left out, which makes the estimate too coarse to choose among the float layouts:
 * {@link FloatSplitStage} codes the sample for that.
 *
 * <p>The sample is {@link #WINDOWS} windows spread evenly over the block (the first at its start,
 * the last at its end), each starting on a multiple of four bytes from the block's start, so that
 * elements of any float layout keep their place. It depends on the bytes alone: encoding stays
 * deterministic.
 */
final class LayoutEstimate {
  static final int SAMPLE_BYTES = 64 << 10;
  static final int WINDOWS = 16;
  static final int WORD_STEP = 2;

  private static final int POS = 0; // four histograms: the bytes of a 32-bit word, least significant first
  private static final int F32_EXP = 4;
  private static final int F32_HIGH = 5;
  private static final int HALF_EXP = 6; // bf16
  private static final int HALF_HIGH = 7;
  private static final int F16_EXP = 8;
  private static final int F16_HIGH = 9;
  private static final int F16_LOW = 10;
  private static final int HISTOGRAMS = 11;

  /** Estimated bits of the sample, per layout: plain bytes, fp32, bf16, fp16. */
  final double bytes;
  final double f32;
  final double bf16;
  final double f16;

  private LayoutEstimate(double bytes, double f32, double bf16, double f16) {
    this.bytes = bytes;
    this.f32 = f32;
    this.bf16 = bf16;
    this.f16 = f16;
  }

  /**
   * The sample of a block: the block itself when it has at most {@link #SAMPLE_BYTES} bytes, else
   * {@link #WINDOWS} windows of whole 32-bit words spread evenly over it, put together.
   */
  static byte[] sample(byte[] data, int offset, int length) {
    int words = length / 4;
    if (length <= SAMPLE_BYTES) {
      return java.util.Arrays.copyOfRange(data, offset, offset + length);
    }
    int window = SAMPLE_BYTES / WINDOWS;
    byte[] sample = new byte[SAMPLE_BYTES];
    long stride = (long) (words - window / 4) / (WINDOWS - 1);
    for (int w = 0; w < WINDOWS; w++) {
      System.arraycopy(data, offset + (int) (w * stride) * 4, sample, w * window, window);
    }
    return sample;
  }

  /**
   * The estimate of a sample (see {@link #sample}) from every {@link #WORD_STEP}th word of it (its
   * tail after the last whole word left out): half the counting, and the estimate only needs to
   * tell floats from the rest.
   */
  static LayoutEstimate of(byte[] sample) {
    int[] h = new int[HISTOGRAMS << 8];
    int words = count(sample, sample.length / 4, h);
    if (words == 0) {
      return new LayoutEstimate(0, 0, 0, 0);
    }
    // The four byte positions together are the one plane of one-byte elements.
    int[] merged = new int[256];
    for (int p = 0; p < 4; p++) {
      for (int s = 0; s < 256; s++) {
        merged[s] += h[(POS + p) << 8 | s];
      }
    }
    double bytes = capped(merged, 0, 4L * words);
    double f32 = capped(h, F32_EXP << 8, words) + capped(h, F32_HIGH << 8, words)
        + capped(h, (POS + 1) << 8, words) + capped(h, POS << 8, words);
    double bf16 = capped(h, HALF_EXP << 8, 2L * words) + capped(h, HALF_HIGH << 8, 2L * words);
    double f16 = capped(h, F16_EXP << 8, 2L * words) + capped(h, F16_HIGH << 8, 2L * words)
        + capped(h, F16_LOW << 8, 2L * words);
    return new LayoutEstimate(bytes, f32, bf16, f16);
  }

  /** A plane's entropy, at most what keeping its symbols raw costs (a byte each). */
  private static double capped(int[] hist, int off, long symbols) {
    return Math.min(PlaneCoder.entropyBits(hist, off), 8.0 * symbols);
  }

  /** Counts every {@link #WORD_STEP}th of the first {@code words} words of {@code b}; returns how many it counted. */
  private static int count(byte[] b, int words, int[] h) {
    int counted = 0;
    for (int j = 0, end = words * 4; j < end; j += 4 * WORD_STEP, counted++) {
      int b0 = b[j] & 0xFF;
      int b1 = b[j + 1] & 0xFF;
      int b2 = b[j + 2] & 0xFF;
      int b3 = b[j + 3] & 0xFF;
      h[POS << 8 | b0]++;
      h[(POS + 1) << 8 | b1]++;
      h[(POS + 2) << 8 | b2]++;
      h[(POS + 3) << 8 | b3]++;
      // fp32: exponent; sign over the top seven mantissa bits (as ChunkCoder splits them)
      h[F32_EXP << 8 | (b3 << 1 & 0xFF | b2 >>> 7)]++;
      h[F32_HIGH << 8 | (b3 & 0x80 | b2 & 0x7F)]++;
      // bf16: the same split, of each half of the word
      h[HALF_EXP << 8 | (b1 << 1 & 0xFF | b0 >>> 7)]++;
      h[HALF_HIGH << 8 | (b1 & 0x80 | b0 & 0x7F)]++;
      h[HALF_EXP << 8 | (b3 << 1 & 0xFF | b2 >>> 7)]++;
      h[HALF_HIGH << 8 | (b3 & 0x80 | b2 & 0x7F)]++;
      // fp16: five exponent bits; sign over the top seven mantissa bits; the low three
      int lo = b0 | b1 << 8;
      int hi = b2 | b3 << 8;
      h[F16_EXP << 8 | (lo >>> 10 & 0x1F)]++;
      h[F16_HIGH << 8 | (lo >>> 8 & 0x80 | lo >>> 3 & 0x7F)]++;
      h[F16_LOW << 8 | (lo & 7)]++;
      h[F16_EXP << 8 | (hi >>> 10 & 0x1F)]++;
      h[F16_HIGH << 8 | (hi >>> 8 & 0x80 | hi >>> 3 & 0x7F)]++;
      h[F16_LOW << 8 | (hi & 7)]++;
    }
    return counted;
  }
}
