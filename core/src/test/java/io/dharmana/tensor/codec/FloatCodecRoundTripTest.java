package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FloatCodecRoundTripTest {
  private static final List<DType> DTYPES =
      List.of(DType.F32, DType.BF16, DType.F16, DType.F64, DType.F8_E4M3, DType.F8_E5M2, DType.I32, DType.I64,
          DType.I16, DType.U8, DType.BOOL);
  private static final FloatCodec DEFAULT = FloatCodec.create(FloatCodecOptions.DEFAULT);
  private static final FloatCodec SMALL_CHUNKS = FloatCodec.create(new FloatCodecOptions(4096, 1, 0)); // codes even near-noise planes
  private static final FloatCodec PARALLEL = FloatCodec.create(new FloatCodecOptions(4096, 2));

  static LongStream seeds() {
    return LongStream.range(0, 16).map(i -> 0x5EED0000L + i * 7919);
  }

  private static void assertRoundTrip(FloatCodec codec, DType dtype, byte[] data, byte[] parent, String why) {
    ByteBuffer in = ByteBuffer.wrap(data);
    byte[] encoded = codec.encode(dtype, in, parent == null ? null : ByteBuffer.wrap(parent));
    assertEquals(0, in.position(), why + ": encode must not move the input");
    for (FloatCodec decoder : List.of(DEFAULT, PARALLEL)) {
      ByteBuffer out = ByteBuffer.allocate(data.length);
      decoder.decode(encoded, dtype, parent == null ? null : ByteBuffer.wrap(parent), out);
      assertEquals(data.length, out.position(), why);
      assertArrayEquals(data, out.array(), why);
    }
  }

  @Test
  void everyShortLengthOfEveryDtypeRoundTrips() {
    long seed = 0xABCDEF;
    Random r = new Random(seed);
    for (DType dtype : DTYPES) {
      for (int length = 0; length <= 64; length++) {
        byte[] data = FloatPatterns.mixed(r, dtype, length);
        byte[] parent = FloatPatterns.mixed(r, dtype, length);
        String why = "seed " + seed + " " + dtype + " length " + length;
        assertRoundTrip(DEFAULT, dtype, data, null, why);
        assertRoundTrip(DEFAULT, dtype, data, parent, why + " with parent");
        assertRoundTrip(DEFAULT, dtype, data, data.clone(), why + " with itself as parent");
      }
    }
  }

  /**
   * Raw planes are merged straight from the encoded bytes, eight elements per step, and may be the
   * context of a later plane there: every element count around a multiple of eight, with the top
   * byte plane noise (kept raw) and the next one mostly a function of it (coded conditioned on it).
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void rawPlanesReadInPlaceRoundTrip(long seed) {
    Random r = new Random(seed);
    for (int n : new int[] {7, 8, 9, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 4095, 4097, 16383, 20001}) {
      byte[] ints = new byte[4 * n];
      for (int i = 0; i < n; i++) {
        int top = r.nextInt(256);
        int next = (top & 0x0F) + (r.nextInt(8) == 0 ? r.nextInt(4) : 0); // order 0: ~4 bits, not noise
        ByteBuffer.wrap(ints).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(4 * i, top << 24 | next << 16 | r.nextInt(16));
      }
      String why = "seed " + seed + " n " + n;
      assertRoundTrip(DEFAULT, DType.I32, ints, null, why + " I32");
      if (n >= 256 * 64) {
        // With enough elements for a table per context, the shape this test is about: plane 0 raw, plane 1 coded with plane 0 as its context.
        byte[] encoded = DEFAULT.encode(DType.I32, ByteBuffer.wrap(ints), null);
        ByteSource in = new ByteSource(encoded, 0, encoded.length);
        in.skip(3, "header");
        in.readVarint();
        in.readVarint();
        in.readVarint();
        assertEquals(ChunkCoder.MODE_SPLIT, in.readByte(), why);
        assertEquals(PlaneCoder.MODE_RAW, in.readByte(), why + ": plane 0 mode");
        in.skip(n, "plane 0");
        assertEquals(PlaneCoder.MODE_RANS, in.readByte(), why + ": plane 1 mode");
        assertEquals(2, in.readByte(), why + ": plane 1 context (plane 0)");
      }
      assertRoundTrip(SMALL_CHUNKS, DType.I32, ints, null, why + " I32, small chunks");
      for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16)) {
        byte[] data = FloatPatterns.mixed(r, dtype, n * dtype.size());
        byte[] parent = FloatPatterns.mixed(r, dtype, n * dtype.size());
        assertRoundTrip(DEFAULT, dtype, data, null, why + " " + dtype);
        assertRoundTrip(SMALL_CHUNKS, dtype, data, null, why + " " + dtype + ", small chunks");
        assertRoundTrip(DEFAULT, dtype, data, parent, why + " " + dtype + " with parent");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void randomTensorsRoundTrip(long seed) {
    Random r = new Random(seed);
    for (DType dtype : DTYPES) {
      int length = r.nextInt(4) == 0 ? r.nextInt(300) : r.nextInt(40_000);
      byte[] data = FloatPatterns.mixed(r, dtype, length);
      String why = "seed " + seed + " " + dtype + " length " + length;
      assertRoundTrip(DEFAULT, dtype, data, null, why);
      assertRoundTrip(SMALL_CHUNKS, dtype, data, null, why + " small chunks");
      assertRoundTrip(PARALLEL, dtype, data, null, why + " parallel");
      byte[] unrelated = FloatPatterns.mixed(r, dtype, length);
      assertRoundTrip(SMALL_CHUNKS, dtype, data, unrelated, why + " unrelated parent");
      byte[] child = FloatPatterns.nudged(r, data, dtype.size(), r.nextDouble());
      assertRoundTrip(SMALL_CHUNKS, dtype, child, data, why + " nudged child");
      assertRoundTrip(PARALLEL, dtype, child, data, why + " nudged child, parallel");
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void allBitPatternClassesOfFp32RoundTrip(long seed) {
    Random r = new Random(seed);
    // Every exponent, both signs, mantissas at the edges and random: covers NaN payloads, ±Inf,
    // subnormals, ±0 in one tensor, plus a skewed part so the rANS paths (not raw) are taken.
    ByteBuffer b = ByteBuffer.allocate(4 * (512 * 4 + 20_000)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int e = 0; e < 256; e++) {
      for (int s = 0; s < 2; s++) {
        b.putInt(s << 31 | e << 23);
        b.putInt(s << 31 | e << 23 | 0x7FFFFF);
        b.putInt(s << 31 | e << 23 | 1);
        b.putInt(s << 31 | e << 23 | r.nextInt(1 << 23));
      }
    }
    while (b.hasRemaining()) {
      b.putFloat((float) (r.nextGaussian() * 0.02));
    }
    byte[] data = b.array();
    assertRoundTrip(DEFAULT, DType.F32, data, null, "seed " + seed);
    assertRoundTrip(SMALL_CHUNKS, DType.F32, data, FloatPatterns.nudged(r, data, 4, 0.5), "seed " + seed + " delta");
  }

  /**
   * A plane conditioned on its previous symbol where symbol 0, the context of the first element,
   * owns a table of its own: the decoder must start in that table, not in the shared one.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void previousSymbolContextsRoundTripWhenSymbolZeroOwnsATable(long seed) {
    Random r = new Random(seed);
    byte[] data = new byte[20_000 + r.nextInt(50_000)];
    int prev = 0;
    for (int i = 0; i < data.length; i++) {
      int s;
      if (prev == 0) {
        s = r.nextInt(10) < 8 ? 5 : r.nextInt(3);
      } else {
        s = r.nextInt(10) < 3 ? 0 : (prev * 37 + 11 + r.nextInt(2)) & 0x3F;
      }
      data[i] = (byte) s;
      prev = s;
    }
    String why = "seed " + seed + " length " + data.length;
    ByteBuffer in = ByteBuffer.wrap(data);
    byte[] encoded = DEFAULT.encode(DType.U8, in, null);
    // Order 0 needs about 3 bits per byte here; conditioning on the previous byte under 2.
    assertTrue(encoded.length * 8.0 / data.length < 2.2, why + ": " + encoded.length + " bytes, contexts unused");
    assertRoundTrip(DEFAULT, DType.U8, data, null, why);
    assertRoundTrip(SMALL_CHUNKS, DType.U8, data, null, why + " small chunks");
  }

  @Test
  void identicalParentCostsAlmostNothing() {
    long seed = 42;
    Random r = new Random(seed);
    byte[] data = new byte[1 << 20];
    ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        .put(toFloats(IntStream.range(0, data.length / 4).mapToDouble(i -> r.nextGaussian()).toArray()));
    byte[] encoded = DEFAULT.encode(DType.F32, ByteBuffer.wrap(data), ByteBuffer.wrap(data.clone()));
    assertTrue(encoded.length < 100, "seed " + seed + ": identical tensor took " + encoded.length + " bytes");
    assertRoundTrip(DEFAULT, DType.F32, data, data.clone(), "seed " + seed);
  }

  @Test
  void rejectsMismatchedDtypeAndSize() {
    byte[] data = FloatPatterns.mixed(new Random(7), DType.F32, 1000);
    byte[] encoded = DEFAULT.encode(DType.F32, ByteBuffer.wrap(data), null);
    assertThrows(CorruptDataException.class, () -> DEFAULT.decode(encoded, DType.BF16, null, ByteBuffer.allocate(1000)));
    assertThrows(CorruptDataException.class, () -> DEFAULT.decode(encoded, DType.F32, null, ByteBuffer.allocate(999)));
    byte[] delta = DEFAULT.encode(DType.F32, ByteBuffer.wrap(data), ByteBuffer.wrap(data.clone()));
    assertThrows(CorruptDataException.class, () -> DEFAULT.decode(delta, DType.F32, null, ByteBuffer.allocate(1000)));
    assertThrows(IllegalArgumentException.class, () -> DEFAULT.encode(DType.F32, ByteBuffer.wrap(data), ByteBuffer.allocate(4)));
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
