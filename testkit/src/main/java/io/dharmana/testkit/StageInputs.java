package io.dharmana.testkit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Seeded inputs shaped like what stages see: random bytes, and tensors of floats drawn from a
 * normal distribution, as little-endian fp32 or bf16. Equal seeds give equal bytes on every JVM,
 * so a failure can be repeated from the seed in its message.
 */
public final class StageInputs {
  private StageInputs() {}

  /** {@code length} uniformly random bytes. */
  public static byte[] randomBytes(Random random, int length) {
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    return bytes;
  }

  /**
   * {@code count} fp32 values, little-endian, drawn from a normal distribution with the given
   * standard deviation (weights of a trained layer look like this: roughly {@code 0.02}).
   */
  public static byte[] float32(Random random, int count, double stddev) {
    ByteBuffer buffer = ByteBuffer.allocate(4 * count).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      buffer.putFloat((float) (random.nextGaussian() * stddev));
    }
    return buffer.array();
  }

  /** {@code count} bf16 values (the high half of fp32, rounded to nearest even), little-endian. */
  public static byte[] bfloat16(Random random, int count, double stddev) {
    ByteBuffer buffer = ByteBuffer.allocate(2 * count).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      int bits = Float.floatToRawIntBits((float) (random.nextGaussian() * stddev));
      int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
      buffer.putShort((short) (rounded >>> 16));
    }
    return buffer.array();
  }

  /**
   * {@code length} bytes of float-like data: fp32 values from a normal distribution, cut to the
   * length (which need not be a multiple of 4).
   */
  public static byte[] floatLike(Random random, int length) {
    byte[] floats = float32(random, (length + 3) / 4, 0.02);
    return java.util.Arrays.copyOf(floats, length);
  }

  /** {@code length} bytes repeating a short random pattern: input a compressor shrinks a lot. */
  public static byte[] repetitive(Random random, int length) {
    byte[] pattern = randomBytes(random, 1 + random.nextInt(64));
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = pattern[i % pattern.length];
    }
    return bytes;
  }
}
