package io.dharmana.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.chunk.ChunkStore;
import io.dharmana.chunk.Chunkers;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.store.Stores;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writes through the runtime give the same chunks whether each chunk is handed to the codec and
 * I/O pools or, once the codec pool has chunks queued, encoded and stored by the writer's own
 * thread: many writers on a runtime with one codec thread take both paths, and every object must
 * list exactly the chunks it lists when written alone, and read back byte for byte.
 */
class StorageRuntimeWriteTest {
  private static final List<StageSpec> ZSTD = List.of(StageSpec.of("zstd", Map.of("level", "3")));

  private static List<ChunkRef> write(StorageRuntime runtime, byte[] data, PipelineMetrics metrics) throws Exception {
    StageChain chain = Stages.chain(ZSTD, StageContext.system());
    WrittenObject written = runtime.write(new ByteArrayInputStream(data), Chunkers.of(ChunkingSpec.DEFAULT), chain,
        metrics, data.length, true, ProgressListener.NONE);
    return written.chunks();
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32})
  void manyWritersOnOneCodecThreadStoreTheSameChunksAsOneWriterAlone(long seed) throws Exception {
    Random random = new Random(seed);
    int writers = 12;
    List<byte[]> objects = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      byte[] data = new byte[200_000 + random.nextInt(1_500_000)];
      random.nextBytes(data);
      // repeated stretches, so that some chunks are shared and others compress
      System.arraycopy(data, 0, data, data.length / 2, data.length / 4);
      objects.add(data);
    }
    List<List<ChunkRef>> alone = new ArrayList<>();
    try (StorageRuntime runtime = new StorageRuntime(new ChunkStore(Stores.memory()), 1, 8)) {
      for (byte[] data : objects) {
        alone.add(write(runtime, data, PipelineMetrics.disabled("test")));
      }
    }
    ChunkStore store = new ChunkStore(Stores.memory());
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    PipelineMetrics metrics = new PipelineMetrics("test");
    try (StorageRuntime runtime = new StorageRuntime(store, 1, 8)) {
      List<Future<List<ChunkRef>>> futures = new ArrayList<>();
      for (byte[] data : objects) {
        futures.add(pool.submit(() -> write(runtime, data, metrics)));
      }
      for (int i = 0; i < writers; i++) {
        List<ChunkRef> together = futures.get(i).get(60, TimeUnit.SECONDS);
        assertEquals(alone.get(i), together, "seed " + seed + ": object " + i + " got other chunks when written with others");
        ObjectManifest manifest = new ObjectManifest(ObjectManifest.FORMAT, "test", objects.get(i).length, "", ZSTD, false,
            together, List.of(), List.of(), Instant.EPOCH, Map.of());
        try (InputStream in = runtime.open(manifest, 0, manifest.size(), PipelineMetrics.disabled("test"), "object " + i)) {
          assertArrayEquals(objects.get(i), in.readAllBytes(), "seed " + seed + ": object " + i);
        }
      }
      long inline = metrics.snapshot("write").counter(StorageRuntime.INLINE_CHUNKS);
      long all = metrics.snapshot("write").counter(PipelineMetrics.CHUNKS);
      // both paths taken, or the test shows nothing
      assertTrue(inline > 0 && inline < all, "seed " + seed + ": " + inline + " of " + all + " chunks encoded by the writers' threads");
    } finally {
      pool.shutdownNow();
    }
  }
}
