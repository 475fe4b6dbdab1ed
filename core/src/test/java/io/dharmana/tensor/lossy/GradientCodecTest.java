package io.dharmana.tensor.lossy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GradientCodecTest {
  private static float[] gradient(long seed, int n) {
    Random random = new Random(seed);
    float[] g = new float[n];
    for (int i = 0; i < n; i++) {
      // heavy-tailed, like accumulated gradients
      g[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()) * 1e-3);
    }
    return g;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void topKKeepsTheLargestValues(long seed) {
    Random random = new Random(seed);
    int n = 1 + random.nextInt(20_000);
    double fraction = 0.01 + random.nextDouble() * 0.3;
    float[] g = gradient(seed, n);
    GradientCodec.Encoded e = GradientCodec.topK(fraction).encode(g);
    int k = (int) Math.ceil(fraction * n);
    assertEquals(k, e.kept(), "seed " + seed);
    float[] decoded = GradientCodec.decode(e.bytes(), g.length);
    float[] magnitudes = new float[n];
    for (int i = 0; i < n; i++) {
      magnitudes[i] = Math.abs(g[i]);
    }
    Arrays.sort(magnitudes);
    float kth = magnitudes[n - k];
    for (int i = 0; i < n; i++) {
      if (Math.abs(g[i]) < kth) {
        assertEquals(0f, decoded[i], "seed " + seed + " index " + i + " must be dropped");
      }
    }
    assertTrue(e.ratio() > 1 / (fraction * 1.6), "seed " + seed + " ratio " + e.ratio());
    assertEquals(n, e.error().count());
  }

  /** The linear-time selection against its definition: the k-th of the sorted magnitudes. */
  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13, 14, 15, 16})
  void theKthLargestMagnitudeIsTheOneASortFinds(long seed) {
    Random random = new Random(seed);
    float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, -1f, 1e-3f, -1e-3f};
    for (int round = 0; round < 40; round++) {
      int n = 1 + random.nextInt(round < 20 ? 50 : 5000);
      float[] g = gradient(random.nextLong(), n);
      for (int i = 0; i < n; i++) {
        int pick = random.nextInt(8);
        if (pick == 0) {
          g[i] = specials[random.nextInt(specials.length)];
        } else if (pick == 1 && i > 0) {
          g[i] = -g[random.nextInt(i)]; // ties of equal magnitude
        }
      }
      float[] magnitudes = new float[n];
      for (int i = 0; i < n; i++) {
        magnitudes[i] = Math.abs(g[i]);
      }
      Arrays.sort(magnitudes);
      for (int k : new int[] {1, n, 1 + random.nextInt(n), 1 + random.nextInt(n)}) {
        assertEquals(magnitudes[n - k], GradientCodec.kthLargestMagnitude(g, k), "seed " + seed + " round " + round + " k " + k);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {5, 6})
  void thresholdKeepsEverythingAboveIt(long seed) {
    float[] g = gradient(seed, 50_000);
    GradientCodec.Encoded e = GradientCodec.threshold(2e-3f).encode(g);
    float[] decoded = GradientCodec.decode(e.bytes(), g.length);
    int expected = 0;
    for (int i = 0; i < g.length; i++) {
      if (Math.abs(g[i]) >= 2e-3f) {
        expected++;
        assertTrue(Math.signum(decoded[i]) == Math.signum(g[i]) || Math.abs(g[i]) < 1e-6, "seed " + seed);
      } else {
        assertEquals(0f, decoded[i]);
      }
    }
    assertEquals(expected, e.kept(), "seed " + seed);
    GradientCodec.Encoded all = GradientCodec.topK(1.0).encode(g);
    assertTrue(all.error().relativeRms() < 0.03, "seed " + seed + " dense int8 on heavy tails " + all.error());
    assertTrue(all.bytes().length < g.length * 1.05 + 64, "a dense gradient is one run: seed " + seed);
  }

  @Test
  void rejectsBadParametersAndCorruptInput() {
    assertThrows(InvalidDescriptorException.class, () -> GradientCodec.topK(0));
    assertThrows(InvalidDescriptorException.class, () -> GradientCodec.topK(1.5));
    assertThrows(InvalidDescriptorException.class, () -> GradientCodec.threshold(-1));
    byte[] ok = GradientCodec.topK(0.1).encode(gradient(9, 1000)).bytes();
    assertThrows(CorruptDataException.class, () -> GradientCodec.decode(Arrays.copyOf(ok, 10), 1000));
    assertThrows(CorruptDataException.class, () -> GradientCodec.decode(ok, 999));
    assertThrows(CorruptDataException.class, () -> GradientCodec.decode(new byte[] {(byte) 0xFF, (byte) 0xFF}, 1000));
    assertEquals(0, GradientCodec.decode(GradientCodec.topK(0.5).encode(new float[0]).bytes(), 0).length);
  }
}
