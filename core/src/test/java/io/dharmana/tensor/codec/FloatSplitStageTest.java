package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.tensor.DType;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FloatSplitStageTest {
  static LongStream seeds() {
    return LongStream.range(0, 8).map(i -> 0x57A6E000L + i * 31);
  }

  private static Stage stage(String dtype) {
    return Stages.create(StageSpec.of("float-split", Map.of("dtype", dtype)), StageContext.of(Map.of()));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void roundTripsEveryDtypeParameter(long seed) {
    Random r = new Random(seed);
    for (String dtype : new String[] {"f32", "bf16", "f16", "f64", "auto"}) {
      Stage s = stage(dtype);
      assertEquals("float-split", s.name());
      assertEquals(FloatSplitStageFactory.VERSION, s.version());
      DType shape = switch (dtype) {
        case "bf16" -> DType.BF16;
        case "f16" -> DType.F16;
        case "f64" -> DType.F64;
        default -> DType.F32;
      };
      byte[] data = FloatPatterns.mixed(r, shape, r.nextInt(30_000));
      byte[] encoded = s.encode(data);
      assertArrayEquals(data, s.decode(encoded), "seed " + seed + " dtype " + dtype);
      byte[] offset = new byte[data.length + 7];
      System.arraycopy(data, 0, offset, 3, data.length);
      assertArrayEquals(data, s.decode(s.encode(offset, 3, data.length)), "seed " + seed + " dtype " + dtype + " at an offset");
    }
  }

  @Test
  void autoPicksTheFloatLayoutForWeights() {
    Random r = new Random(99);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 << 18).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      b.putFloat((float) (r.nextGaussian() * 0.02));
    }
    byte[] data = b.array();
    byte[] auto = stage("auto").encode(data);
    byte[] f32 = stage("f32").encode(data);
    assertTrue(auto.length <= f32.length, "seed 99: auto " + auto.length + " > f32 " + f32.length);
    assertTrue(f32.length < data.length * 0.85, "seed 99: f32 coding of normal weights is " + f32.length + " of " + data.length);
  }

  @Test
  void rejectsUnknownParameters() {
    assertThrows(InvalidDescriptorException.class, () -> stage("f8"));
    assertThrows(InvalidDescriptorException.class,
        () -> Stages.create(StageSpec.of("float-split", Map.of("level", "3")), StageContext.of(Map.of())));
  }

  @Test
  void rejectsTruncatedInput() {
    Stage s = stage("f32");
    byte[] encoded = s.encode(FloatPatterns.mixed(new Random(5), DType.F32, 4000));
    assertThrows(CorruptDataException.class, () -> s.decode(java.util.Arrays.copyOf(encoded, encoded.length / 2)));
    assertThrows(CorruptDataException.class, () -> s.decode(new byte[2]));
  }
}
