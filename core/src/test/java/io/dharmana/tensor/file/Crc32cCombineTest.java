package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Combining the CRC-32Cs of parts gives the CRC-32C of their concatenation, for any lengths including 0. */
class Crc32cCombineTest {
  static LongStream seeds() {
    return LongStream.range(0, 16).map(i -> 0xC3C32CL + i * 7919);
  }

  private static long crc(byte[] b, int from, int to) {
    CRC32C crc = new CRC32C();
    crc.update(b, from, to - from);
    return crc.getValue();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void combinedPartsGiveTheWhole(long seed) {
    Random r = new Random(seed);
    byte[] data = new byte[r.nextInt(1 << 16)];
    r.nextBytes(data);
    long combined = crc(data, 0, 0);
    for (int from = 0; from < data.length; ) {
      int to = Math.min(data.length, from + (r.nextInt(4) == 0 ? 0 : r.nextInt(1 << r.nextInt(14))));
      combined = Crc32cCombine.combine(combined, crc(data, from, to), to - from);
      from = to;
    }
    assertEquals(crc(data, 0, data.length), combined, "seed " + seed + ", " + data.length + " bytes");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aLongZeroPartShiftsLikeItsBytes(long seed) {
    Random r = new Random(seed);
    byte[] a = new byte[1 + r.nextInt(100)];
    r.nextBytes(a);
    byte[] zeros = new byte[(1 << 20) + r.nextInt(1 << 20)];
    CRC32C whole = new CRC32C();
    whole.update(a);
    whole.update(zeros);
    assertEquals(whole.getValue(), Crc32cCombine.combine(crc(a, 0, a.length), crc(zeros, 0, zeros.length), zeros.length), "seed " + seed);
  }
}
