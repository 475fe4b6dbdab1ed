package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real checkpoints from the shared corpus through the float pipeline, in 256 KiB chunks: every
 * chunk round-trips and the ratio is near the reference figures of the corpus README (4 byte
 * planes each zstd -3: 1.170 on fp32 weights, 1.409 with 2 planes on bf16). Skipped when the
 * corpus is absent.
 */
class CorpusStageTest {
  private static final int CHUNK = 256 << 10;

  @ParameterizedTest
  @CsvSource({"w_step2000.safetensors, 4, 1.12", "adam_v_step2000.safetensors, 4, 1.15", "w_step2000_bf16.safetensors, 2, 1.3"})
  void checkpointChunksRoundTripAndShrink(String file, int width, double minimumRatio) throws IOException {
    Path path = TestCorpus.checkpoint(file);
    byte[] bytes = Files.readAllBytes(path);
    StageChain chain = Stages.chain(List.of(
        StageSpec.of("byte-planes", Map.of("width", Integer.toString(width))),
        StageSpec.of("zstd", Map.of("level", "3")),
        StageSpec.of("checksum")), BuiltinStages.CONTEXT);
    long stored = 0;
    for (int offset = 0; offset < bytes.length; offset += CHUNK) {
      byte[] chunk = Arrays.copyOfRange(bytes, offset, Math.min(bytes.length, offset + CHUNK));
      byte[] encoded = chain.encode(chunk);
      stored += encoded.length;
      assertArrayEquals(chunk, chain.decode(encoded), file + " chunk at " + offset);
    }
    double ratio = (double) bytes.length / stored;
    System.out.printf("corpus %s: byte-planes(%d)+zstd(3)+checksum in %d KiB chunks: ratio %.3f%n", file, width, CHUNK >> 10, ratio);
    assertTrue(ratio >= minimumRatio, file + ": ratio " + ratio + " below " + minimumRatio);
  }
}
