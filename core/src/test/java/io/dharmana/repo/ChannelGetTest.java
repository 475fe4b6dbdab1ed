package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.descriptor.CacheSpec;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.runtime.StorageRuntime;
import io.dharmana.runtime.Verification;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Repository#get(String, WritableByteChannel, Verification, io.dharmana.runtime.ProgressListener)}:
 * a single zstd stage or no stage decodes into native buffers from slices of the mapped packs,
 * every other chain takes the copying path; either way the bytes are those a stream reads, damage
 * is reported by object and chunk, and the native buffers stay within the read window.
 */
class ChannelGetTest {
  /** Sizes from empty through one byte to many chunks (the default chunker averages 64 KiB). */
  private static final int[] SIZES = {0, 1, 70_000, 3_000_001};

  @TempDir Path dir;

  private static PipelineDescriptor pipeline(String name, List<StageSpec> stages) {
    // two threads: a read window of 64 chunks, whatever the machine's cores
    StorageDescriptor.Builder storage = StorageDescriptor.builder().cache(new CacheSpec(8, 2, CacheSpec.DEFAULT.memoryBytes()));
    stages.forEach(storage::stage);
    return PipelineDescriptor.of(name, storage.build());
  }

  private static PipelineDescriptor pipeline(String kind) {
    return switch (kind) {
      case "zstd" -> pipeline("zstd3", List.of(StageSpec.of("zstd", Map.of("level", "3"))));
      case "plain" -> pipeline("plain", List.of());
      case "lz4" -> pipeline("lz4", List.of(StageSpec.of("lz4", Map.of())));
      case "checksum+zstd" -> pipeline("two", List.of(StageSpec.of("checksum", Map.of()), StageSpec.of("zstd", Map.of("level", "1"))));
      default -> throw new IllegalArgumentException(kind);
    };
  }

  /** Half compressible text-like bytes, half random, so that zstd frames vary in ratio. */
  private static byte[] data(Random random, int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    for (int i = 0; i < size / 2; i++) {
      bytes[i] = (byte) ('a' + (bytes[i] & 7));
    }
    return bytes;
  }

