package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AesGcmStageTest {
  private static final Map<String, String> FROM_ENV = Map.of("key-env", BuiltinStages.KEY_ENV);

  @Nested
  class KeyFromEnvironment extends StageContractTest {
    @Override
    protected Stage newStage() {
      return BuiltinStages.create("aes-gcm", FROM_ENV);
    }

    @Override
    protected StageContext context() {
      return BuiltinStages.CONTEXT;
    }
  }

  @Nested
  class KeyFromFile extends StageContractTest {
    @TempDir Path dir;

    @Override
    protected Stage newStage() {
      Path file = dir.resolve("key");
      try {
        if (!Files.exists(file)) {
          Files.writeString(file, Base64.getEncoder().encodeToString(BuiltinStages.keyBytes(7)) + "\n");
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return BuiltinStages.create("aes-gcm", Map.of("key-file", file.toString()));
    }
  }

  private static String keyId(byte[] key) {
    return HexFormat.of().formatHex(ChunkId.newDigest().digest(key), 0, 8);
  }

  @Test
  void recordsWhereTheKeyIsAndItsIdButNeverTheKey() {
    Stage stage = BuiltinStages.create("aes-gcm", FROM_ENV);
    Map<String, String> params = stage.spec().params();
    assertEquals(Map.of("key-env", BuiltinStages.KEY_ENV, "key-id", keyId(BuiltinStages.keyBytes(42))), params);
    String everything = stage.spec() + " " + stage;
    assertFalse(everything.contains(BuiltinStages.KEY_HEX), everything);
    assertFalse(everything.contains(Base64.getEncoder().encodeToString(BuiltinStages.keyBytes(42))), everything);
  }

  @Test
  void equalPlaintextsGiveEqualCiphertextsSoChunksStillDeduplicate() {
    Stage stage = BuiltinStages.create("aes-gcm", FROM_ENV);
    byte[] input = StageInputs.floatLike(new Random(5), 10_000);
    byte[] first = stage.encode(input);
    // twice in a row on one thread: the JDK's guard against nonce reuse must not get in the way
    assertArrayEquals(first, stage.encode(input));
    assertArrayEquals(first, stage.encode(input.clone()));
    byte[] other = input.clone();
    other[5000] ^= 1;
    byte[] otherEncoded = stage.encode(other);
    assertNotEquals(HexFormat.of().formatHex(first, 1, 13), HexFormat.of().formatHex(otherEncoded, 1, 13),
        "different plaintexts must get different nonces");
  }

  @Test
  void theCiphertextDoesNotContainThePlaintext() {
    byte[] input = new byte[4096];
    java.util.Arrays.fill(input, (byte) 'a');
    byte[] encoded = BuiltinStages.create("aes-gcm", FROM_ENV).encode(input);
    assertEquals(1 + 12 + 4096 + 16, encoded.length);
    assertEquals(1, encoded[0]);
    int run = 0;
    int longest = 0;
    for (byte b : encoded) {
      run = b == 'a' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    assertTrue(longest < 8, "longest run of plaintext bytes in ciphertext: " + longest);
  }

  @Test
  void roundTripsAtEverySegmentBoundary() {
    Stage stage = BuiltinStages.create("aes-gcm", FROM_ENV);
    Random random = new Random(31);
    int segment = 16 << 10;
    for (int segments = 1; segments <= 3; segments++) {
      for (int delta = -1; delta <= 1; delta++) {
        int length = segments * segment + delta;
        byte[] input = StageInputs.randomBytes(random, length);
        byte[] encoded = stage.encode(input);
        int expectedSegments = Math.max(1, (length + segment - 1) / segment);
        assertEquals(1 + 12 + length + 16 * expectedSegments, encoded.length, length + " bytes");
        assertArrayEquals(input, stage.decode(encoded), length + " bytes");
      }
    }
  }

  @Test
  void segmentsThatAreSwappedDroppedOrRepeatedFailTheirTag() {
    Stage stage = BuiltinStages.create("aes-gcm", FROM_ENV);
    int segment = (16 << 10) + 16;
    byte[] encoded = stage.encode(StageInputs.randomBytes(new Random(32), 3 * (16 << 10)));
    assertEquals(13 + 3 * segment, encoded.length);

    byte[] swapped = encoded.clone();
    System.arraycopy(encoded, 13, swapped, 13 + segment, segment);
    System.arraycopy(encoded, 13 + segment, swapped, 13, segment);
    assertThrows(CorruptDataException.class, () -> stage.decode(swapped), "first two segments swapped");

    byte[] dropped = java.util.Arrays.copyOf(encoded, 13 + 2 * segment);
    assertThrows(CorruptDataException.class, () -> stage.decode(dropped), "last segment dropped");

    byte[] repeated = java.util.Arrays.copyOf(encoded, 13 + 4 * segment);
    System.arraycopy(encoded, 13 + 2 * segment, repeated, 13 + 3 * segment, segment);
    assertThrows(CorruptDataException.class, () -> stage.decode(repeated), "last segment repeated");
  }

  @Test
  void acceptsKeysAsHexOrBase64WithSurroundingWhitespace() {
    byte[] key = BuiltinStages.keyBytes(9);
    String hexUpper = HexFormat.of().withUpperCase().formatHex(key);
    String base64 = Base64.getEncoder().encodeToString(key);
    Stage fromHex = Stages.create(StageSpec.of("aes-gcm", Map.of("key-env", "K")), StageContext.of(Map.of("K", " " + hexUpper + "\n")));
    Stage fromBase64 = Stages.create(StageSpec.of("aes-gcm", Map.of("key-env", "K")), StageContext.of(Map.of("K", base64)));
    byte[] input = StageInputs.randomBytes(new Random(9), 777);
    assertArrayEquals(fromHex.encode(input), fromBase64.encode(input));
    assertEquals(keyId(key), fromHex.spec().params().get("key-id"));
  }

  @Test
  void decodingWithAnotherKeyNamesBothKeyIds() {
    Stage writer = BuiltinStages.create("aes-gcm", FROM_ENV);
    byte[] encoded = writer.encode(StageInputs.randomBytes(new Random(1), 100));
    byte[] otherKey = BuiltinStages.keyBytes(43);
    StageContext otherContext = StageContext.of(Map.of(BuiltinStages.KEY_ENV, HexFormat.of().formatHex(otherKey)));

    // the recorded spec carries the writer's key id: the reader is told exactly what is wrong
    Stage reader = Stages.create(writer.spec(), otherContext);
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> reader.decode(encoded));
    assertEquals("Cannot decrypt: encrypted with key " + keyId(BuiltinStages.keyBytes(42)) + ", given key " + keyId(otherKey),
        e.getMessage());

    // without a recorded id, the tag cannot verify
    Stage blind = Stages.create(StageSpec.of("aes-gcm", FROM_ENV), otherContext);
    CorruptDataException tag = assertThrows(CorruptDataException.class, () -> blind.decode(encoded));
    assertTrue(tag.getMessage().contains("authentication tag of segment 0 of 1 does not match"), tag.getMessage());
  }

  @Test
  void requiresExactlyOneKeySource(@TempDir Path dir) throws Exception {
    InvalidDescriptorException neither = assertThrows(InvalidDescriptorException.class, () -> BuiltinStages.create("aes-gcm"));
    assertEquals("Invalid stage aes-gcm: exactly one of key-env or key-file must be given, got neither", neither.getMessage());
    Path file = Files.writeString(dir.resolve("key"), BuiltinStages.KEY_HEX);
    InvalidDescriptorException both = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("aes-gcm", Map.of("key-env", BuiltinStages.KEY_ENV, "key-file", file.toString())));
    assertTrue(both.getMessage().contains("got both"), both.getMessage());
  }

  @Test
  void namesAMissingVariableOrFileWithoutGuessing(@TempDir Path dir) {
    InvalidDescriptorException env = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("aes-gcm", Map.of("key-env", "NO_SUCH_VARIABLE")));
    assertEquals("Invalid stage aes-gcm: parameter key-env is 'NO_SUCH_VARIABLE' but that environment variable is not set",
        env.getMessage());
    String missing = dir.resolve("missing").toString();
    InvalidDescriptorException file = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("aes-gcm", Map.of("key-file", missing)));
    assertTrue(file.getMessage().startsWith("Invalid stage aes-gcm: parameter key-file is '" + missing + "' and cannot be read"),
        file.getMessage());
  }

  @Test
  void aKeyFileThatIsNotAKeyIsRejectedBeforeReadingIt(@TempDir Path dir) throws Exception {
    Path big = Files.write(dir.resolve("big"), new byte[100_000]);
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("aes-gcm", Map.of("key-file", big.toString())));
    assertEquals("Invalid stage aes-gcm: parameter key-file is '" + big + "', a file of 100000 bytes; a key file holds "
        + "64 hex digits or base64 of 32 bytes (at most 4096 bytes)", e.getMessage());
  }

  @Test
  void aMalformedKeyIsRejectedWithoutEchoingIt() {
    for (String bad : new String[] {"not a key", BuiltinStages.KEY_HEX.substring(2), BuiltinStages.KEY_HEX + "00",
        Base64.getEncoder().encodeToString(new byte[16])}) {
      InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
          () -> Stages.create(StageSpec.of("aes-gcm", Map.of("key-env", "K")), StageContext.of(Map.of("K", bad))));
      assertTrue(e.getMessage().startsWith("Invalid stage aes-gcm: the key in environment variable K is not 64 hex digits or base64 of 32 bytes"),
          e.getMessage());
      assertFalse(e.getMessage().contains(bad), e.getMessage());
    }
  }

  @Test
  void rejectsAMalformedKeyId() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> BuiltinStages.create("aes-gcm", Map.of("key-env", BuiltinStages.KEY_ENV, "key-id", "xyz")));
    assertTrue(e.getMessage().startsWith("Invalid stage aes-gcm: parameter key-id is 'xyz'; allowed: 16 lowercase hex digits"),
        e.getMessage());
  }
}
