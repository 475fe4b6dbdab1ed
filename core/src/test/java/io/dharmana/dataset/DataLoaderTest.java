package io.dharmana.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DataLoaderTest {
  @TempDir Path tmp;
  Path datasetDir;
  DatasetIndex index;

  @BeforeEach
  void packDataset() throws IOException {
    Path src = tmp.resolve("src");
    DatasetPackTest.writeRandomTree(src, new Random(42), 347);
    datasetDir = tmp.resolve("ds");
    index = DatasetPackTest.pack(datasetDir, List.of(src), 256 * 1024, 32 * 1024);
  }

  static List<Long> indices(DataLoader loader) {
    List<Long> out = new ArrayList<>();
    for (Batch b : loader) {
      for (Sample s : b.samples()) {
        out.add(s.index());
      }
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void everySampleExactlyOncePerEpochAcrossFourRanksAndTwoWorkers(long seed) {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      List<Long> all = new ArrayList<>();
      List<Integer> partSizes = new ArrayList<>();
      for (int rank = 0; rank < 4; rank++) {
        for (int worker = 0; worker < 2; worker++) {
          try (DataLoader loader = DataLoader.builder(dataset).batchSize(7).shuffle(seed).shuffleBlock(50)
              .rank(rank, 4).worker(worker, 2).prefetch(3).readers(2).build()) {
            List<Long> part = indices(loader);
            partSizes.add(part.size());
            all.addAll(part);
          }
        }
      }
      List<Long> sorted = new ArrayList<>(all);
      sorted.sort(null);
      List<Long> expected = new ArrayList<>();
      for (long i = 0; i < index.samples(); i++) {
        expected.add(i);
      }
      assertEquals(expected, sorted, "seed " + seed + ": every sample exactly once across 8 parts");
      int min = partSizes.stream().mapToInt(Integer::intValue).min().orElseThrow();
      int max = partSizes.stream().mapToInt(Integer::intValue).max().orElseThrow();
      assertTrue(max - min <= 1, "seed " + seed + ": part sizes " + partSizes);
      assertNotEquals(expected, all, "seed " + seed + ": a shuffled epoch is not in dataset order");
    }
  }

  @Test
  void samplesMatchRandomAccessReads() {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "");
        DataLoader loader = DataLoader.builder(dataset).batchSize(16).prefetch(3).build()) {
      for (Batch b : loader) {
        for (Sample s : b.samples()) {
          Sample direct = dataset.sample(s.index());
          assertEquals(direct.key(), s.key());
          assertArrayEquals(direct.bytes(), s.bytes(), "sample " + s.index());
        }
        // closed batches give their arrays to the batches read after them
        b.close();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {8, 9})
  void backgroundReadersHandOutTheSameBatches(long seed) {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "");
        DataLoader normal = DataLoader.builder(dataset).batchSize(16).shuffle(seed).prefetch(3).build();
        DataLoader background = DataLoader.builder(dataset).batchSize(16).shuffle(seed).prefetch(3)
            .readerPriority(ReaderPriority.BACKGROUND).build()) {
      assertEquals("normal", normal.readerThreads());
      assertEquals(indices(normal), indices(background), "seed " + seed);
      // the readers' own account of their move; the kernel's is checked in HostSchedulingTest
      String how = background.readerThreads();
      assertTrue(how.equals("background (SCHED_IDLE)") || how.startsWith("not moved to the background: "), how);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {5, 6, 7})
  void sameSeedSameOrderOtherSeedOrEpochOtherOrder(long seed) {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      List<Long> a = indices(DataLoader.builder(dataset).batchSize(5).shuffle(seed).prefetch(0).readers(1).build());
      List<Long> b = indices(DataLoader.builder(dataset).batchSize(13).shuffle(seed).prefetch(8).readers(3).build());
      List<Long> c = indices(DataLoader.builder(dataset).batchSize(5).shuffle(seed + 1000).build());
      List<Long> d = indices(DataLoader.builder(dataset).batchSize(5).shuffle(seed).epoch(1).build());
      assertEquals(a, b, "seed " + seed + ": order must not depend on batch size, prefetch or readers");
      assertNotEquals(a, c, "seed " + seed + ": another seed gives another order");
      assertNotEquals(a, d, "seed " + seed + ": another epoch gives another order");
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13, 14, 15})
  void resumeFromAStateAtARandomPointYieldsTheExactRemainder(long seed) {
    Random random = new Random(seed);
    int batch = 1 + random.nextInt(20);
    int rank = random.nextInt(2);
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      List<Long> full = indices(DataLoader.builder(dataset).batchSize(batch).shuffle(seed).rank(rank, 2).build());
      List<Long> head = new ArrayList<>();
      String state;
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(batch).shuffle(seed).rank(rank, 2).prefetch(random.nextInt(5)).build()) {
        int stopAfter = random.nextInt((int) loader.batches() + 1);
        Iterator<Batch> it = loader.iterator();
        for (int i = 0; i < stopAfter; i++) {
          it.next().samples().forEach(s -> head.add(s.index()));
        }
        state = loader.state().toJson();
      }
      assertTrue(state.length() < 1024, "state is small: " + state);
      List<Long> tail = indices(DataLoader.builder(dataset).batchSize(batch).resume(LoaderState.parse(state)).prefetch(2).readers(3).build());
      List<Long> joined = new ArrayList<>(head);
      joined.addAll(tail);
      assertEquals(full, joined, "seed " + seed + ", batch " + batch + ", state " + state);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void resumeMidBatchThroughTheSampleIterator(long seed) {
    Random random = new Random(seed);
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      List<Long> full = indices(DataLoader.builder(dataset).batchSize(9).shuffle(seed).build());
      List<Long> head = new ArrayList<>();
      LoaderState state;
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(9).shuffle(seed).build()) {
        Iterator<Sample> it = loader.sampleIterator();
        int stop = random.nextInt(full.size());
        for (int i = 0; i < stop; i++) {
          head.add(it.next().index());
        }
        state = loader.state();
      }
      try (DataLoader rest = DataLoader.builder(dataset).batchSize(9).resume(state).build()) {
        rest.sampleIterator().forEachRemaining(s -> head.add(s.index()));
      }
      assertEquals(full, head, "seed " + seed + ": state " + state);
    }
  }

  @Test
  void aLoaderResumedAtTheEndOfItsEpochHasNothingLeftToRead() {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      LoaderState end;
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(9).shuffle(3).build()) {
        indices(loader);
        end = loader.state();
      }
      try (DataLoader rest = DataLoader.builder(dataset).batchSize(9).resume(end).build()) {
        assertTrue(rest.readsFinished(), end.toString());
        assertTrue(rest.whenReadsFinished().toCompletableFuture().isDone(), "nobody waits for reads that never come: " + end);
        assertTrue(!rest.iterator().hasNext(), end.toString());
      }
    }
  }

  @Test
  void prefetchAccuracyAndMemoryBound() {
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "")) {
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(8).prefetch(4).build()) {
        loader.prefetchAhead(); // later reads ahead come from the filler thread, when it gets a core
        indices(loader);
        LoaderStats stats = loader.stats();
        assertEquals(index.samples(), stats.samples());
        assertTrue(stats.prefetched() > 0, stats.toString());
        assertEquals(1.0, stats.prefetchAccuracy(), stats.toString());
      }
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(8).prefetch(6).build()) {
        Iterator<Batch> it = loader.iterator();
        it.next();
        it.next();
        // reads ahead are started by the loader's filler thread, every 250 µs
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (loader.stats().prefetched() == 0 && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
        LoaderStats stats = loader.stats();
        assertTrue(stats.prefetchAccuracy() < 1.0, "batches read ahead and never used count against accuracy: " + stats);
      }
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(8).prefetch(16).memoryLimit(0).build()) {
        indices(loader);
        double oneBatch = 8.0 * index.bytes() / index.samples();
        assertTrue(loader.stats().peakBufferedBytes() <= oneBatch + 1, "memory limit 0 keeps only the current batch: " + loader.stats());
        assertEquals(0, loader.stats().prefetched());
      }
    }
  }

  @Test
  void adaptivePrefetchGrowsWhenTheCallerWaitsWithinTheMemoryLimitAndKeepsTheOrder() throws IOException {
    // every read of a shard takes 3 ms: a caller that does no work between batches always waits
    try (BlobStore memory = unmappedCopy(-1, 0);
        BlobStore slow = beforeEveryRead(memory, () -> java.util.concurrent.locks.LockSupport.parkNanos(3_000_000));
        Dataset dataset = Dataset.open(slow, "")) {
      double oneBatch = 4.0 * index.bytes() / index.samples();
      long limit = (long) (6 * oneBatch);
      List<Long> fixed = indices(DataLoader.builder(dataset).batchSize(4).shuffle(5).prefetch(1).build());
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(4).shuffle(5).prefetch(1).adaptivePrefetch(true)
          .memoryLimit(limit).build()) {
        assertEquals(fixed, indices(loader), "the depth changes when batches are read, never which or in what order");
        LoaderStats stats = loader.stats();
        assertTrue(stats.prefetchDepth() > 1, "a caller that waited must have made the loader read further ahead: " + stats);
        assertTrue(stats.peakBufferedBytes() <= limit + oneBatch + 1, "the memory limit still bounds what is read ahead: " + stats);
      }
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(4).prefetch(1).build()) {
        indices(loader);
        assertEquals(1, loader.stats().prefetchDepth(), "a fixed depth stays where it was set");
      }
      // a loader started ahead (the next epoch's) has its first batches read before it is iterated
      try (DataLoader loader = DataLoader.builder(dataset).batchSize(4).shuffle(5).prefetch(3).build()) {
        loader.prefetchAhead();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (dataset.counters().storedBytesRead() == 0 && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
        assertTrue(dataset.counters().storedBytesRead() > 0, "reads started before iterating");
        assertEquals(fixed, indices(loader), "and the batches are the same");
        assertTrue(loader.stats().prefetched() >= 2, "batches 1 and 2 were read ahead at the start: " + loader.stats());
      }
    }
  }

  /** Runs before each positioned read of a blob. */
  private interface ReadHook {
    void beforeRead() throws IOException;
  }

  /** A store over {@code memory} that runs {@code hook} before every read of a blob's bytes. */
  private static BlobStore beforeEveryRead(BlobStore memory, ReadHook hook) {
    return new io.dharmana.store.ForwardingBlobStore(memory) {
      @Override
      public io.dharmana.store.BlobInput open(String key) {
        io.dharmana.store.BlobInput in = super.open(key);
        return new io.dharmana.store.BlobInput() {
          @Override
          public long length() {
            return in.length();
          }

          @Override
          public int read(long position, java.nio.ByteBuffer dst) throws IOException {
            hook.beforeRead();
            return in.read(position, dst);
          }

          @Override
          public void close() throws IOException {
            in.close();
          }
        };
      }
    };
  }

  /** A store over {@code memory} whose reads, once {@code closed}, wait for {@code open} and are counted in {@code waiting}. */
  private static BlobStore gated(BlobStore memory, java.util.concurrent.atomic.AtomicBoolean closed,
      java.util.concurrent.CountDownLatch open, java.util.concurrent.atomic.AtomicInteger waiting) {
    return beforeEveryRead(memory, () -> {
      if (closed.get()) {
        waiting.incrementAndGet();
        try {
          open.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
      }
    });
  }

  @Test
  void theFirstTakeStartsTheReadsAheadBeforeItWaitsAndReadsFinishedSaysWhenAllAreRead() throws Exception {
    var closed = new java.util.concurrent.atomic.AtomicBoolean();
    var open = new java.util.concurrent.CountDownLatch(1);
    var waiting = new java.util.concurrent.atomic.AtomicInteger();
    var consumer = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (BlobStore memory = unmappedCopy(-1, 0); BlobStore store = gated(memory, closed, open, waiting);
        Dataset dataset = Dataset.open(store, "")) {
      List<Long> expected = indices(DataLoader.builder(dataset).batchSize(1).prefetch(3).readers(2).build());
      dataset.sample(1); // the first shard is open: a read of batch 1 need not wait for batch 0's opening it
      DataLoader loader = DataLoader.builder(dataset).batchSize(1).prefetch(3).readers(2).build();
      try {
        assertTrue(!loader.readsFinished(), "nothing is read yet");
        closed.set(true);
        Iterator<Batch> it = loader.iterator();
        java.util.concurrent.Future<Batch> first = consumer.submit(it::next);
        // batch 0 is one read on one reader; the other reader must already be reading batch 1
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (waiting.get() < 2 && System.nanoTime() < deadline) {
          Thread.sleep(1);
        }
        assertEquals(2, waiting.get(), "while the first take waits for batch 0, batch 1 is read too");
        assertTrue(!first.isDone(), "the first batch is still being read");
        open.countDown();
        List<Long> got = new ArrayList<>();
        try (Batch b = first.get()) {
          b.samples().forEach(s -> got.add(s.index()));
        }
        while (it.hasNext()) {
          if (got.size() == expected.size() - 1) {
            // completes without polling the loader once the last read ends
            loader.whenReadsFinished().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(loader.readsFinished(), "the last batch, read ahead, leaves no read to do: " + loader.stats());
          } else if (got.size() < expected.size() - 4) {
            assertTrue(!loader.readsFinished(), "batches are left to read after batch " + got.size());
            assertTrue(!loader.whenReadsFinished().toCompletableFuture().isDone(), "batches are left to read after batch " + got.size());
          }
          try (Batch b = it.next()) {
            b.samples().forEach(s -> got.add(s.index()));
          }
        }
        assertEquals(expected, got, "the batches are those of a loader that never waited");
        assertTrue(loader.readsFinished());
      } finally {
        open.countDown(); // a take still waiting holds the loader's lock, which close() takes
        loader.close();
      }
    } finally {
      open.countDown();
      consumer.shutdownNow();
    }
  }

  @Test
  void cacheTierCountsHitsAndNeverEvictsTheOnlyCopy() throws IOException {
    long shardBytes = index.shards().get(0).storedBytes();
    try (BlobStore store = Stores.local(datasetDir, false);
        BlobStore cacheStore = Stores.local(tmp.resolve("cache"), false);
        Dataset dataset = Dataset.open(store, "", cacheStore, 2 * shardBytes + 1)) {
      List<Long> seen = indices(DataLoader.builder(dataset).batchSize(10).readers(1).prefetch(0).build());
      assertEquals(index.samples(), seen.size());
      ShardCacheStats stats = dataset.counters();
      assertEquals(index.shards().size(), stats.misses(), "one miss per shard in sequential order: " + stats);
      assertEquals(index.samples() - index.shards().size(), stats.hits(), stats.toString());
      assertTrue(stats.evictions() >= index.shards().size() - 3, "cache kept within about 2 shards: " + stats);
      // the last shards are cached; remove the source copy of one: the cache must keep it
      String last = index.shards().get(index.shards().size() - 1).key();
      assertTrue(Files.exists(tmp.resolve("cache").resolve(last)));
      Files.delete(datasetDir.resolve(last));
      dataset.sample(0);
      dataset.sample(index.shards().get(1).firstSample());
      dataset.sample(index.shards().get(2).firstSample());
      assertTrue(dataset.counters().evictionsRefused() > 0, dataset.counters().toString());
      assertTrue(Files.exists(tmp.resolve("cache").resolve(last)), "the only copy of " + last + " must not be evicted");
    }
  }

  @Test
  void corruptionSeenThroughTheLoaderNamesShardAndSample() throws IOException {
    ShardInfo shard = index.shards().get(2);
    Path file = datasetDir.resolve(shard.key());
    byte[] bytes = Files.readAllBytes(file);
    bytes[300] ^= 1;
    Files.delete(file);
    Files.write(file, bytes);
    try (BlobStore store = Stores.local(datasetDir, false); Dataset dataset = Dataset.open(store, "");
        DataLoader loader = DataLoader.builder(dataset).batchSize(4).prefetch(2).build()) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> indices(loader));
      assertTrue(e.getMessage().contains(shard.key()) && e.getMessage().contains("sample "), e.getMessage());
    }
  }

  /** The dataset's files in a memory store, whose inputs cannot be mapped: samples are read into buffers. */
  BlobStore unmappedCopy(int corruptShard, int corruptByte) throws IOException {
    BlobStore memory = Stores.memory();
    try (var files = Files.walk(datasetDir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String key = datasetDir.relativize(f).toString().replace('\\', '/');
        byte[] bytes = Files.readAllBytes(f);
        if (corruptShard >= 0 && key.equals(index.shards().get(corruptShard).key())) {
          bytes[corruptByte] ^= 1;
        }
        memory.write(key, bytes);
      }
    }
    return memory;
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void mappedAndPositionedReadsGiveTheSameBatches(long seed) throws IOException {
    try (BlobStore local = Stores.local(datasetDir, false); Dataset mapped = Dataset.open(local, "");
        BlobStore memory = unmappedCopy(-1, 0); Dataset unmapped = Dataset.open(memory, "")) {
      for (boolean shuffle : new boolean[] {false, true}) {
        DataLoader.Builder a = DataLoader.builder(mapped).batchSize(9).prefetch(2).readers(2);
        DataLoader.Builder b = DataLoader.builder(unmapped).batchSize(9).prefetch(2).readers(2);
        if (shuffle) {
          a.shuffle(seed).shuffleBlock(40);
          b.shuffle(seed).shuffleBlock(40);
        }
        try (DataLoader la = a.build(); DataLoader lb = b.build()) {
          Iterator<Batch> ib = lb.iterator();
          for (Batch x : la) {
            Batch y = ib.next();
            assertEquals(x.size(), y.size(), "seed " + seed + " shuffle " + shuffle);
            for (int i = 0; i < x.size(); i++) {
              Sample sa = x.samples().get(i);
              Sample sb = y.samples().get(i);
              assertEquals(sa.key(), sb.key(), "seed " + seed + " shuffle " + shuffle);
              assertArrayEquals(sa.bytes(), sb.bytes(), "seed " + seed + " shuffle " + shuffle + " sample " + sa.index());
            }
            x.close();
            y.close();
          }
          assertTrue(!ib.hasNext(), "seed " + seed);
        }
      }
    }
  }

  @Test
  void corruptionSeenThroughPositionedReadsNamesShardAndSample() throws IOException {
    ShardInfo shard = index.shards().get(1);
    try (BlobStore memory = unmappedCopy(1, 300); Dataset dataset = Dataset.open(memory, "");
        DataLoader loader = DataLoader.builder(dataset).batchSize(4).prefetch(2).shuffle(3).build()) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> indices(loader));
      assertTrue(e.getMessage().contains(shard.key()) && e.getMessage().contains("sample "), e.getMessage());
    }
  }
}