  /** A channel that takes at most 1000 bytes per write, so that partial writes are exercised. */
  private static final class SlowChannel implements WritableByteChannel {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    @Override
    public int write(ByteBuffer src) {
      int n = Math.min(1000, src.remaining());
      byte[] piece = new byte[n];
      src.get(piece);
      out.write(piece, 0, n);
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  private static byte[] streamed(Repository r, String name) throws IOException {
    try (InputStream in = r.open(name)) {
      return in.readAllBytes();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"zstd", "plain", "lz4", "checksum+zstd"})
  void readsBackByteIdenticalThroughAChannel(String kind) throws IOException {
    long seed = 41;
    Random random = new Random(seed);
    List<byte[]> objects = new ArrayList<>();
    try (Repository r = Repository.init(dir, pipeline(kind))) {
      for (int size : SIZES) {
        byte[] bytes = data(random, size);
        objects.add(bytes);
        r.put("o" + size, new ByteArrayInputStream(bytes), PutOptions.defaults());
      }
      // in the writing instance: chunks may still be read from a pack's spool file
      for (int i = 0; i < SIZES.length; i++) {
        SlowChannel out = new SlowChannel();
        r.get("o" + SIZES[i], out, Verification.CHUNKS_AND_ORIGINAL, io.dharmana.runtime.ProgressListener.NONE);
        assertArrayEquals(objects.get(i), out.out.toByteArray(), "seed " + seed + ", " + kind + ", " + SIZES[i] + " bytes");
      }
    }
    // reopened: every pack is sealed and read through its mapping
    try (Repository r = Repository.open(dir)) {
      for (int i = 0; i < SIZES.length; i++) {
        String name = "o" + SIZES[i];
        SlowChannel out = new SlowChannel();
        long[] progress = {-1, -1};
        r.get(name, out, Verification.CHUNKS_AND_ORIGINAL, (done, total) -> {
          assertTrue(done > progress[0], "progress moves forward");
          progress[0] = done;
          progress[1] = total;
        });
        assertArrayEquals(objects.get(i), out.out.toByteArray(), "reopened, seed " + seed + ", " + kind + ", " + SIZES[i] + " bytes");
        assertArrayEquals(streamed(r, name), out.out.toByteArray(), "channel and stream agree, " + kind + ", " + SIZES[i] + " bytes");
        if (SIZES[i] > 0) {
          assertEquals(SIZES[i], progress[0], "progress reaches the size");
          assertEquals(SIZES[i], progress[1], "progress total");
        }
      }
      long buffers = r.metrics(r.descriptor().name()).snapshot("get").counter(StorageRuntime.DECODE_BUFFERS);
      assertEquals(kind.equals("zstd"), buffers > 0, kind + ": native buffers used (" + buffers + ") only for a single zstd stage");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"zstd", "plain"})
  void rangesReadThroughAChannelMatchTheStream(String kind) throws IOException {
    long seed = 43;
    Random random = new Random(seed);
    byte[] bytes = data(random, 2_000_000);
    try (Repository r = Repository.init(dir, pipeline(kind))) {
      r.put("r", new ByteArrayInputStream(bytes), PutOptions.defaults());
    }
    try (Repository r = Repository.open(dir)) {
      ObjectManifest manifest = r.manifest(r.stat("r").orElseThrow().manifestId());
      PipelineMetrics metrics = r.metrics(manifest.pipeline());
      for (int i = 0; i < 20; i++) {
        long offset = i == 0 ? 0 : random.nextInt(bytes.length + 10);
        long length = i == 1 ? Long.MAX_VALUE : random.nextInt(300_000);
        SlowChannel out = new SlowChannel();
        r.runtime().read(manifest, offset, length, out, metrics, "r", Verification.CHUNKS, io.dharmana.runtime.ProgressListener.NONE);
        int from = (int) Math.min(offset, bytes.length);
        int to = (int) Math.min(bytes.length, from + Math.min(length, bytes.length));
        assertArrayEquals(Arrays.copyOfRange(bytes, from, to), out.out.toByteArray(),
            "seed " + seed + ", " + kind + ", range " + offset + "+" + length);
      }
    }
  }

  @Test
  void theOriginalsHashIsCheckedOnRequest() throws IOException {
    byte[] bytes = data(new Random(44), 500_000);
    try (Repository r = Repository.init(dir, pipeline("zstd"))) {
      r.put("v", new ByteArrayInputStream(bytes), PutOptions.defaults());
    }
    try (Repository r = Repository.open(dir)) {
      ObjectManifest m = r.manifest(r.stat("v").orElseThrow().manifestId());
      ObjectManifest wrongHash = new ObjectManifest(m.format(), m.pipeline(), m.size(), "0".repeat(64), m.stages(), m.lossy(),
          m.chunks(), m.parents(), m.includes(), m.created(), m.attributes());
      PipelineMetrics metrics = r.metrics(m.pipeline());
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> r.runtime().read(wrongHash, 0, m.size(),
          new SlowChannel(), metrics, "v", Verification.CHUNKS_AND_ORIGINAL, io.dharmana.runtime.ProgressListener.NONE));
      assertTrue(e.getMessage().startsWith("Cannot read v: decoded bytes do not match the original SHA-256"), e.getMessage());
      // checking chunks only, the same manifest reads
      SlowChannel out = new SlowChannel();
      r.runtime().read(wrongHash, 0, m.size(), out, metrics, "v", Verification.CHUNKS, io.dharmana.runtime.ProgressListener.NONE);
      assertArrayEquals(bytes, out.out.toByteArray());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"zstd", "plain"})
  void aFlippedBitInASealedPackIsReportedByObjectAndChunk(String kind) throws IOException {
    long seed = 45;
    Random random = new Random(seed);
    byte[] bytes = data(random, 600_000);
    try (Repository r = Repository.init(dir, pipeline(kind))) {
      r.put("f", new ByteArrayInputStream(bytes), PutOptions.defaults());
    }
    Path pack;
    try (Stream<Path> files = Files.walk(dir.resolve("tiers"))) {
      pack = files.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
    }
    byte[] stored = Files.readAllBytes(pack);
    int bit = random.nextInt(stored.length * 8);
    stored[bit >>> 3] ^= (byte) (1 << (bit & 7));
    pack.toFile().setWritable(true);
    Files.write(pack, stored);
    try (Repository r = Repository.open(dir)) {
      CorruptDataException e = assertThrows(CorruptDataException.class,
          () -> r.get("f", new SlowChannel(), Verification.CHUNKS, io.dharmana.runtime.ProgressListener.NONE),
          "seed " + seed + ", bit " + bit);
      assertTrue(e.getMessage().startsWith("Cannot read f: chunk "), e.getMessage());
    }
  }

