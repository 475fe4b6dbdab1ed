package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Damaged input must end in CorruptDataException (or, undetectably, other bytes), never another failure. */
class FloatCodecDamageTest {
  private static final FloatCodec CODEC = FloatCodec.create(new FloatCodecOptions(4096, 1));

  static LongStream seeds() {
    return LongStream.range(0, 12).map(i -> 0xDA3A6E00L + i * 104729);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void damagedInputFailsCleanly(long seed) {
    Random r = new Random(seed);
    for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16, DType.I64, DType.U8)) {
      byte[] data = new byte[1 + r.nextInt(20_000)];
      ByteBuffer bb = ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int j = 0; j + dtype.size() <= data.length; j += dtype.size()) {
        FloatPatterns.writeBits(data, j, dtype.size(), FloatPatterns.fromDouble(dtype, r.nextGaussian() * 0.01, r));
      }
      byte[] parent = r.nextBoolean() ? FloatPatterns.nudged(r, data, dtype.size(), 0.3) : null;
      byte[] encoded = CODEC.encode(dtype, bb, parent == null ? null : ByteBuffer.wrap(parent));
      for (int trial = 0; trial < 200; trial++) {
        byte[] damaged = damage(r, encoded);
        try {
          FloatCodec.decodedLength(damaged);
        } catch (CorruptDataException expected) {
          // detected
        } catch (RuntimeException e) {
          fail("seed " + seed + " " + dtype + " trial " + trial + ": decodedLength: " + e, e);
        }
        try {
          CODEC.decode(damaged, dtype, parent == null ? null : ByteBuffer.wrap(parent), ByteBuffer.allocate(data.length));
        } catch (CorruptDataException expected) {
          // detected
        } catch (RuntimeException e) {
          fail("seed " + seed + " " + dtype + " trial " + trial + ": " + e, e);
        }
      }
    }
  }

  @Test
  void decodedLengthReadsTheHeaderAndRejectsATruncatedOrForeignOne() {
    byte[] encoded = CODEC.encode(DType.F32, ByteBuffer.allocate(400_000), null);
    assertEquals(400_000, FloatCodec.decodedLength(encoded));
    CorruptDataException truncated = assertThrows(CorruptDataException.class,
        () -> FloatCodec.decodedLength(Arrays.copyOf(encoded, 4)));
    assertEquals("Cannot decode float coding: a byte needs 1 bytes but 0 remain", truncated.getMessage());
    byte[] foreign = encoded.clone();
    foreign[0] = 9;
    CorruptDataException version = assertThrows(CorruptDataException.class, () -> FloatCodec.decodedLength(foreign));
    assertEquals("Cannot decode float coding: format version 9 is not 1 or 2, the ones this build reads", version.getMessage());
  }

  private static byte[] damage(Random r, byte[] encoded) {
    byte[] d = encoded.clone();
    switch (r.nextInt(4)) {
      case 0 -> {
        int i = r.nextInt(d.length);
        d[i] ^= (byte) (1 << r.nextInt(8));
      }
      case 1 -> d = Arrays.copyOf(d, r.nextInt(d.length));
      case 2 -> {
        for (int k = 0; k < 4; k++) {
          d[r.nextInt(d.length)] = (byte) r.nextInt();
        }
      }
      default -> {
        d = Arrays.copyOf(d, d.length + 1 + r.nextInt(8));
        int i = r.nextInt(Math.min(d.length, 16));
        d[i] = (byte) r.nextInt();
      }
    }
    return d;
  }
}
