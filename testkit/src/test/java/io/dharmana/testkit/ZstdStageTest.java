package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

  /** The frame zstd itself writes for {@code input} at {@code level}, with the stage's settings (content size, checksum). */
  static byte[] frameAt(byte[] input, int level) {
    try (com.github.luben.zstd.ZstdCompressCtx ctx = new com.github.luben.zstd.ZstdCompressCtx()) {
      ctx.setChecksum(true).setContentSize(true).setLevel(level);
      return ctx.compress(input);
    }
  }

  /**
   * Incompressible chunks (random bytes) are compressed at the fastest level whatever the
   * configured one: the same kind of frame (raw blocks), decoded as any, and the same bytes at
   * every call.
   */
  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33})
  void incompressibleChunksTakeTheFastestLevel(long seed) {
    Random random = new Random(seed);
    // one sample decides below 128 KiB, eight spread over the chunk from there on
    for (byte[] input : List.of(StageInputs.randomBytes(random, (16 << 10) + random.nextInt(112 << 10)),
        StageInputs.randomBytes(random, (128 << 10) + random.nextInt(4 << 20)))) {
      for (String level : List.of("3", "9", "19")) {
        Stage stage = BuiltinStages.create("zstd", Map.of("level", level));
        byte[] encoded = stage.encode(input);
        String what = "seed " + seed + " level " + level + " length " + input.length;
        assertArrayEquals(frameAt(input, -7), encoded, what + ": the fastest level's frame");
        assertTrue(encoded.length <= input.length + input.length / 1000 + 64, what + ": " + encoded.length + " bytes");
        assertArrayEquals(encoded, stage.encode(input), what + ": deterministic");
        assertArrayEquals(input, stage.decode(encoded), what);
      }
    }
  }

  /** Compressible chunks, and chunks too short to probe, are compressed at their configured level. */
  @ParameterizedTest
  @ValueSource(longs = {41, 42, 43})
  void compressibleAndShortChunksKeepTheirLevel(long seed) {
    Random random = new Random(seed);
    List<byte[]> inputs = List.of(
        StageInputs.floatLike(random, (128 << 10) + random.nextInt(2 << 20)),
        StageInputs.repetitive(random, (128 << 10) + random.nextInt(2 << 20)),
        StageInputs.floatLike(random, (16 << 10) + random.nextInt(112 << 10)),
        StageInputs.repetitive(random, (16 << 10) + random.nextInt(112 << 10)),
        StageInputs.randomBytes(random, 1 + random.nextInt((16 << 10) - 1)));
    for (byte[] input : inputs) {
      for (int level : new int[] {3, 9}) {
        Stage stage = BuiltinStages.create("zstd", Map.of("level", Integer.toString(level)));
        byte[] encoded = stage.encode(input);
        assertArrayEquals(frameAt(input, level), encoded, "seed " + seed + " level " + level + " length " + input.length);
        assertArrayEquals(input, stage.decode(encoded), "seed " + seed + " level " + level);
      }
    }
  }

  /**
   * A chunk of compressible and random stretches: the samples land in both, and it is compressed
   * at its level when they shrink enough together; whichever level the probe picks, the output
   * decodes to the input and is the same at every call.
   */
  @ParameterizedTest
  @ValueSource(longs = {51, 52, 53, 54, 55})
  void mixedChunksRoundTripDeterministically(long seed) {
    Random random = new Random(seed);
    int length = (256 << 10) + random.nextInt(3 << 20);
    byte[] input = StageInputs.randomBytes(random, length);
    // a compressible stretch covering a random share of the chunk
    int from = random.nextInt(length / 2);
    int to = from + random.nextInt(length - from);
    System.arraycopy(StageInputs.floatLike(random, to - from), 0, input, from, to - from);
    Stage stage = BuiltinStages.create("zstd");
    byte[] encoded = stage.encode(input);
    assertArrayEquals(input, stage.decode(encoded), "seed " + seed);
    assertArrayEquals(encoded, stage.encode(input), "seed " + seed + ": deterministic");
    assertTrue(java.util.Arrays.equals(frameAt(input, 3), encoded) || java.util.Arrays.equals(frameAt(input, -7), encoded),
        "seed " + seed + ": a frame of the configured or of the fastest level");
    // half compressible halves: every sample but at most one sits in a float-like half
    byte[] halves = StageInputs.randomBytes(random, length);
    System.arraycopy(StageInputs.floatLike(random, length / 2), 0, halves, 0, length / 2);
    assertArrayEquals(frameAt(halves, 3), stage.encode(halves), "seed " + seed + ": half float-like keeps level 3");
  }

  /** Stages of several levels share one context per thread: each call must still use its own level. */
  @Test
  void interleavedLevelsOnOneThreadEachCompressAtTheirOwnLevel() {
    byte[] input = StageInputs.repetitive(new Random(21), 200_000);
    for (int i = 0; i < input.length; i += 97) {
      input[i] = (byte) i; // break the pattern so that levels differ in what they find
    }
    Stage fast = BuiltinStages.create("zstd", Map.of("level", "-7"));
    Stage high = BuiltinStages.create("zstd", Map.of("level", "19"));
    byte[] fastAlone = fast.encode(input);
    byte[] highAlone = high.encode(input);
    assertTrue(highAlone.length < fastAlone.length, "level 19: " + highAlone.length + " bytes, level -7: " + fastAlone.length);
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(fastAlone, fast.encode(input));
      assertArrayEquals(highAlone, high.encode(input));
    }
    assertEquals(Zstd.compress(input, 19).length + 4, highAlone.length, "level 19 frame plus its 4-byte checksum");
  }

  /**
   * Frames larger than the compression window (2 MiB at level 3) carry a window size, the one
   * header field zstd itself tolerates damage in. Every flipped bit in the first 16 bytes must be
   * detected, or (for a window-size flip the stage cannot tell from a real one) decode to the
   * exact input: never to other bytes.
   */
  @Test
  void aFlippedHeaderBitOfALargeFrameIsDetectedOrHarmless() {
    byte[] input = StageInputs.floatLike(new Random(22), 5 << 20);
    Stage stage = BuiltinStages.create("zstd");
    byte[] encoded = stage.encode(input);
    List<Integer> harmless = new ArrayList<>();
    for (int bit = 0; bit < 16 * 8; bit++) {
      byte[] damaged = encoded.clone();
      damaged[bit >>> 3] ^= (byte) (1 << (bit & 7));
      try {
        assertArrayEquals(input, stage.decode(damaged), "bit " + bit + ": decoded without error to other bytes");
        harmless.add(bit);
      } catch (CorruptDataException expected) {
        // detected
      }
    }
    System.out.println("zstd, 5 MiB frame: header bits that decode to the exact input when flipped: " + harmless);
    assertTrue(harmless.stream().allMatch(bit -> bit >= 43 && bit <= 47), "only window exponent bits may be harmless: " + harmless);
  }

  /** The header checks must accept every frame the encoder writes, at every window it picks. */
  @Test
  void acceptsTheWindowsTheEncoderWritesForLargeChunks() {
    Random random = new Random(23);
    for (String level : new String[] {"-7", "3", "9"}) {
      Stage stage = BuiltinStages.create("zstd", Map.of("level", level));
      for (int length : new int[] {(2 << 20) + 1, (8 << 20) + 3}) {
        byte[] input = length > (4 << 20) ? StageInputs.repetitive(random, length) : StageInputs.floatLike(random, length);
        assertArrayEquals(input, stage.decode(stage.encode(input)), "level " + level + ", " + length + " bytes");
      }
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
