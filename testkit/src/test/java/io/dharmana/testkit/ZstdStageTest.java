package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ZstdStageTest {

  @Nested
  class DefaultLevel extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("zstd");
    }
  }

  @Nested
  class FastLevel extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("zstd", Map.of("level", "-7"));
    }
  }

  @Nested
  class HighLevel extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("zstd", Map.of("level", "9"));
    }
  }

  @Test
  void recordsTheLevelEvenWhenItIsTheDefault() {
    assertEquals(Map.of("level", "3"), BuiltinStages.create("zstd").spec().params());
    assertEquals(1, BuiltinStages.create("zstd").spec().version());
  }

  @Test
  void writesAStandardFrameThatOtherZstdReadersDecode() {
    byte[] input = StageInputs.floatLike(new Random(11), 100_000);
    byte[] encoded = BuiltinStages.create("zstd").encode(input);
    assertEquals(input.length, Zstd.getFrameContentSize(encoded));
    assertArrayEquals(input, Zstd.decompress(encoded, input.length));
  }

  @Test
  void compressesFloatLikeData() {
    byte[] input = StageInputs.floatLike(new Random(12), 1 << 20);
    Stage planesThenZstd = BuiltinStages.create("zstd");
    byte[] encoded = planesThenZstd.encode(BuiltinStages.create("byte-planes").encode(input));
    assertTrue(encoded.length < input.length * 0.9,
        "byte planes then zstd should save >10% on normal fp32 data, got " + encoded.length + " of " + input.length);
  }

  @Test
  void rejectsAFrameWithoutAContentChecksum() {
    byte[] input = StageInputs.floatLike(new Random(13), 1000);
    byte[] withoutChecksum = Zstd.compress(input, 3);
    CorruptDataException e = assertThrows(CorruptDataException.class, () -> BuiltinStages.create("zstd").decode(withoutChecksum));
    assertTrue(e.getMessage().startsWith("Cannot decode zstd frame"), e.getMessage());
  }

  @Test
  void rejectsAContentSizeBeyondWhatTheFrameCanHold() {
    // a frame header claiming 2^40 bytes, followed by a single tiny block
    byte[] frame = {(byte) 0x28, (byte) 0xb5, (byte) 0x2f, (byte) 0xfd, (byte) 0xe4, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    CorruptDataException e = assertThrows(CorruptDataException.class, () -> BuiltinStages.create("zstd").decode(frame));
    assertTrue(e.getMessage().contains("claims"), e.getMessage());
  }

  @Test
  void rejectsInvalidLevelsNamingTheParameterValueAndRange() {
    for (String level : new String[] {"0", "23", "-8", "three", ""}) {
      InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
          () -> BuiltinStages.create("zstd", Map.of("level", level)), "level " + level);
      assertEquals("Invalid stage zstd: parameter level is '" + level
          + "'; allowed: an integer from 1 to 22, or a fast level from -7 to -1", e.getMessage());
    }
  }
}
