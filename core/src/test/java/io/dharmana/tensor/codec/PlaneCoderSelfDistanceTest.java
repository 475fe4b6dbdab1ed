package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.dharmana.CorruptDataException;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The self context's distance is written with each plane, so the decoder reads planes coded with
 * any distance the format allows: 1 (the streams written before the distance was recorded), the
 * encoder's {@link PlaneCoder#SELF_DISTANCE}, and every other one up to the limit.
 */
class PlaneCoderSelfDistanceTest {
  static LongStream seeds() {
    return LongStream.range(0, 12).map(i -> 0xD157A000L + i * 7919);
  }

  /** Symbols that depend on the one {@code d} back, in runs of a length that varies, plus noise. */
  private static byte[] chain(Random r, int n, int d) {
    byte[] sym = new byte[n];
    for (int i = 0; i < n; i++) {
      int ctx = i < d ? 0 : sym[i - d] & 0xFF;
      int pick = r.nextInt(100);
      sym[i] = (byte) (pick < 70 ? (ctx * 7 + 3) % 40 : pick < 95 ? r.nextInt(40) : r.nextInt(256));
    }
    return sym;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void planesCodedWithAnyDistanceDecode(long seed) {
    Random r = new Random(seed);
    PlaneCoder.Scratch sc = new PlaneCoder.Scratch();
    for (int d = 1; d <= PlaneCoder.MAX_SELF_DISTANCE; d++) {
      // lengths around the four-at-a-time loop's edges, and long ones
      int n = r.nextBoolean() ? 192 + r.nextInt(16) : 1000 + r.nextInt(60_000);
      byte[] sym = chain(r, n, r.nextInt(3) == 0 ? 1 + r.nextInt(16) : d);
      ByteSink out = new ByteSink(n + 64);
      PlaneCoder.encode(sym, n, new byte[0][], new int[] {PlaneCoder.CTX_SELF}, 0, d, out, sc);
      byte[] back = new byte[n];
      ByteSource in = new ByteSource(out.array(), 0, out.position());
      PlaneCoder.decode(in, back, n, new byte[0][], 0, new PlaneCoder.Scratch());
      assertArrayEquals(sym, back, "seed " + seed + " distance " + d + " length " + n);
      assertEquals(0, in.remaining(), "seed " + seed + " distance " + d + ": plane not read to its end");
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aDistanceOutsideTheFormatIsDamage(long seed) {
    Random r = new Random(seed);
    int n = 5000;
    byte[] sym = chain(r, n, PlaneCoder.SELF_DISTANCE);
    ByteSink out = new ByteSink(n + 64);
    PlaneCoder.encode(sym, n, new byte[0][], new int[] {PlaneCoder.CTX_SELF}, 0, out, new PlaneCoder.Scratch());
    byte[] b = out.toByteArray();
    assertEquals(PlaneCoder.MODE_RANS, b[0], "seed " + seed + ": the plane must be rANS-coded for this test");
    b[1] = (byte) (32 + PlaneCoder.MAX_SELF_DISTANCE + 1 + r.nextInt(200)); // past the largest distance
    assertThrows(CorruptDataException.class,
        () -> PlaneCoder.decode(new ByteSource(b, 0, b.length), new byte[n], n, new byte[0][], 0, new PlaneCoder.Scratch()),
        "seed " + seed);
  }
}
