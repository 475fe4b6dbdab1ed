package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ChecksumStageTest {

  @Nested
  class Crc32c extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("checksum");
    }
  }

  @Nested
  class Sha256 extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("checksum", Map.of("algorithm", "sha256"));
    }
  }

  @Test
  void appendsTheMaskedCrc32cLittleEndian() {
    // the CRC-32C check value of "123456789" is 0xe3069283; masked as LevelDB does, 0xc78ab0e5
    byte[] input = "123456789".getBytes(StandardCharsets.US_ASCII);
    byte[] encoded = BuiltinStages.create("checksum").encode(input);
    assertEquals("e5b08ac7", HexFormat.of().formatHex(encoded, 9, 13));
    assertArrayEquals(input, Arrays.copyOf(encoded, 9));
  }

  @Test
  void appendsTheSha256() {
    byte[] encoded = BuiltinStages.create("checksum", Map.of("algorithm", "sha256")).encode(new byte[0]);
    assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", HexFormat.of().formatHex(encoded));
  }

  @Test
  void aMismatchNamesExpectedAndActual() {
    byte[] encoded = BuiltinStages.create("checksum").encode("123456789".getBytes(StandardCharsets.US_ASCII));
    encoded[0] ^= 1;
    CorruptDataException e = assertThrows(CorruptDataException.class, () -> BuiltinStages.create("checksum").decode(encoded));
    assertTrue(e.getMessage().startsWith("Cannot verify crc32c checksum of 9 bytes: expected e5b08ac7, actual "), e.getMessage());
  }

  @Test
  void zeroedOrErasedBytesAreNeverValid() {
    Stage stage = BuiltinStages.create("checksum");
    for (int length = 4; length <= 64; length++) {
      byte[] ones = new byte[length];
      Arrays.fill(ones, (byte) 0xff);
      int n = length;
      assertThrows(CorruptDataException.class, () -> stage.decode(new byte[n]), n + " zeros");
      assertThrows(CorruptDataException.class, () -> stage.decode(ones), n + " bytes of 0xff");
    }
  }

  @Test
  void rejectsAnUnknownAlgorithm() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("checksum", Map.of("algorithm", "md5")));
    assertEquals("Invalid stage checksum: parameter algorithm is 'md5'; allowed: one of crc32c, sha256", e.getMessage());
  }
}
