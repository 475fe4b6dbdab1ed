package io.dharmana.dataset;

import io.dharmana.dataset.internal.BufferPool;
import io.dharmana.dataset.internal.EpochOrder;
import io.dharmana.dataset.internal.ShardCounters;
import io.dharmana.dataset.internal.ShardSource;
import io.dharmana.internal.ExecutorTermination;
import io.dharmana.runtime.HostScheduling;
import io.dharmana.stage.StageListener;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Streams one epoch of a {@link Dataset} as batches: this rank's and worker's part of the
 * epoch's order, decoded on a pool of reader threads with asynchronous prefetch.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li><b>Order</b>: a pure function of the dataset, seed, epoch, shuffle block, world size and
 *       workers (see {@link #builder}); the same settings give the same batches in every run.
 *   <li><b>Partition</b>: the {@code worldSize × workers} parts of an epoch are disjoint and
 *       together hold every sample exactly once (sizes differ by at most one sample).
 *   <li><b>Resume</b>: {@link #state()} after {@code k} batches describes the position exactly; a
 *       loader built with {@link Builder#resume} yields the samples the original would have
 *       yielded after those {@code k} batches, in the same order.
 *   <li><b>Prefetch</b>: while the caller works on batch {@code k}, batches {@code k+1 ..
 *       k+prefetch} are read and decoded, as long as their estimated decoded size (from the index's
 *       average sample size) stays within the memory limit; the next batch is always allowed. While
 *       the caller finds its batches ready, a filler thread tops the window up every 250 µs, so
 *       that the caller's thread does not wake readers: on a busy machine a woken reader takes the
 *       caller's core, and the caller's time in {@code next()} is time the accelerator waits (on 2
 *       cores at 1.7 ms per batch: utilization 0.95 → 0.965, wait p50 halved). With
 *       {@link Builder#adaptivePrefetch}, the depth grows by one batch each time the caller has to
 *       wait for a batch, so it settles where reads absorb the jitter of this machine and store.
 *   <li>One iteration per loader; the loader is for one consumer thread. {@link #close()} stops
 *       the readers; it does not close the dataset.
 *   <li><b>Buffers</b>: closing a {@link Batch} once done with it lets the loader reuse the arrays
 *       its samples were read into (optional; unclosed batches are garbage collected). Samples of
 *       uncompressed shards on a local store are read-only views of the mapped shard file and use
 *       no such arrays.
 * </ul>
 */
public final class DataLoader implements Iterable<Batch>, AutoCloseable {
  /** Most samples read with one positioned read; bounds the size of one read. */
  private static final int MAX_RUN = 64;
  private final Dataset dataset;
  private final ShardSource shards;
  private final int batchSize;
  private final boolean adaptive;
  private final int readers;
  private final long memoryLimit;
  private final LoaderState start;
  private final int[] order;
  private final long begin;
  private final long end;
  private final long batches;
  private final double averageSampleBytes;
  private final ExecutorService pool;
  private final ReaderPriority priority;
  // what the first reader thread's request for its priority came to, for reports
  private volatile String readerThreads;
  private final ShardCounters shardReads = new ShardCounters();
  private final BufferPool buffersPool;
  // bound once here: a method reference's first evaluation links it (milliseconds in a fresh JVM),
  // which on the first take() would be the accelerator's wait
  private final Consumer<ByteBuffer> recycle;

  private final Deque<Pending> pending = new ArrayDeque<>();
  private long nextToSubmit;
  private long nextToHand;
  private volatile long handedSamples;
  // samples of the last batch not yet handed out through sampleIterator
  private volatile long heldBack;
  private long handedBytes;
  private long prefetched;
  private long prefetchedUsed;
  private long bufferedBytes;
  private long peakBufferedBytes;
  // grows only when adaptive (under the lock); volatile so that prefetchDepth() does not take the
  // lock, which the filler thread holds at times, on the consumer's path between batches
  private volatile int prefetch;
  private boolean iterated;
  private boolean closed;
  // reader tasks submitted and not yet finished, and whether every batch is submitted: together
  // they complete allRead, which threads wait on without polling the loader's lock
  private final AtomicInteger partsRunning = new AtomicInteger();
  private volatile boolean allSubmitted;
  private final CompletableFuture<Void> allRead = new CompletableFuture<>();

  private record Pending(long number, List<Future<Part>> parts, long estimatedBytes, boolean prefetched) {}

  /** Samples read by one reader task, their total bytes, and the pooled arrays they live in. */
  private record Part(Sample[] samples, long bytes, List<java.nio.ByteBuffer> buffers) {}

  private DataLoader(Builder b) {
    this.dataset = b.dataset;
    this.shards = dataset.shardSource();
    this.batchSize = b.batchSize;
    this.prefetch = b.prefetch;
    this.adaptive = b.adaptive;
    this.readers = b.readers;
    this.memoryLimit = b.memoryLimit;
    LoaderState s = b.resume != null
        ? b.resume
        : new LoaderState(dataset.fingerprint(), b.seed, b.epoch, b.shuffle, b.shuffleBlock, b.rank, b.worldSize, b.worker, b.workers, 0);
    if (!s.dataset().equals(dataset.fingerprint())) {
      throw new IllegalArgumentException("Invalid loader state: it is for dataset " + s.dataset() + ", this dataset is " + dataset.fingerprint());
    }
    this.start = s;
    DatasetIndex index = dataset.index();
    long[] first = new long[index.shards().size()];
    int[] counts = new int[first.length];
    for (int i = 0; i < first.length; i++) {
      first[i] = index.shards().get(i).firstSample();
      counts[i] = index.shards().get(i).samples();
    }
    this.order = EpochOrder.global(first, counts, s.seed(), s.epoch(), s.shuffle(), s.shuffleBlock());
    int parts = s.worldSize() * s.workers();
    int part = s.rank() * s.workers() + s.worker();
    long partBegin = EpochOrder.partStart(order.length, part, parts);
    this.end = EpochOrder.partStart(order.length, part + 1, parts);
    if (s.consumed() > end - partBegin) {
      throw new IllegalArgumentException("Invalid loader state: consumed " + s.consumed() + " of a part of " + (end - partBegin) + " samples");
    }
    this.begin = partBegin + s.consumed();
    this.batches = (end - begin + batchSize - 1) / batchSize;
    this.averageSampleBytes = index.samples() == 0 ? 0 : (double) index.bytes() / index.samples();
    this.priority = b.priority;
    this.readerThreads = priority == ReaderPriority.NORMAL ? "normal" : "not started";
    this.pool = Executors.newFixedThreadPool(readers, r -> loaderThread(r, "dharmana-loader"));
    // enough for the batches read ahead plus the one in use
    this.buffersPool = new BufferPool(memoryLimit + 2L * batchSize * (long) Math.max(averageSampleBytes, 1));
    this.recycle = buffersPool::give;
    if (batches == 0) {
      lastSubmitted();
    }
  }

  /**
   * A loader of {@code dataset}. Defaults: batch 32, sequential order (no shuffle), epoch 0, one
   * rank and one worker, prefetch 2 batches, 2 reader threads, 256 MiB of prefetched batches.
   */
  public static Builder builder(Dataset dataset) {
    return new Builder(dataset);
  }

  /** Settings of a loader. */
  public static final class Builder {
    private final Dataset dataset;
    private int batchSize = 32;
    private long seed;
    private boolean shuffle;
    private int shuffleBlock = 1 << 16;
    private long epoch;
    private int rank;
    private int worldSize = 1;
    private int worker;
    private int workers = 1;
    private int prefetch = 2;
    private boolean adaptive;
    private int readers = 2;
    private ReaderPriority priority = ReaderPriority.NORMAL;
    private long memoryLimit = 256L << 20;
    private LoaderState resume;

    private Builder(Dataset dataset) {
      this.dataset = Objects.requireNonNull(dataset, "dataset");
    }

    public Builder batchSize(int value) {
      if (value < 1) {
        throw new IllegalArgumentException("Invalid batch size " + value + ": must be >= 1");
      }
      batchSize = value;
      return this;
    }

    /** Shuffles each epoch deterministically from {@code seed} (block shuffle, see {@link #shuffleBlock}). */
    public Builder shuffle(long value) {
      seed = value;
      shuffle = true;
      return this;
    }

    /** Samples per shuffle block: larger mixes more, and makes readers touch more shards at a time. */
    public Builder shuffleBlock(int samples) {
      if (samples < 1) {
        throw new IllegalArgumentException("Invalid shuffle block " + samples + ": must be >= 1");
      }
      shuffleBlock = samples;
      return this;
    }

    public Builder epoch(long value) {
      if (value < 0) {
        throw new IllegalArgumentException("Invalid epoch " + value + ": must be >= 0");
      }
      epoch = value;
      return this;
    }

    /** This process is {@code rank} of {@code worldSize} ranks. */
    public Builder rank(int value, int ofWorldSize) {
      if (ofWorldSize < 1) {
        throw new IllegalArgumentException("Invalid world size " + ofWorldSize + ": must be >= 1");
      }
      if (value < 0 || value >= ofWorldSize) {
        throw new IllegalArgumentException("Invalid rank " + value + " of world size " + ofWorldSize + ": allowed is 0.." + (ofWorldSize - 1));
      }
      rank = value;
      worldSize = ofWorldSize;
      return this;
    }

    /** This loader is worker {@code value} of {@code ofWorkers} data-loading workers of its rank. */
    public Builder worker(int value, int ofWorkers) {
      if (ofWorkers < 1) {
        throw new IllegalArgumentException("Invalid worker count " + ofWorkers + ": must be >= 1");
      }
      if (value < 0 || value >= ofWorkers) {
        throw new IllegalArgumentException("Invalid worker " + value + " of " + ofWorkers + ": allowed is 0.." + (ofWorkers - 1));
      }
      worker = value;
      workers = ofWorkers;
      return this;
    }

    /** Batches read ahead while the caller works on the current one (0: read on demand). */
    public Builder prefetch(int batches) {
      if (batches < 0 || batches > 4096) {
        throw new IllegalArgumentException("Invalid prefetch " + batches + ": allowed is 0..4096");
      }
      prefetch = batches;
      return this;
    }

    /**
     * Starts at the {@link #prefetch} depth and reads one more batch ahead each time the caller
     * had to wait for a batch (the first excepted), up to 4096 and always within the {@link
     * #memoryLimit}: the depth that keeps an accelerator fed depends on the jitter of the store,
     * the machine and the caller's step time, which a fixed setting can only guess (tf.data's
     * AUTOTUNE does the same for its buffers).
     */
    public Builder adaptivePrefetch(boolean value) {
      adaptive = value;
      return this;
    }

    /** Threads reading and decoding samples. */
    public Builder readers(int threads) {
      if (threads < 1 || threads > 256) {
        throw new IllegalArgumentException("Invalid readers " + threads + ": allowed is 1..256");
      }
      readers = threads;
      return this;
    }

    /** How the reader threads share the CPU with the consumer's thread; {@link ReaderPriority#NORMAL} by default. */
    public Builder readerPriority(ReaderPriority value) {
      priority = Objects.requireNonNull(value, "priority");
      return this;
    }

    /** Bound on the decoded bytes of batches read ahead. */
    public Builder memoryLimit(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("Invalid memory limit " + bytes + ": must be >= 0");
      }
      memoryLimit = bytes;
      return this;
    }

    /** Continues from a state; it sets the seed, shuffle, epoch, rank and worker. */
    public Builder resume(LoaderState state) {
      resume = Objects.requireNonNull(state, "state");
      return this;
    }

    public DataLoader build() {
      return new DataLoader(this);
    }
  }

  /** Batches this loader will hand out in total. */
  public long batches() {
    return batches;
  }

  /** Samples this loader will hand out in total. */
  public long samples() {
    return end - begin;
  }

  /** The position after the batches (or, through {@link #sampleIterator}, the samples) handed out so far. */
  public LoaderState state() {
    LoaderState s = start;
    return new LoaderState(s.dataset(), s.seed(), s.epoch(), s.shuffle(), s.shuffleBlock(), s.rank(), s.worldSize(), s.worker(), s.workers(),
        s.consumed() + handedSamples - heldBack);
  }

  /**
   * The same epoch one sample at a time (batches are still read and prefetched whole). Use either
   * this or {@link #iterator()}, once; {@link #state()} then counts samples handed out.
   */
  public Iterator<Sample> sampleIterator() {
    Iterator<Batch> batchIterator = iterator();
    return new Iterator<>() {
      private Iterator<Sample> current = java.util.Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext()) {
          if (!batchIterator.hasNext()) {
            return false;
          }
          Batch b = batchIterator.next();
          heldBack = b.size();
          current = b.samples().iterator();
        }
        return true;
      }

      @Override
      public Sample next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        heldBack--;
        return current.next();
      }
    };
  }

  /**
   * Starts reading the first batches ahead, as iterating would, without handing any out: a loader
   * built for the next epoch while the current one is still consumed is ready when that one ends,
   * so the accelerator does not wait at the epoch boundary. Its reads count against its own memory
   * limit. Call it from any thread: the reads and the threads they need start on the calling
   * thread, off the consumer's.
   */
  public synchronized void prefetchAhead() {
    if (!closed) {
      submitUpTo(nextToHand + prefetch - 1);
      // now, not on the caller's first take: starting a thread there costs the caller ~0.3 ms
      startFiller();
    }
  }

  /**
   * Whether every batch is submitted and read: the batches not yet handed out wait read ahead, and
   * the reader threads are idle from now on. A loader for the next epoch that starts reading earlier
   * takes the cores from this one's last reads.
   */
  public boolean readsFinished() {
    return allRead.isDone();
  }

  /**
   * Completes when {@link #readsFinished()} becomes true (also when a read failed); never, if the
   * loader is closed before.
   */
  public CompletionStage<Void> whenReadsFinished() {
    return allRead.minimalCompletionStage();
  }

  /** A reader task ended: the last one after the last submit completes {@link #allRead}. */
  private void partDone() {
    if (partsRunning.decrementAndGet() == 0 && allSubmitted) {
      allRead.complete(null);
    }
  }

  /** How the reader threads run: "normal", or the outcome of moving them to the background. */
  public String readerThreads() {
    return readerThreads;
  }

  /** A daemon thread of this loader, moved to the background first if its readers are. */
  private Thread loaderThread(Runnable work, String name) {
    Thread t = new Thread(() -> {
      if (priority == ReaderPriority.BACKGROUND) {
        readerThreads = HostScheduling.background().description();
      }
      work.run();
    }, name);
    t.setDaemon(true);
    return t;
  }

  /** Batches read ahead of the caller now (an adaptive loader's depth grows as the caller waits). */
  public int prefetchDepth() {
    return prefetch;
  }

  public synchronized LoaderStats stats() {
    return new LoaderStats(nextToHand, handedSamples, handedBytes, prefetched, prefetchedUsed, peakBufferedBytes, prefetch,
        shardReads.snapshot());
  }

  @Override
  public synchronized Iterator<Batch> iterator() {
    if (iterated) {
      throw new IllegalStateException("Cannot iterate a DataLoader twice: build a new one (resume from state() to continue)");
    }
    iterated = true;
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return nextToHand < batches;
      }

      @Override
      public Batch next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return take();
      }
    };
  }

  private synchronized Batch take() {
    if (closed) {
      throw new IllegalStateException("Cannot read from a closed DataLoader");
    }
    long k = nextToHand;
    // The first take submits the reads ahead too, before it waits: the readers that finish the
    // first batch go on to the next ones instead of idling while this thread, still running cold
    // code, hands the first batch out (~10 ms at a JVM's start).
    submitUpTo(nextToSubmit == 0 ? Math.max(k, k + prefetch - 1) : k);
    Pending p = pending.removeFirst();
    boolean ready = true;
    for (Future<Part> part : p.parts) {
      ready &= part.isDone();
    }
    if (adaptive && k > 0 && prefetch < 4096 && !ready) {
      prefetch++; // the caller waits now: read one more batch ahead from here on
    }
    // the consumer's time here is time the accelerator waits: gather the parts without copying
    // samples twice or walking them again for their size (the readers summed it)
    Sample[] samples;
    List<java.nio.ByteBuffer> buffers;
    long bytes = 0;
    if (p.parts.size() == 1) {
      Part got = await(p.parts.get(0));
      samples = got.samples();
      buffers = got.buffers();
      bytes = got.bytes();
    } else {
      List<Part> got = new ArrayList<>(p.parts.size());
      int count = 0;
      for (Future<Part> part : p.parts) {
        Part one = await(part);
        got.add(one);
        count += one.samples().length;
      }
      samples = new Sample[count];
      buffers = new ArrayList<>();
      int at = 0;
      for (Part one : got) {
        System.arraycopy(one.samples(), 0, samples, at, one.samples().length);
        at += one.samples().length;
        buffers.addAll(one.buffers());
        bytes += one.bytes();
      }
    }
    bufferedBytes -= p.estimatedBytes;
    if (p.prefetched) {
      prefetchedUsed++;
    }
    Batch batch = new Batch(k, samples, bytes, buffers, recycle);
    nextToHand++;
    handedSamples += samples.length;
    handedBytes += bytes;
    // A caller that found its batch ready is ahead of the reads: the filler thread starts the
    // reads ahead, since a reader woken by the caller's thread takes its core on a busy machine
    // and the caller's time here is the accelerator's wait. A caller that had to wait (reads are
    // the bottleneck), or with nothing read ahead at all, starts them now.
    if (!ready || nextToSubmit <= nextToHand) {
      submitUpTo(nextToHand + prefetch - 1);
    }
    startFiller();
    return batch;
  }

  private Thread filler;

  /**
   * Keeps {@code prefetch} batches submitted ahead of the caller, checking every 250 µs, until
   * every batch is submitted or the loader closes.
   */
  private void startFiller() {
    if (filler != null || prefetch == 0 || closed) {
      return;
    }
    filler = loaderThread(() -> {
      while (true) {
        synchronized (this) {
          if (closed || nextToSubmit >= batches) {
            return;
          }
          submitUpTo(nextToHand + prefetch - 1);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(250_000);
      }
    }, "dharmana-loader-filler");
    filler.start();
  }

  /** Submits batches up to {@code last} (inclusive), within the memory limit; batch {@code nextToHand} always. */
  private void submitUpTo(long last) {
    while (nextToSubmit <= last && nextToSubmit < batches) {
      long from = begin + nextToSubmit * batchSize;
      long to = Math.min(end, from + batchSize);
      long estimate = (long) ((to - from) * averageSampleBytes);
      if (nextToSubmit > nextToHand && bufferedBytes + estimate > memoryLimit) {
        return;
      }
      boolean ahead = nextToSubmit > nextToHand;
      pending.addLast(new Pending(nextToSubmit, submitParts(from, to, ahead && prefetch >= readers ? 1 : readers), estimate, ahead));
      if (ahead) {
        prefetched++;
      }
      bufferedBytes += estimate;
      peakBufferedBytes = Math.max(peakBufferedBytes, bufferedBytes);
      nextToSubmit++;
    }
    if (nextToSubmit >= batches && !allSubmitted) {
      lastSubmitted();
    }
  }

  /** Every batch is submitted: the reads finish when those still running do. */
  private void lastSubmitted() {
    allSubmitted = true;
    if (partsRunning.get() == 0) {
      allRead.complete(null);
    }
  }

  /**
   * Splits a batch into {@code split} reader tasks. The batch the caller waits for is split across
   * all readers; when enough batches are read ahead to keep every reader busy, a batch read ahead
   * is one task, so that handing out a batch wakes one reader, not all: a woken reader can take
   * the caller's CPU, and the caller's time in {@link #take} is time the accelerator waits.
   */
  private List<Future<Part>> submitParts(long from, long to, int split) {
    int n = (int) (to - from);
    int parts = Math.max(1, Math.min(split, n));
    List<Future<Part>> futures = new ArrayList<>(parts);
    for (int p = 0; p < parts; p++) {
      long a = from + (long) n * p / parts;
      long b = from + (long) n * (p + 1) / parts;
      partsRunning.incrementAndGet();
      futures.add(pool.submit(() -> {
        try {
          return readRange(a, b);
        } finally {
          partDone();
        }
      }));
    }
    return futures;
  }

  private Part readRange(long from, long to) {
    DatasetIndex index = dataset.index();
    Sample[] out = new Sample[(int) (to - from)];
    List<java.nio.ByteBuffer> taken = new ArrayList<>();
    long bytes = 0;
    int i = (int) from;
    while (i < to) {
      int sample = order[i];
      int shard = index.shardOf(sample);
      long shardFirst = index.shards().get(shard).firstSample();
      long shardEnd = shardFirst + index.shards().get(shard).samples();
      // a run of consecutive samples of one shard (sequential order) is read in one go
      int run = 1;
      while (i + run < to && run < MAX_RUN && order[i + run] == sample + run && sample + run < shardEnd) {
        run++;
      }
      Sample[] got = shards.readRun(shard, (int) (sample - shardFirst), run, StageListener.NONE, buffersPool, taken, shardReads);
      System.arraycopy(got, 0, out, (int) (i - from), run);
      for (Sample s : got) {
        bytes += s.size();
      }
      i += run;
    }
    return new Part(out, bytes, taken);
  }

  private static Part await(Future<Part> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Cannot read batch: interrupted", e);
    } catch (CancellationException e) {
      throw new IllegalStateException("Cannot read batch: the loader was closed", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("Cannot read batch: " + cause, cause);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    // never interrupt a running read: an interrupt closes the shard's shared FileChannel
    for (Pending p : pending) {
      for (Future<Part> f : p.parts) {
        f.cancel(false);
      }
    }
    pending.clear();
    pool.shutdown();
    // reads already running finish before the caller may close the dataset under them
    ExecutorTermination.awaitAtMost(pool, java.time.Duration.ofMinutes(1));
  }
}
