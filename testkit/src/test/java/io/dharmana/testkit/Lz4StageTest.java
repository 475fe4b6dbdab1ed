package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class Lz4StageTest {

  @Nested
  class Fast extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("lz4");
    }
  }

  @Nested
  class High extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("lz4", Map.of("mode", "high"));
    }
  }

  @Test
  void doesNotClaimToDetectCorruption() {
    assertFalse(BuiltinStages.create("lz4").detectsCorruption());
    assertEquals(Map.of("mode", "fast"), BuiltinStages.create("lz4").spec().params());
  }

  @Test
  void startsWithTheOriginalLengthLittleEndian() {
    byte[] encoded = BuiltinStages.create("lz4").encode(StageInputs.repetitive(new Random(3), 0x012345));
    assertEquals(0x45, encoded[0] & 0xff);
    assertEquals(0x23, encoded[1] & 0xff);
    assertEquals(0x01, encoded[2] & 0xff);
    assertEquals(0x00, encoded[3] & 0xff);
  }

  @Test
  void rejectsALengthBeyondWhatTheBlockCanHold() {
    byte[] encoded = BuiltinStages.create("lz4").encode(new byte[1000]);
    encoded[3] = 0x10; // claims 256 MiB + 1000 bytes from a block of a few bytes
    CorruptDataException e = assertThrows(CorruptDataException.class, () -> BuiltinStages.create("lz4").decode(encoded));
    assertTrue(e.getMessage().contains("claims"), e.getMessage());
  }

  @Test
  void rejectsAnUnknownMode() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("lz4", Map.of("mode", "turbo")));
    assertEquals("Invalid stage lz4: parameter mode is 'turbo'; allowed: one of fast, high", e.getMessage());
  }
}
