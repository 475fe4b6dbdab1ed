package io.dharmana.tensor.lossy;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Lossy codec for accumulated gradients: keeps only the largest-magnitude values (top-k by
 * fraction, or all with {@code |g| >= threshold}), quantizes the kept values to int8 in blocks of
 * {@link #VALUE_BLOCK}, and codes their positions as runs: for each run of consecutive kept
 * indices, the varint gap since the previous run's end and the varint run length. Dense regions
 * cost a few bytes per run, sparse ones about one byte per index.
 *
 * <p>Dropped values decode as 0; callers that want error feedback keep {@code gradient -
 * decode(encode(gradient))} as the residual for the next step. Encoded layout: varint count,
 * varint kept, varint runs, runs x (varint gap, varint length), then a {@link BlockQuantizer}
 * int8 encoding of the kept values. Instances are immutable and thread-safe.
 */
public final class GradientCodec {
  /** Kept values are quantized in blocks of this many. */
  public static final int VALUE_BLOCK = 256;

  private final double fraction;
  private final float threshold;

  private GradientCodec(double fraction, float threshold) {
    this.fraction = fraction;
    this.threshold = threshold;
  }

  /** Keeps the {@code ceil(fraction * n)} values of largest magnitude (ties: lowest index first). */
  public static GradientCodec topK(double fraction) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new InvalidDescriptorException("Invalid top-k fraction " + fraction + ": must be in (0, 1]");
    }
    return new GradientCodec(fraction, Float.NaN);
  }

  /** Keeps every value with {@code |g| >= threshold}. */
  public static GradientCodec threshold(float threshold) {
    if (!(threshold >= 0) || Float.isInfinite(threshold)) {
      throw new InvalidDescriptorException("Invalid threshold " + threshold + ": must be finite and >= 0");
    }
    return new GradientCodec(Double.NaN, threshold);
  }

  /** The result of encoding one gradient: the bytes, how many values were kept, and the error. */
  public record Encoded(byte[] bytes, int count, int kept, ErrorReport error) {
    /** Original fp32 bytes over encoded bytes. */
    public double ratio() {
      return bytes.length == 0 ? 0 : 4.0 * count / bytes.length;
    }
  }

  /**
   * Encodes {@code gradient} and measures the error of its decoding.
   *
   * @throws IllegalArgumentException if a kept value is NaN or infinite
   */
  public Encoded encode(float[] gradient) {
    int n = gradient.length;
    boolean[] keep = select(gradient);
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 + n / 8);
    int kept = 0;
    int runs = 0;
    ByteArrayOutputStream runBytes = new ByteArrayOutputStream();
    int previousEnd = 0;
    for (int i = 0; i < n; ) {
      if (!keep[i]) {
        i++;
        continue;
      }
      int start = i;
      while (i < n && keep[i]) {
        i++;
      }
      writeVarint(runBytes, start - previousEnd);
      writeVarint(runBytes, i - start);
      previousEnd = i;
      kept += i - start;
      runs++;
    }
    float[] values = new float[kept];
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (keep[i]) {
        values[k++] = gradient[i];
      }
    }
    writeVarint(out, n);
    writeVarint(out, kept);
    writeVarint(out, runs);
    out.writeBytes(runBytes.toByteArray());
    out.writeBytes(BlockQuantizer.int8(VALUE_BLOCK).encode(FloatBuffer.wrap(values)));
    byte[] bytes = out.toByteArray();
    float[] decoded = decode(bytes, n);
    return new Encoded(bytes, n, kept, ErrorReport.compare(gradient, decoded));
  }

  /**
   * Decodes what {@link #encode} wrote for a gradient of {@code expectedCount} values. The count
   * is the caller's (from the tensor's shape), so a damaged length can never make the decoder
   * allocate more than the caller expects.
   *
   * @throws CorruptDataException if lengths or runs are inconsistent or the count differs
   */
  public static float[] decode(byte[] encoded, int expectedCount) {
    ByteBuffer in = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
    int n = readVarint(in);
    if (n != expectedCount) {
      throw new CorruptDataException("Cannot decode gradient: it holds " + n + " values, " + expectedCount + " expected");
    }
    int kept = readVarint(in);
    int runs = readVarint(in);
    if (kept > n || runs > kept || (long) runs * 2 > in.remaining()) {
      throw new CorruptDataException("Cannot decode gradient: " + kept + " kept of " + n + " in " + runs + " runs is inconsistent");
    }
    int[] starts = new int[runs];
    int[] lengths = new int[runs];
    long position = 0;
    long total = 0;
    for (int r = 0; r < runs; r++) {
      position += readVarint(in);
      int length = readVarint(in);
      if (length == 0 || position + length > n) {
        throw new CorruptDataException("Cannot decode gradient: run " + r + " at " + position + " of length " + length + " exceeds " + n + " values");
      }
      starts[r] = (int) position;
      lengths[r] = length;
      position += length;
      total += length;
    }
    if (total != kept) {
      throw new CorruptDataException("Cannot decode gradient: runs hold " + total + " values, header says " + kept);
    }
    byte[] quantized = Arrays.copyOfRange(encoded, in.position(), encoded.length);
    if (BlockQuantizer.count(quantized) != kept) {
      throw new CorruptDataException("Cannot decode gradient: " + BlockQuantizer.count(quantized) + " values stored, " + kept + " expected");
    }
    float[] values = new float[kept];
    BlockQuantizer.int8(VALUE_BLOCK).decode(quantized, FloatBuffer.wrap(values));
    float[] out = new float[n];
    int k = 0;
    for (int r = 0; r < runs; r++) {
      System.arraycopy(values, k, out, starts[r], lengths[r]);
      k += lengths[r];
    }
    return out;
  }

  private boolean[] select(float[] g) {
    int n = g.length;
    boolean[] keep = new boolean[n];
    if (n == 0) {
      return keep;
    }
    if (!Double.isNaN(fraction)) {
      int k = (int) Math.min(n, Math.ceil(fraction * n));
      float kth = kthLargestMagnitude(g, k);
      int taken = 0;
      for (int i = 0; i < n; i++) {
        if (Math.abs(g[i]) > kth) {
          keep[i] = true;
          taken++;
        }
      }
      for (int i = 0; i < n && taken < k; i++) {
        if (Math.abs(g[i]) == kth && !keep[i]) {
          keep[i] = true;
          taken++;
        }
      }
    } else {
      for (int i = 0; i < n; i++) {
        keep[i] = Math.abs(g[i]) >= threshold;
      }
    }
    return keep;
  }

  /**
   * The {@code k}-th largest of the magnitudes {@code |g[i]|} ({@code 1 <= k <= g.length}). The bit
   * patterns of non-negative floats order as their values (NaNs above infinity, as a sort puts
   * them), so two passes counting the high and then the low 16 bits find it: linear time, where
   * sorting the magnitudes made top-k the slowest part of encoding by far.
   */
  static float kthLargestMagnitude(float[] g, int k) {
    int[] counts = new int[1 << 16];
    for (float v : g) {
      counts[(Float.floatToRawIntBits(v) & 0x7FFFFFFF) >>> 16]++;
    }
    int above = 0; // magnitudes in the buckets passed, all larger than the k-th
    int high = 0x7FFF;
    while (above + counts[high] < k) {
      above += counts[high--];
    }
    Arrays.fill(counts, 0);
    for (float v : g) {
      int bits = Float.floatToRawIntBits(v) & 0x7FFFFFFF;
      if (bits >>> 16 == high) {
        counts[bits & 0xFFFF]++;
      }
    }
    int low = 0xFFFF;
    while (above + counts[low] < k) {
      above += counts[low--];
    }
    return Float.intBitsToFloat(high << 16 | low);
  }

  private static void writeVarint(ByteArrayOutputStream out, int value) {
    int v = value;
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }

  private static int readVarint(ByteBuffer in) {
    int result = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (!in.hasRemaining()) {
        throw new CorruptDataException("Cannot decode gradient: truncated varint at byte " + in.position());
      }
      int b = in.get() & 0xFF;
      result |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        if (result < 0) {
          break;
        }
        return result;
      }
    }
    throw new CorruptDataException("Cannot decode gradient: invalid varint before byte " + in.position());
  }

  @Override
  public String toString() {
    return Double.isNaN(fraction) ? "GradientCodec[threshold " + threshold + "]" : "GradientCodec[top " + fraction + "]";
  }
}
