package io.dharmana.dataset;

import io.dharmana.AlreadyExistsException;
import io.dharmana.dataset.internal.PackedSample;
import io.dharmana.dataset.internal.ShardFormat;
import io.dharmana.dataset.internal.ShardWriter;
import io.dharmana.dataset.internal.SourceReader;
import io.dharmana.internal.ExecutorTermination;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.stage.StageListener;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Packs directories, JSON Lines files and WebDataset tar shards into a dataset of Dharmana
 * shards (see the shard format in {@code io.dharmana.dataset.internal.ShardFormat}) plus an
 * index.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li><b>Atomic</b>: shards are committed one by one under {@code shards/}, and {@link
 *       DatasetIndex#KEY} is committed last, by an exclusive create. A dataset without an index
 *       does not exist for readers; a pack that fails deletes the shards it wrote, and a pack
 *       that finds shards without an index (debris of a crashed pack) deletes them first.
 *   <li><b>Parallel</b>: sources are read in order on the calling thread; shards are encoded and
 *       written on {@code threads} threads. At most {@code threads + 1} shards are held in memory.
 *   <li><b>Deterministic</b>: the same inputs, stages, shard size and block size give the same
 *       shard files and index, whatever the thread count.
 * </ul>
 */
public final class DatasetPacker {
  /** Default shard size, as MosaicML Streaming uses. */
  public static final long DEFAULT_SHARD_SIZE = 64L << 20;
  /** Default block size: samples are grouped into blocks of about this many bytes before encoding. */
  public static final int DEFAULT_BLOCK_SIZE = 1 << 20;
  static final String SHARD_PREFIX = "shards/";

  private final BlobStore store;
  private final String prefix;
  private final StageChain chain;
  private final long shardSize;
  private final int blockSize;
  private final int threads;
  private final PackProgress progress;
  private final StageListener listener;

  private DatasetPacker(Builder b) {
    this.store = b.store;
    this.prefix = b.prefix;
    this.chain = b.chain;
    this.shardSize = b.shardSize;
    this.blockSize = b.blockSize;
    this.threads = b.threads;
    this.progress = b.progress;
    this.listener = b.listener;
  }

  public static Builder builder(BlobStore store) {
    return new Builder(store);
  }

  /** Settings of a pack; each may be set once. */
  public static final class Builder {
    private final BlobStore store;
    private String prefix = "";
    private StageChain chain = new StageChain(List.of());
    private long shardSize = DEFAULT_SHARD_SIZE;
    private int blockSize = DEFAULT_BLOCK_SIZE;
    private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private PackProgress progress = PackProgress.NONE;
    private StageListener listener = StageListener.NONE;

    private Builder(BlobStore store) {
      this.store = Objects.requireNonNull(store, "store");
    }

    /** Key prefix of the dataset in the store ("" or ending in '/'). */
    public Builder prefix(String value) {
      if (!value.isEmpty() && !value.endsWith("/")) {
        throw new IllegalArgumentException("Invalid dataset prefix '" + value + "': must be empty or end with '/'");
      }
      prefix = value;
      return this;
    }

    /** The stages every block goes through (empty: stored as is). */
    public Builder stages(StageChain value) {
      chain = Objects.requireNonNull(value, "stages");
      return this;
    }

    /**
     * The stages every block goes through, by name and parameters as a descriptor gives them
     * (e.g. {@code StageSpec.of("zstd", Map.of("level", "3"))}); keys they need come from the
     * environment.
     *
     * @throws io.dharmana.InvalidDescriptorException naming an unknown stage or parameter
     */
    public Builder stages(List<StageSpec> specs) {
      return stages(Stages.chain(specs, StageContext.system()));
    }

    public Builder shardSize(long bytes) {
      if (bytes < 1024 || bytes > (1L << 40)) {
        throw new IllegalArgumentException("Invalid shard size " + bytes + ": allowed is 1 KiB .. 1 TiB");
      }
      shardSize = bytes;
      return this;
    }

    public Builder blockSize(int bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("Invalid block size " + bytes + ": must be positive");
      }
      blockSize = bytes;
      return this;
    }

    public Builder threads(int value) {
      if (value < 1 || value > 1024) {
        throw new IllegalArgumentException("Invalid thread count " + value + ": allowed is 1..1024");
      }
      threads = value;
      return this;
    }

    public Builder progress(PackProgress value) {
      progress = Objects.requireNonNull(value, "progress");
      return this;
    }

    public Builder stageListener(StageListener value) {
      listener = Objects.requireNonNull(value, "listener");
      return this;
    }

    public DatasetPacker build() {
      return new DatasetPacker(this);
    }
  }

  /**
   * Packs {@code inputs} in order and commits the dataset. Packs into one prefix must run one at a
   * time: a pack first removes the shards there that no index commits (what a pack that did not
   * finish left), which of a pack running meanwhile are its own ({@code dharmana dataset pack}
   * locks a local directory for its pack).
   *
   * @throws AlreadyExistsException if a dataset (an index) already exists at the prefix
   * @throws IllegalArgumentException if the inputs hold no sample: nothing is committed
   * @throws io.dharmana.InvalidDescriptorException naming the input when one is malformed
   */
  public DatasetIndex pack(List<Path> inputs) {
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("Invalid pack: no inputs given");
    }
    String indexKey = prefix + DatasetIndex.KEY;
    if (store.exists(indexKey)) {
      throw new AlreadyExistsException("Cannot pack into " + store + (prefix.isEmpty() ? "" : " " + prefix) + ": a dataset already exists there ("
          + DatasetIndex.KEY + ")");
    }
    removeDebris();
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "dharmana-pack");
      t.setDaemon(true);
      return t;
    });
    Semaphore inMemory = new Semaphore(threads + 1);
    List<Future<ShardInfo>> shards = new ArrayList<>();
    List<String> written = java.util.Collections.synchronizedList(new ArrayList<>());
    List<SourceInfo> sources = new ArrayList<>();
    AtomicInteger shardsDone = new AtomicInteger();
    AtomicLong bytesDone = new AtomicLong();
    long sampleCount = 0;
    long bytesRead = 0;
    boolean committed = false;
    try {
      List<PackedSample> current = new ArrayList<>();
      long currentBytes = 0;
      long currentFirst = 0;
      for (Path input : inputs) {
        long sourceFirst = sampleCount;
        try (SourceReader source = SourceReader.open(input)) {
          while (source.hasNext()) {
            PackedSample sample = source.next();
            current.add(sample);
            currentBytes += sample.size();
            sampleCount++;
            bytesRead += sample.size();
            progress.read(sampleCount, bytesRead);
            if (currentBytes >= shardSize) {
              shards.add(submit(pool, inMemory, current, currentFirst, shards.size(), written, shardsDone, bytesDone));
              current = new ArrayList<>();
              currentBytes = 0;
              currentFirst = sampleCount;
            }
          }
          sources.add(source.info(sourceFirst, sampleCount - sourceFirst));
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot read " + input + ": " + e.getMessage(), e);
        }
      }
      if (sampleCount == 0) {
        // an index of nothing would read as a dataset, and a loader over it yields no batch
        throw new IllegalArgumentException("Invalid pack: " + inputs.stream().map(Path::toString).collect(java.util.stream.Collectors.joining(", "))
            + (inputs.size() == 1 ? " holds" : " hold") + " no samples (an empty directory, JSON Lines file or tar)");
      }
      if (!current.isEmpty()) {
        shards.add(submit(pool, inMemory, current, currentFirst, shards.size(), written, shardsDone, bytesDone));
      }
      List<ShardInfo> infos = new ArrayList<>();
      long bytes = 0;
      long stored = 0;
      for (Future<ShardInfo> f : shards) {
        ShardInfo info = await(f);
        infos.add(info);
        bytes += info.bytes();
        stored += info.storedBytes();
      }
      DatasetIndex index = new DatasetIndex(DatasetIndex.FORMAT, DatasetIndex.VERSION, chain.specs(), sampleCount, bytes, stored, infos, sources);
      store.write(indexKey, index.toJson());
      committed = true;
      return index;
    } finally {
      pool.shutdownNow();
      if (!committed) {
        // running shard writes finish (or abort) before their shards are deleted
        ExecutorTermination.awaitAtMost(pool, java.time.Duration.ofMinutes(10));
        for (String key : List.copyOf(written)) {
          store.delete(key);
        }
      }
    }
  }

  private Future<ShardInfo> submit(ExecutorService pool, Semaphore inMemory, List<PackedSample> samples, long first, int number,
      List<String> written, AtomicInteger shardsDone, AtomicLong bytesDone) {
    inMemory.acquireUninterruptibly();
    String key = prefix + SHARD_PREFIX + String.format("shard-%06d%s", number, ShardFormat.EXTENSION);
    return pool.submit(() -> {
      try {
        BlobOutput out = store.create(key);
        ShardWriter.Result result;
        try {
          result = ShardWriter.write(samples, chain, blockSize, new java.io.BufferedOutputStream(out, 1 << 16) {
            @Override
            public void close() {
              // the BlobOutput is committed below, not through the buffer
            }
          }, listener);
        } catch (IOException | RuntimeException e) {
          out.abort();
          throw e;
        }
        out.close();
        written.add(key);
        progress.shardWritten(key, shardsDone.incrementAndGet(), bytesDone.addAndGet(result.bytes()));
        return new ShardInfo(key.substring(prefix.length()), first, result.samples(), result.bytes(), result.storedBytes(), result.sha256());
      } finally {
        inMemory.release();
      }
    });
  }

  private static ShardInfo await(Future<ShardInfo> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Cannot pack: interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof IOException io) {
        throw new UncheckedIOException("Cannot write shard: " + io.getMessage(), io);
      }
      throw new IllegalStateException("Cannot pack: " + cause, cause);
    }
  }

  /** Deletes shards a crashed pack left without an index. */
  private void removeDebris() {
    if (store instanceof SupportsListing listing) {
      try (Stream<BlobInfo> debris = listing.list(prefix + SHARD_PREFIX)) {
        debris.forEach(b -> store.delete(b.key()));
      }
    }
  }
}
