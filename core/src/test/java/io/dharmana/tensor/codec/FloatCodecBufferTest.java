package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.tensor.DType;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The caller-supplied-buffer variants write and read exactly what the array variants do. */
class FloatCodecBufferTest {
  private static final List<DType> DTYPES = List.of(DType.F32, DType.BF16, DType.F16, DType.F64, DType.U8);
  private static final List<FloatCodec> CODECS = List.of(
      FloatCodec.create(FloatCodecOptions.DEFAULT),
      FloatCodec.create(new FloatCodecOptions(4096, 1)),
      FloatCodec.create(new FloatCodecOptions(4096, 2)));

  static LongStream seeds() {
    return LongStream.range(0, 8).map(i -> 0xB0FFE4L + i * 104729);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void encodingIntoABufferEqualsTheArrayAndDecodesFromARange(long seed) {
    Random r = new Random(seed);
    for (FloatCodec codec : CODECS) {
      for (DType dtype : DTYPES) {
        int length = r.nextInt(40_000) + (r.nextBoolean() ? 0 : r.nextInt(3));
        byte[] data = FloatPatterns.mixed(r, dtype, length / dtype.size() * dtype.size() + r.nextInt(dtype.size()));
        byte[] parent = r.nextBoolean() ? null : FloatPatterns.mixed(r, dtype, data.length);
        String why = "seed " + seed + " " + dtype + " " + data.length + " bytes, " + codec.options();
        byte[] expected = codec.encode(dtype, ByteBuffer.wrap(data), parent == null ? null : ByteBuffer.wrap(parent));
        assertTrue(expected.length <= codec.maxEncodedLength(data.length), why + ": the bound holds");

        // A buffer of the bound (with old contents) is written in place; a short one is outgrown.
        byte[] buffer = new byte[(int) codec.maxEncodedLength(data.length)];
        Arrays.fill(buffer, (byte) 0x5A);
        for (byte[] given : Arrays.asList(buffer, new byte[r.nextInt(8)], null)) {
          ByteBuffer got = codec.encode(dtype, ByteBuffer.wrap(data), parent == null ? null : ByteBuffer.wrap(parent), given);
          assertEquals(0, got.position(), why);
          byte[] bytes = Arrays.copyOf(got.array(), got.limit());
          assertArrayEquals(expected, bytes, why);
          if (given == buffer) {
            assertSame(buffer, got.array(), why + ": a buffer of the bound suffices");
          }
        }

        // Decoding from a range of a larger array, with other bytes around it.
        int before = r.nextInt(50);
        byte[] padded = new byte[before + expected.length + r.nextInt(50)];
        r.nextBytes(padded);
        System.arraycopy(expected, 0, padded, before, expected.length);
        ByteBuffer out = ByteBuffer.allocate(data.length);
        codec.decode(padded, before, expected.length, dtype, parent == null ? null : ByteBuffer.wrap(parent), out);
        assertArrayEquals(data, out.array(), why);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aRangeOutsideTheArrayIsRejected(long seed) {
    Random r = new Random(seed);
    FloatCodec codec = CODECS.get(0);
    byte[] encoded = codec.encode(DType.F32, ByteBuffer.wrap(FloatPatterns.mixed(r, DType.F32, 64)), null);
    ByteBuffer out = ByteBuffer.allocate(64);
    assertThrows(IndexOutOfBoundsException.class,
        () -> codec.decode(encoded, 1 + r.nextInt(4), encoded.length, DType.F32, null, out), "seed " + seed);
  }
}
