package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The registry sees every built-in stage, and bad specs get messages naming what is wrong and what is allowed. */
class StagesTest {
  private static final List<String> BUILT_IN = List.of("aes-gcm", "byte-planes", "checksum", "lz4", "zstd");

  @Test
  void listsAllFiveBuiltInStages() {
    assertTrue(Stages.names().containsAll(BUILT_IN), "registered: " + Stages.names());
    for (String name : BUILT_IN) {
      StageFactory factory = Stages.factory(name);
      assertEquals(name, factory.name());
      assertEquals(1, factory.currentVersion(), name);
      assertFalse(factory.lossy(), name + " is not lossy");
      assertFalse(factory.description().isBlank(), name);
    }
  }

  @Test
  void anUnknownStageNamesTheKnownOnes() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> Stages.create(StageSpec.of("zstandard"), BuiltinStages.CONTEXT));
    assertTrue(e.getMessage().startsWith("Invalid stage 'zstandard': no such stage; known stages: "), e.getMessage());
    for (String name : BUILT_IN) {
      assertTrue(e.getMessage().contains(name), e.getMessage());
    }
  }

  @Test
  void anUnknownParameterNamesTheAllowedOnes() {
    Map<String, String> expected = Map.of(
        "zstd", "Invalid stage zstd: unknown parameter 'lvl'; allowed: level",
        "lz4", "Invalid stage lz4: unknown parameter 'lvl'; allowed: mode",
        "byte-planes", "Invalid stage byte-planes: unknown parameter 'lvl'; allowed: width",
        "checksum", "Invalid stage checksum: unknown parameter 'lvl'; allowed: algorithm",
        "aes-gcm", "Invalid stage aes-gcm: unknown parameter 'lvl'; allowed: key-env, key-file, key-id");
    expected.forEach((name, message) -> {
      InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
          () -> BuiltinStages.create(name, Map.of("lvl", "3")), name);
      assertEquals(message, e.getMessage());
    });
  }

  @Test
  void aFormatVersionNewerThanThisBuildIsRejected() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> Stages.create(new StageSpec("zstd", 2, Map.of()), BuiltinStages.CONTEXT));
    assertEquals("Invalid stage zstd: format version 2 is newer than this build reads (up to 1)", e.getMessage());
  }

  @Test
  void factoriesAcceptVersionZeroAsCurrent() {
    assertEquals(1, Stages.factory("zstd").create(StageSpec.of("zstd"), BuiltinStages.CONTEXT).version());
  }
}