  @Test
  void nativeBuffersStayWithinTheirBudgetHoweverFarTheReadFetchesAhead() throws IOException {
    long seed = 46;
    int chunk = 4 << 20; // the largest chunk decoded into native buffers
    byte[] bytes = data(new Random(seed), 24 * chunk);
    StorageDescriptor.Builder storage = StorageDescriptor.builder().cache(new CacheSpec(8, 2, CacheSpec.DEFAULT.memoryBytes()))
        .chunking(new ChunkingSpec("fixed", chunk, chunk, chunk, 1)).stage(StageSpec.of("zstd", Map.of("level", "1")));
    try (Repository r = Repository.init(dir, PipelineDescriptor.of("big-chunks", storage.build()))) {
      r.put("big", new ByteArrayInputStream(bytes), PutOptions.defaults());
    }
    try (Repository r = Repository.open(dir)) {
      SlowChannel out = new SlowChannel();
      r.get("big", out, Verification.CHUNKS, io.dharmana.runtime.ProgressListener.NONE);
      assertArrayEquals(bytes, out.out.toByteArray(), "seed " + seed);
      long buffers = r.metrics("big-chunks").snapshot("get").counter(StorageRuntime.DECODE_BUFFERS);
      // fetches run 24 chunks ahead of a slow destination (the read window is 64), decodes only
      // as far as the budget's 16 buffers of 4 MiB
      assertTrue(buffers >= 1 && buffers * chunk <= StorageRuntime.DECODE_BUFFER_BYTES,
          buffers + " native buffers of " + chunk + " bytes, budget " + StorageRuntime.DECODE_BUFFER_BYTES);
    }
  }

  @Test
  void aSlowDestinationIsCountedAsTheOutputsTimeNotTheStages() throws IOException {
    long seed = 47;
    byte[] bytes = data(new Random(seed), 12_000_000); // about 180 chunks: more than a read window
    try (Repository r = Repository.init(dir, pipeline("zstd"))) {
      r.put("slow", new ByteArrayInputStream(bytes), PutOptions.defaults());
    }
    try (Repository r = Repository.open(dir)) {
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      long[] slept = {0};
      WritableByteChannel slow = new WritableByteChannel() {
        @Override
        public int write(ByteBuffer src) {
          try {
            long t0 = System.nanoTime();
            // a destination that takes its time (a slow disk, a slow socket): long enough that
            // decoding 12 MB stays far below half of it even on a loaded machine
            Thread.sleep(5);
            slept[0] += System.nanoTime() - t0;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          byte[] piece = new byte[src.remaining()];
          src.get(piece);
          got.write(piece, 0, piece.length);
          return piece.length;
        }

        @Override
        public boolean isOpen() {
          return true;
        }

        @Override
        public void close() {}
      };
      r.get("slow", slow, Verification.CHUNKS, io.dharmana.runtime.ProgressListener.NONE);
      long sleptNanos = slept[0];
      assertArrayEquals(bytes, got.toByteArray(), "seed " + seed);
      List<io.dharmana.metrics.StageStats> steps = r.metrics("zstd3").snapshot("get").stages();
      long output = steps.stream().filter(s -> s.stage().equals(StorageRuntime.OUTPUT_WRITE)).mapToLong(io.dharmana.metrics.StageStats::nanos).sum();
      long zstd = steps.stream().filter(s -> s.stage().equals("zstd")).mapToLong(io.dharmana.metrics.StageStats::nanos).sum();
      assertTrue(output >= sleptNanos, "the destination's time is the output's: " + output + " ns counted, " + sleptNanos + " ns slept");
      // nor is the destination's time charged to decoding
      assertTrue(zstd < sleptNanos / 2, "zstd counted " + zstd + " ns while the destination slept " + sleptNanos + " ns");
    }
  }
}
