package io.dharmana.tensor.lossy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Fp8E4M3Test {
  @Test
  void everyCodeRoundTrips() {
    for (int b = 0; b < 256; b++) {
      float v = Fp8E4M3.decode((byte) b);
      if (Float.isNaN(v)) {
        assertTrue((b & 0x7F) == 0x7F, "only S.1111.111 is NaN, not " + b);
        continue;
      }
      assertEquals((byte) b, Fp8E4M3.encode(v), "code " + b + " value " + v);
    }
    assertEquals(448f, Fp8E4M3.decode((byte) 0x7E));
    assertEquals(0x1p-9f, Fp8E4M3.decode((byte) 0x01));
    assertEquals(0x1p-6f, Fp8E4M3.decode((byte) 0x08));
  }

  @Test
  void saturatesWithoutInfinity() {
    assertEquals((byte) 0x7E, Fp8E4M3.encode(449f));
    assertEquals((byte) 0x7E, Fp8E4M3.encode(1e30f));
    assertEquals((byte) 0x7E, Fp8E4M3.encode(Float.POSITIVE_INFINITY));
    assertEquals((byte) 0xFE, Fp8E4M3.encode(Float.NEGATIVE_INFINITY));
    assertEquals((byte) 0x7F, Fp8E4M3.encode(Float.NaN));
    // Halfway between 416 and 448 rounds to even (448 has mantissa 110, 416 has 101).
    assertEquals((byte) 0x7E, Fp8E4M3.encode(432f));
    // Halfway between 0 and the smallest subnormal rounds to even: 0.
    assertEquals((byte) 0x00, Fp8E4M3.encode(0x1p-10f));
  }

  /** Brute force: the encoding is the nearest finite code, ties going to the even mantissa. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void roundsToNearestEven(long seed) {
    Random random = new Random(seed);
    for (int i = 0; i < 20_000; i++) {
      float x = (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(24) - 14));
      if (random.nextInt(10) == 0) {
        // exact midpoints between neighbouring codes
        int b = random.nextInt(0x7E);
        x = (Fp8E4M3.decode((byte) b) + Fp8E4M3.decode((byte) (b + 1))) / 2;
      }
      byte got = Fp8E4M3.encode(x);
      float best = Float.NaN;
      int bestCode = -1;
      for (int b = 0; b < 256; b++) {
        float v = Fp8E4M3.decode((byte) b);
        if (Float.isNaN(v) || (b & 0x80) != (x < 0 || (x == 0 && 1 / x < 0) ? 0x80 : 0)) {
          continue;
        }
        double d = Math.abs((double) v - x);
        double bd = Math.abs((double) best - x);
        if (bestCode < 0 || d < bd || (d == bd && (b & 1) == 0)) {
          best = v;
          bestCode = b;
        }
      }
      if (Math.abs(x) > 448) {
        bestCode = x > 0 ? 0x7E : 0xFE;
      }
      assertEquals((byte) bestCode, got, "seed " + seed + " value " + x);
    }
  }
}
