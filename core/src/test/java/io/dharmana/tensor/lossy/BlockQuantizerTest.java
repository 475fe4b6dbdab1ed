package io.dharmana.tensor.lossy;

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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BlockQuantizerTest {
  static float[] weights(long seed, int n) {
    Random random = new Random(seed);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) (random.nextGaussian() * 0.02);
    }
    return w;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void int8ErrorIsBoundedByHalfAStep(long seed) {
    Random random = new Random(seed);
    int n = random.nextInt(5000);
    int block = 1 + random.nextInt(300);
    float[] w = weights(seed, n);
    BlockQuantizer q = BlockQuantizer.int8(block);
    byte[] encoded = q.encode(FloatBuffer.wrap(w));
    assertEquals(q.encodedSize(n), encoded.length, "seed " + seed);
    float[] back = new float[n];
    q.decode(encoded, FloatBuffer.wrap(back));
    for (int b = 0; b * block < n; b++) {
      float absmax = 0;
      for (int i = b * block; i < Math.min(n, (b + 1) * block); i++) {
        absmax = Math.max(absmax, Math.abs(w[i]));
      }
      for (int i = b * block; i < Math.min(n, (b + 1) * block); i++) {
        assertTrue(Math.abs(w[i] - back[i]) <= absmax / 254 * 1.0001 + 1e-12, "seed " + seed + " index " + i);
      }
    }
    assertArrayEquals(encoded, q.encode(FloatBuffer.wrap(w)), "deterministic, seed " + seed);
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void defaultBlockMeetsTheTargetsOnGaussianWeights(long seed) {
    float[] w = weights(seed, 100_000);
    for (BlockQuantizer.Format format : BlockQuantizer.Format.values()) {
      BlockQuantizer q = BlockQuantizer.of(format, BlockQuantizer.DEFAULT_BLOCK);
      byte[] encoded = q.encode(FloatBuffer.wrap(w));
      float[] back = new float[w.length];
      q.decode(encoded, FloatBuffer.wrap(back));
      ErrorReport report = ErrorReport.compare(w, back);
      double ratio = 4.0 * w.length / encoded.length;
      assertTrue(ratio >= 3.9, "seed " + seed + " ratio " + ratio);
      double limit = format == BlockQuantizer.Format.INT8 ? 0.01 : 0.04;
      assertTrue(report.relativeRms() <= limit, "seed " + seed + " " + format + " " + report);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23})
  void deltaAgainstParentReconstructs(long seed) {
    float[] parent = weights(seed, 4096);
    float[] child = parent.clone();
    Random random = new Random(seed);
    for (int i = 0; i < child.length; i++) {
      child[i] += (float) (random.nextGaussian() * 1e-4);
    }
    BlockQuantizer q = BlockQuantizer.int8(256);
    byte[] encoded = q.encodeDelta(FloatBuffer.wrap(child), FloatBuffer.wrap(parent));
    float[] back = new float[child.length];
    q.decodeDelta(encoded, FloatBuffer.wrap(parent), FloatBuffer.wrap(back));
    ErrorReport delta = ErrorReport.compare(child, back);
    float[] plain = new float[child.length];
    q.decode(q.encode(FloatBuffer.wrap(child)), FloatBuffer.wrap(plain));
    ErrorReport direct = ErrorReport.compare(child, plain);
    assertTrue(delta.relativeRms() < direct.relativeRms() / 10, "seed " + seed + " delta " + delta + " direct " + direct);
  }

  @Test
  void rejectsNonFiniteAndCorruptInput() {
    BlockQuantizer q = BlockQuantizer.int8(4);
    assertThrows(IllegalArgumentException.class, () -> q.encode(FloatBuffer.wrap(new float[] {1, Float.NaN})));
    assertThrows(IllegalArgumentException.class, () -> q.encode(FloatBuffer.wrap(new float[] {Float.POSITIVE_INFINITY})));
    byte[] ok = q.encode(FloatBuffer.wrap(new float[] {1, 2, 3, 4, 5}));
    assertThrows(CorruptDataException.class, () -> q.decode(Arrays.copyOf(ok, ok.length - 1), FloatBuffer.allocate(5)));
    assertThrows(CorruptDataException.class, () -> q.decode(new byte[3], FloatBuffer.allocate(0)));
    byte[] badCount = ok.clone();
    badCount[3] = 0x7F;
    assertThrows(CorruptDataException.class, () -> q.decode(badCount, FloatBuffer.allocate(5)));
    assertThrows(CorruptDataException.class, () -> q.decode(ok, FloatBuffer.allocate(6)));
    assertThrows(InvalidDescriptorException.class, () -> BlockQuantizer.int8(0));
    assertThrows(InvalidDescriptorException.class, () -> BlockQuantizer.Format.parse("int4"));
  }

  @Test
  void zerosAndEmptyInputAreExact() {
    BlockQuantizer q = BlockQuantizer.fp8(8);
    float[] zeros = new float[20];
    float[] back = new float[20];
    Arrays.fill(back, 1);
    q.decode(q.encode(FloatBuffer.wrap(zeros)), FloatBuffer.wrap(back));
    assertArrayEquals(zeros, back);
    assertEquals(8, q.encode(FloatBuffer.allocate(0)).length);
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32})
  void quantizeStageIsRegisteredLossyAndRoundTrips(long seed) {
    assertTrue(Stages.factory("quantize").lossy());
    for (String format : new String[] {"int8", "fp8"}) {
      Stage stage = Stages.create(StageSpec.of("quantize", Map.of("format", format, "block", "64")), StageContext.system());
      assertTrue(stage.lossy());
      assertEquals(Map.of("format", format, "block", "64"), stage.spec().params());
      float[] w = weights(seed, 1000);
      ByteBuffer bytes = ByteBuffer.allocate(4000).order(ByteOrder.LITTLE_ENDIAN);
      bytes.asFloatBuffer().put(w);
      byte[] decoded = stage.decode(stage.encode(bytes.array()));
      assertEquals(4000, decoded.length);
      float[] back = new float[1000];
      ByteBuffer.wrap(decoded).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(back);
      assertTrue(ErrorReport.compare(w, back).relativeRms() < 0.05, "seed " + seed + " " + format);
      assertEquals(0, stage.decode(stage.encode(new byte[0])).length);
      assertThrows(InvalidDescriptorException.class, () -> stage.encode(new byte[5]));
    }
    assertThrows(InvalidDescriptorException.class,
        () -> Stages.create(StageSpec.of("quantize", Map.of("bits", "4")), StageContext.system()));
    assertThrows(InvalidDescriptorException.class,
        () -> Stages.create(StageSpec.of("quantize", Map.of("block", "x")), StageContext.system()));
  }
}
