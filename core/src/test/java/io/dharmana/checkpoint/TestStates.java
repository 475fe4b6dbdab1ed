package io.dharmana.checkpoint;

import io.dharmana.tensor.DType;
import io.dharmana.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded synthetic training states: float weights that drift a little from step to step. */
final class TestStates {
  private TestStates() {}

  /**
   * A state of {@code tensors} fp32/bf16 tensors of about {@code elements} elements each, for
   * {@code step} of a run seeded by {@code seed}: the same (seed, step) gives the same bytes, and
   * consecutive steps differ in a small random subset of elements, like optimizer updates.
   * Tensor 0 never changes (a frozen layer).
   */
  static List<Tensor> state(long seed, long step, int tensors, int elements) {
    List<Tensor> out = new ArrayList<>();
    for (int t = 0; t < tensors; t++) {
      DType dtype = t % 3 == 2 ? DType.BF16 : DType.F32;
      Random base = new Random(seed * 31 + t);
      ByteBuffer b = ByteBuffer.allocate(elements * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
      float[] values = new float[elements];
      for (int i = 0; i < elements; i++) {
        values[i] = (float) (base.nextGaussian() * 0.02);
      }
      if (t != 0) {
        for (long s = 1; s <= step; s++) {
          Random drift = new Random(seed * 1_000_003 + s * 7919 + t);
          for (int k = 0; k < elements / 8; k++) {
            int i = drift.nextInt(elements);
            values[i] += (float) (drift.nextGaussian() * 1e-4);
          }
        }
      }
      for (float v : values) {
        if (dtype == DType.F32) {
          b.putFloat(v);
        } else {
          b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
        }
      }
      b.flip();
      out.add(Tensor.of("layer." + t + (dtype == DType.BF16 ? ".bf16" : ".weight"), dtype, new long[] {elements}, b));
    }
    return out;
  }
}
