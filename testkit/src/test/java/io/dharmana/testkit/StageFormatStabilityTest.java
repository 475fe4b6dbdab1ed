package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Data written years ago must still decode: encodings of a fixed input, written once by format
 * version 1 of each built-in stage and kept in {@code stage-format-v1.properties}, must decode to
 * that input forever. Stages whose output depends only on this code (not on a native library's
 * version) must also still encode to exactly those bytes, or equal data would stop deduplicating.
 *
 * <p>To add a stage: run with {@code -Ddharmana.golden.write=true} from the testkit module, then
 * review and commit the new lines. Never rewrite an existing line.
 */
class StageFormatStabilityTest {
  private static final String RESOURCE = "stage-format-v1.properties";

  static Stream<StageSpec> specs() {
    return Stream.of(
        new StageSpec("zstd", 1, Map.of("level", "3")),
        new StageSpec("zstd", 1, Map.of("level", "-7")),
        new StageSpec("lz4", 1, Map.of("mode", "fast")),
        new StageSpec("lz4", 1, Map.of("mode", "high")),
        new StageSpec("byte-planes", 1, Map.of("width", "4")),
        new StageSpec("byte-planes", 1, Map.of("width", "3")),
        new StageSpec("checksum", 1, Map.of("algorithm", "crc32c")),
        new StageSpec("checksum", 1, Map.of("algorithm", "sha256")),
        new StageSpec("aes-gcm", 1, Map.of("key-env", BuiltinStages.KEY_ENV)));
  }

  /** Stages whose bytes come from a native library, whose output may change between its versions. */
  private static final List<String> NATIVE_ENCODERS = List.of("zstd", "lz4");

  /** 1003 bytes: 250 fp32 values from a normal distribution (stddev 0.02), then a 3-byte tail. */
  static byte[] input() {
    Random random = new Random(2026);
    ByteBuffer buffer = ByteBuffer.allocate(1003).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 250; i++) {
      buffer.putFloat((float) (random.nextGaussian() * 0.02));
    }
    buffer.put(new byte[] {1, 2, 3});
    return buffer.array();
  }

  @ParameterizedTest
  @MethodSource("specs")
  void version1EncodingsStillDecode(StageSpec spec) throws IOException {
    Stage stage = Stages.create(spec, BuiltinStages.CONTEXT);
    if (Boolean.getBoolean("dharmana.golden.write")) {
      write(spec, stage.encode(input()));
      return;
    }
    String golden = load().getProperty(key(spec));
    assertNotNull(golden, "no golden encoding for " + spec + " in " + RESOURCE);
    byte[] stored = Base64.getDecoder().decode(golden);
    assertArrayEquals(input(), stage.decode(stored), spec + ": golden version 1 encoding");
    if (!NATIVE_ENCODERS.contains(spec.name())) {
      assertArrayEquals(stored, stage.encode(input()), spec + ": encoding must not change within format version 1");
    }
  }

  /** The line's key: independent of {@code StageSpec.toString()}, which may change. */
  private static String key(StageSpec spec) {
    return spec.name() + " v" + spec.version() + " " + new TreeMap<>(spec.params());
  }

  private static Properties load() throws IOException {
    Properties properties = new Properties();
    try (InputStream in = StageFormatStabilityTest.class.getResourceAsStream(RESOURCE)) {
      assertNotNull(in, RESOURCE + " is missing");
      properties.load(in);
    }
    return properties;
  }

  private static synchronized void write(StageSpec spec, byte[] encoded) throws IOException {
    Path file = Path.of("src/test/resources/io/dharmana/testkit").resolve(RESOURCE);
    Properties properties = new Properties();
    if (Files.exists(file)) {
      try (InputStream in = Files.newInputStream(file)) {
        properties.load(in);
      }
    }
    properties.putIfAbsent(key(spec), Base64.getEncoder().encodeToString(encoded));
    // sorted and without a timestamp, so that adding a stage shows as added lines only
    StringBuilder text = new StringBuilder("# Golden encodings of StageFormatStabilityTest.input(); never rewrite a line\n");
    new TreeMap<>(properties).forEach((k, v) -> text.append(((String) k).replace(" ", "\\ ").replace("=", "\\=")).append('=').append(v).append('\n'));
    Files.writeString(file, text);
  }
}
