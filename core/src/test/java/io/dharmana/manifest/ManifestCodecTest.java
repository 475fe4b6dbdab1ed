package io.dharmana.manifest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.dharmana.CorruptDataException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.stage.StageSpec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestCodecTest {
  static ObjectManifest sample() {
    return new ObjectManifest(ObjectManifest.FORMAT, "default", 30, "ab".repeat(32),
        List.of(StageSpec.of("zstd", Map.of("level", "3")).withVersion(1)), false,
        List.of(new ChunkRef(ChunkId.of(new byte[] {1}), 10, 5), new ChunkRef(ChunkId.of(new byte[] {2}), 20, 9)),
        List.of("cd".repeat(32)), List.of("ef".repeat(32)), Instant.parse("2026-11-22T10:00:00Z"), Map.of("etag", "x", "content-type", "a/b"));
  }

  @Test
  void roundTripsCanonically() {
    ObjectManifest m = sample();
    byte[] json = ManifestCodec.encode(m);
    ObjectManifest back = ManifestCodec.decode(json, "test");
    assertEquals(m, back);
    assertArrayEquals(json, ManifestCodec.encode(back));
    assertEquals(14, m.storedBytes());
    assertArrayEquals(new long[] {0, 10, 30}, m.chunkOffsets());
  }

  @Test
  void rejectsDamage() {
    byte[] json = ManifestCodec.encode(sample());
    String text = new String(json, StandardCharsets.UTF_8);
    assertThrows(CorruptDataException.class, () -> ManifestCodec.decode(text.substring(0, text.length() / 2).getBytes(), "m"));
    assertThrows(CorruptDataException.class, () -> ManifestCodec.decode(text.replace("\"size\":30", "\"size\":31").getBytes(), "m"));
    assertThrows(CorruptDataException.class, () -> ManifestCodec.decode(text.replace("\"format\":1", "\"format\":9").getBytes(), "m"));
  }
}
