package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.cli.CompressCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dharmana verify as a user runs it: 0 on a sound repository, 1 naming the object a flipped bit damaged. */
class VerifyCommandTest {
  @TempDir Path dir;

  @Test
  void aFlippedBitIsNamedWithExitCodeOne() throws Exception {
    long seed = 20_061;
    Path repo = dir.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    Random random = new Random(seed);
    byte[] data = new byte[3 << 20];
    random.nextBytes(data);
    Path file = Files.write(dir.resolve("weights.bin"), data);
    Run put = CompressCommandTest.run("put", repo.toString(), "models/weights.bin", file.toString(), "--no-progress");
    assertEquals(0, put.exit(), put.err());

    Run sound = CompressCommandTest.run("verify", repo.toString());
    assertEquals(0, sound.exit(), sound.err());
    assertTrue(sound.out().startsWith("verified 1 object: 1 manifest and ") && sound.out().contains("sound: every copy checked is good"),
        sound.out());

    Path pack;
    try (Stream<Path> all = Files.walk(repo.resolve("tiers"))) {
      pack = all.filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(pack);
    bytes[bytes.length / 2] ^= 1;
    Files.write(pack, bytes);

    Run damaged = CompressCommandTest.run("verify", repo.toString(), "--json");
    assertEquals(1, damaged.exit(), damaged.err());
    JsonNode result = new ObjectMapper().readTree(damaged.out());
    assertFalse(result.get("readable").asBoolean(), damaged.out());
    assertEquals(1, result.get("problems").size(), damaged.out());
    assertEquals("LOST", result.get("problems").get(0).get("kind").asText());
    assertEquals("models/weights.bin", result.get("problems").get(0).get("object").asText());
    Run text = CompressCommandTest.run("verify", repo.toString(), "models/");
    assertEquals(1, text.exit());
    assertTrue(text.out().contains("lost     chunks/") && text.out().contains("(object models/weights.bin)")
        && text.out().contains("NOT READABLE"), text.out());
    Path other = Files.write(dir.resolve("other.bin"), new byte[] {1, 2, 3});
    assertEquals(0, CompressCommandTest.run("put", repo.toString(), "datasets/other.bin", other.toString(), "--no-progress").exit());
    Run elsewhere = CompressCommandTest.run("verify", repo.toString(), "datasets/");
    assertEquals(0, elsewhere.exit(), "a prefix limits the check: " + elsewhere.out());
    assertTrue(elsewhere.out().startsWith("verified 1 object: "), elsewhere.out());
    // a prefix no name starts with checked nothing: not "sound" with exit 0, as a mistyped one was
    Run nothing = CompressCommandTest.run("verify", repo.toString(), "model/");
    assertEquals(Main.NOT_FOUND, nothing.exit(), nothing.out());
    assertEquals("dharmana verify: Cannot verify model/: no object's name starts with it (nothing was checked)\n", nothing.err());
  }
}
