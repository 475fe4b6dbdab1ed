package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageListener;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The float pipeline of the design: byte-planes, then zstd, then a checksum, then encryption. */
class StageChainTest {
  static final List<StageSpec> FLOAT_PIPELINE = List.of(
      StageSpec.of("byte-planes", Map.of("width", "4")),
      StageSpec.of("zstd", Map.of("level", "3")),
      StageSpec.of("checksum"),
      StageSpec.of("aes-gcm", Map.of("key-env", BuiltinStages.KEY_ENV)));

  static StageChain chain() {
    return Stages.chain(FLOAT_PIPELINE, BuiltinStages.CONTEXT);
  }

  @ParameterizedTest
  @MethodSource("io.dharmana.testkit.StageContractTest#seeds")
  void roundTripsFloatTensorsAndRecordsEveryStage(long seed) {
    Random random = new Random(seed);
    StageChain chain = chain();
    assertFalse(chain.lossy());
    for (int i = 0; i < 5; i++) {
      byte[] input = i == 0 ? new byte[0] : StageInputs.float32(random, random.nextInt(70_000), 0.02);
      List<String> events = new ArrayList<>();
      StageListener listener = new StageListener() {
        @Override
        public void encoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {
          events.add("encode " + index + " " + stage.name());
        }

        @Override
        public void decoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {
          events.add("decode " + index + " " + stage.name());
        }
      };
      byte[] stored = chain.encode(input, listener);
      assertArrayEquals(input, chain.decode(stored, listener), "seed " + seed + ", " + input.length + " bytes");
      assertEquals(List.of("encode 0 byte-planes", "encode 1 zstd", "encode 2 checksum", "encode 3 aes-gcm",
          "decode 3 aes-gcm", "decode 2 checksum", "decode 1 zstd", "decode 0 byte-planes"), events);
    }
  }

  @Test
  void theRecordedSpecsRebuildAChainThatReadsOldData() {
    StageChain writer = chain();
    byte[] input = StageInputs.float32(new Random(3), 50_000, 0.02);
    byte[] stored = writer.encode(input);
    List<StageSpec> recorded = writer.specs();
    recorded.forEach(spec -> assertTrue(spec.version() >= 1, spec.toString()));
    assertEquals("3", recorded.get(1).params().get("level"));
    assertTrue(recorded.get(3).params().containsKey("key-id"));
    StageChain reader = Stages.chain(recorded, BuiltinStages.CONTEXT);
    assertArrayEquals(input, reader.decode(stored));
  }

  @ParameterizedTest
  @MethodSource("io.dharmana.testkit.StageContractTest#seeds")
  void aFlippedBitInStoredBytesIsDetected(long seed) {
    Random random = new Random(seed);
    StageChain chain = chain();
    byte[] stored = chain.encode(StageInputs.float32(random, 20_000, 0.02));
    for (int i = 0; i < 16; i++) {
      int bit = random.nextInt(stored.length * 8);
      byte[] damaged = stored.clone();
      damaged[bit >>> 3] ^= (byte) (1 << (bit & 7));
      assertThrows(CorruptDataException.class, () -> chain.decode(damaged), "seed " + seed + ", bit " + bit);
    }
  }

  @Test
  void planesThenZstdShrinkNormalFloats() {
    byte[] input = StageInputs.float32(new Random(4), 1 << 18, 0.02);
    byte[] stored = chain().encode(input);
    double ratio = (double) input.length / stored.length;
    assertTrue(ratio > 1.1, "ratio " + ratio);
  }
}
