package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.dharmana.tensor.DType;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The plane splits that transpose eight elements at a time, against the per-element definition
 * of their planes (see package-info): every bit pattern (NaN payloads, infinities,
 * subnormals, -0) and every element count, the tail after the last group of eight included.
 */
class ChunkCoderSplitTest {
  static LongStream seeds() {
    return LongStream.range(0, 8).map(i -> 0x5B117000L + i * 104729);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void fp32PlanesAreExponentSignWithTopMantissaAndTheLowMantissaBytes(long seed) {
    Random r = new Random(seed);
    for (int n = 0; n <= 70; n += 1 + (n > 20 ? r.nextInt(7) : 0)) {
      byte[] data = FloatPatterns.mixed(r, DType.F32, n * 4);
      byte[][] planes = new byte[4][n];
      ChunkCoder.split(Layout.F32, 4, data, n, planes);
      for (int i = 0; i < n; i++) {
        int u = (int) FloatPatterns.readBits(data, 4 * i, 4);
        String why = "seed " + seed + " n " + n + " element " + i + " bits " + Integer.toHexString(u);
        assertEquals((byte) (u >>> 23), planes[0][i], why + ": exponent");
        assertEquals((byte) (u >>> 24 & 0x80 | u >>> 16 & 0x7F), planes[1][i], why + ": sign and top mantissa");
        assertEquals((byte) (u >>> 8), planes[2][i], why + ": mantissa byte 1");
        assertEquals((byte) u, planes[3][i], why + ": mantissa byte 0");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void bf16PlanesAreExponentAndSignWithMantissa(long seed) {
    Random r = new Random(seed);
    for (int n = 0; n <= 70; n += 1 + (n > 20 ? r.nextInt(7) : 0)) {
      byte[] data = FloatPatterns.mixed(r, DType.BF16, n * 2);
      byte[][] planes = new byte[2][n];
      ChunkCoder.split(Layout.BF16, 2, data, n, planes);
      for (int i = 0; i < n; i++) {
        int u = (int) FloatPatterns.readBits(data, 2 * i, 2);
        String why = "seed " + seed + " n " + n + " element " + i + " bits " + Integer.toHexString(u);
        assertEquals((byte) (u >>> 7), planes[0][i], why + ": exponent");
        assertEquals((byte) (u >>> 8 & 0x80 | u & 0x7F), planes[1][i], why + ": sign and mantissa");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void fourBytePlanesAreTheBytesMostSignificantFirst(long seed) {
    Random r = new Random(seed);
    for (int n = 0; n <= 70; n += 1 + (n > 20 ? r.nextInt(7) : 0)) {
      byte[] data = new byte[n * 4];
      r.nextBytes(data);
      byte[][] planes = new byte[4][n];
      ChunkCoder.split(Layout.BYTES, 4, data, n, planes);
      for (int i = 0; i < n; i++) {
        for (int p = 0; p < 4; p++) {
          assertEquals(data[4 * i + 3 - p], planes[p][i], "seed " + seed + " n " + n + " element " + i + " plane " + p);
        }
      }
    }
  }
}
