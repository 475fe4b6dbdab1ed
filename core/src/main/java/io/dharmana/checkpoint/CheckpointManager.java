package io.dharmana.checkpoint;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.chunk.ChunkStore;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Ref;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.codec.FloatCodec;
import io.dharmana.tensor.codec.FloatCodecOptions;
import io.dharmana.tensor.lossy.BlockQuantizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one training run in a {@link Repository}: asynchronous save, atomic
 * multi-rank commit, incremental (delta) chains, deduplication of identical tensors, retention
 * and verified restore.
 *
 * <h2>Layout (objects of the repository)</h2>
 *
 * <pre>
 * checkpoints/RUN/shards/STEP/RANK   one rank's tensor table for a step (JSON, see ShardTable)
 * checkpoints/RUN/steps/STEP         the commit point of a step: {"world":W,"shards":[manifest ids]}
 * </pre>
 *
 * STEP is zero-padded to 20 digits and RANK to 5, so names sort numerically. Each tensor's encoded
 * bytes are an unnamed object ({@link Repository#writeChunks}) through the {@value #PIPELINE} pipeline
 * (fixed 1 MiB chunks, no stage: the bytes are already float-coded); its manifest records the raw
 * SHA-256, dtype, codec and, for a delta, the manifest of its parent and includes it, so garbage
 * collection keeps a chain alive as long as any step needs it. A shard's object includes its
 * tensors' manifests and a step's object includes its shards': deleting a step's name (prune)
 * never breaks a step that is kept.
 *
 * <h2>Commit protocol</h2>
 *
 * A rank writes the chunks and manifests of all its tensors, makes them durable with one commit
 * barrier ({@link Repository#sync}, not one per tensor or manifest), then writes its shard object
 * (replacing a stale shard a crashed earlier attempt left), then checks whether all {@code world} shards of the step exist; if so it creates
 * the step object with expected version 0. Racing committers: exactly one create wins, the others
 * see the step already committed. A step is complete exactly when its step object exists, so a
 * rank that dies mid-save leaves the step invisible; {@link #latest} is the highest complete step.
 * Unnamed tensors of a dead save are removed by {@link Repository#gc}; shards of a step that never
 * completed are removed by {@link #prune} once a later step is complete.
 *
 * <h2>Saving</h2>
 *
 * {@link #save} blocks only while the tensors are copied into staging buffers (by the caller's
 * thread and a few helpers, see {@link SnapshotCopier}); it then returns a
 * future, and hashing, encoding and writing run on background threads, one save after another in
 * the order they were made. At most {@link CheckpointOptions#maxInFlight()} saves are staged or
 * being written; a further save waits for one to finish, so host memory is bounded and, for
 * states of the same shapes, not allocated again (see {@link #stagingAllocations}). A tensor whose
 * raw bytes equal a tensor already stored by this run (any step, any name) reuses that stored
 * encoding and costs nothing. Otherwise it is float-coded as a delta against the same tensor of
 * this rank's previous save while that keeps its chain shorter than {@link
 * CheckpointOptions#fullEvery()}, else whole.
 *
 * <p>Thread-safe. Several managers (processes, ranks) may use one run at once; each rank must be
 * saved by one manager at a time.
 */
public final class CheckpointManager implements AutoCloseable {
  /** The pipeline tensors are written through; created in the repository when missing. */
  public static final String PIPELINE = "checkpoint";
  static final String ROOT = "checkpoints/";
  private static final String A_CODEC = "checkpoint.codec";
  private static final String A_DTYPE = "checkpoint.dtype";
  private static final String A_SIZE = "checkpoint.size";
  private static final String A_SHA = "checkpoint.sha256";
  private static final String A_PARENT = "checkpoint.parent";
  private static final String A_DEPTH = "checkpoint.depth";

  private final Repository repo;
  private final String run;
  private final CheckpointOptions options;
  private final Clock clock;
  private final FloatCodec codec = FloatCodec.create(FloatCodecOptions.DEFAULT);
  private final StagingPool staging;
  private final SnapshotCopier copier;
  private final ExecutorService committer;
  private final ExecutorService encoders;
  /** Stores a step's tensor manifests side by side (on a tier without packs, a file or object each). */
  private final ExecutorService io;
  /** Raw SHA-256 to an entry already stored by this run: the dedup index. */
  private final Map<String, TensorEntry> stored = new ConcurrentHashMap<>();
  private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
  private final Object saveLock = new Object();
  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);
  /** This rank's last saved table: delta parents. Only the committer thread changes it. */
  private volatile ShardTable previous;
  private volatile boolean closed;

  private CheckpointManager(Repository repo, String run, CheckpointOptions options, Clock clock) {
    this.repo = repo;
    this.run = run;
    this.options = options;
    this.clock = clock;
    this.staging = new StagingPool(options.maxInFlight());
    // memory bandwidth, not cores, bounds a copy: a few threads reach it
    this.copier = new SnapshotCopier(Math.min(4, Math.max(1, Runtime.getRuntime().availableProcessors())));
    this.committer = Executors.newSingleThreadExecutor(daemon("dharmana-checkpoint-commit"));
    this.encoders = Executors.newFixedThreadPool(options.threads(), daemon("dharmana-checkpoint-encode"));
    java.util.concurrent.ThreadPoolExecutor manifestWriters = new java.util.concurrent.ThreadPoolExecutor(8, 8, 30,
        java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), daemon("dharmana-checkpoint-io"));
    manifestWriters.allowCoreThreadTimeOut(true); // idle between saves: no threads kept
    this.io = manifestWriters;
  }

  /**
   * Opens run {@code run} of {@code repo} (nothing is written until the first save). Reads the
   * run's existing shard tables to know which tensors are stored and this rank's last save.
   *
   * @throws IllegalArgumentException if {@code run} is not a valid run name
   */
  public static CheckpointManager open(Repository repo, String run, CheckpointOptions options) {
    checkRun(run);
    ensurePipeline(repo);
    CheckpointManager m = new CheckpointManager(repo, run, options, Clock.systemUTC());
    m.loadIndex();
    return m;
  }

  /**
   * Opens run {@code run} of {@code repo} as the single rank of its world, with the {@linkplain
   * CheckpointOptions#DEFAULT default options}: float-coded tensors, deltas against the previous
   * save with a whole copy every 8, two saves in flight.
   *
   * @throws IllegalArgumentException if {@code run} is not a valid run name
   */
  public static CheckpointManager open(Repository repo, String run) {
    return open(repo, run, CheckpointOptions.DEFAULT);
  }

  /** Names of the runs that have checkpoints in {@code repo}, sorted. */
  public static List<String> runs(Repository repo) {
    Set<String> runs = new TreeSet<>();
    try (Stream<ObjectInfo> all = repo.list(ROOT)) {
      all.forEach(o -> {
        Matcher m = RUN_OBJECT.matcher(o.name());
        if (m.matches()) {
          runs.add(m.group(1));
        }
      });
    }
    return new ArrayList<>(runs);
  }

  static String checkRun(String run) {
    if (run == null || !run.matches("[A-Za-z0-9][A-Za-z0-9._=+-]{0,127}")) {
      throw new IllegalArgumentException(
          "Invalid run name '" + run + "': must be 1-128 letters, digits or . _ = + - and start with a letter or digit");
    }
    return run;
  }

  /**
   * Creates the pipeline float-coded tensors are stored through ({@link #PIPELINE}: fixed 1 MiB
   * chunks, no stages, the repository's tiers) if the repository lacks it, and returns its name.
   * Other writers of data coded before the pipeline (the gateway's tensor files) store through it too.
   */
  public static String ensurePipeline(Repository repo) {
    if (repo.pipeline(PIPELINE).isPresent()) {
      return PIPELINE;
    }
    StorageDescriptor base = repo.descriptor().storage();
    // fixed chunks: float-coded bytes do not shift, and a changed tensor region changes few chunks
    StorageDescriptor storage = new StorageDescriptor(new ChunkingSpec("fixed", 1 << 20, 1 << 20, 1 << 20, 1), List.of(),
        base.tiers(), base.placement(), base.cache(), base.consistency());
    try {
      repo.addPipeline(PipelineDescriptor.of(PIPELINE, storage));
    } catch (RuntimeException raced) {
      if (repo.pipeline(PIPELINE).isEmpty()) {
        throw raced;
      }
    }
    return PIPELINE;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public String run() {
    return run;
  }

  public CheckpointOptions options() {
    return options;
  }

  static String stepKey(long step) {
    return String.format("%020d", step);
  }

  private String shardName(long step, int rank) {
    return ROOT + run + "/shards/" + stepKey(step) + "/" + String.format("%05d", rank);
  }

  private String stepName(long step) {
    return ROOT + run + "/steps/" + stepKey(step);
  }

  private String label(long step) {
    return run + "@" + step;
  }

  private void loadIndex() {
    long best = -1;
    for (ObjectInfo shard : listObjects(ROOT + run + "/shards/")) {
      ShardTable table = readShard(shard.name());
      for (TensorEntry e : table.tensors()) {
        stored.putIfAbsent(e.sha256(), e);
      }
      if (table.rank() == options.rank() && table.step() > best) {
        best = table.step();
        previous = table;
      }
    }
  }

  /** The objects of this run under {@code prefix}: only the names a run writes (see {@link #RUN_OBJECT}). */
  private List<ObjectInfo> listObjects(String prefix) {
    try (Stream<ObjectInfo> all = repo.list(prefix)) {
      return all.filter(o -> isRunObject(o.name())).toList();
    }
  }

  /**
   * The names a run writes: {@code checkpoints/RUN/steps/STEP}, {@code .../shards/STEP/RANK}
   * (STEP 20 digits, RANK 5) and {@code .../policy}. Other names under {@link #ROOT} are not a
   * run's: the gateway keeps a bucket named {@code checkpoints} there, whose keys (such as
   * {@code run-1/steps/100/model.safetensors}) are the bucket's objects.
   */
  static final Pattern RUN_OBJECT =
      Pattern.compile(Pattern.quote(ROOT) + "([A-Za-z0-9][A-Za-z0-9._=+-]{0,127})/(?:steps/\\d{20}|shards/\\d{20}/\\d{5}|policy)");

  /** Whether {@code name} is one a checkpoint run writes, which other writers must leave alone. */
  public static boolean isRunObject(String name) {
    // the gateway asks for every name it lists and every key it is sent: most are not under ROOT
    return name.startsWith(ROOT) && RUN_OBJECT.matcher(name).matches();
  }

  private ShardTable readShard(String name) {
    try (InputStream in = repo.open(name)) {
      return ShardTable.parse(in.readAllBytes(), name);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + name + ": " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Save

  /**
   * Saves {@code tensors} as this rank's shard of {@code step}. Returns once the tensors are copied
   * into staging memory: the caller may change or free them right away. The future completes when
   * the shard is committed (and the step, if this was the last shard), or exceptionally when the
   * save failed: then nothing of it is visible. Its {@code join()} then throws a {@link
   * CompletionException} whose cause says why: an {@link AlreadyExistsException} when the step is
   * committed already, a {@link DharmanaException} or {@link UncheckedIOException} when the
   * repository could not be written.
   *
   * @param metadata kept with the step and given back by {@link #restore} (training state such as
   *     the data loader's position); may be empty
   * @throws IllegalArgumentException if the step is negative or two tensors share a name
   * @throws IllegalStateException if the manager is closed
   */
  public CompletableFuture<CheckpointInfo> save(long step, Collection<? extends Tensor> tensors, Map<String, String> metadata) {
    return save(step, tensors, metadata, ProgressListener.NONE);
  }

  /**
   * As {@link #save(long, Collection, Map)}, telling {@code progress} the tensor bytes stored so
   * far (of all the tensors' bytes) as each tensor is stored, from the save's threads.
   */
  public CompletableFuture<CheckpointInfo> save(
      long step, Collection<? extends Tensor> tensors, Map<String, String> metadata, ProgressListener progress) {
    return save(step, tensors, metadata, progress, true);
  }

  /**
   * As {@link #save(long, Collection, Map, ProgressListener)}, for tensors whose data does not
   * change until the returned future completes (a file mapped read-only, as {@code dharmana
   * checkpoint save} passes): they are stored from where they are, not copied into staging memory
   * first. So the heap a save takes is what coding a few tensors takes, not the checkpoint's size:
   * a 3.2 GB file of 12 tensors ran out of a 4 GiB heap when staged.
   */
  public CompletableFuture<CheckpointInfo> saveUnchanging(
      long step, Collection<? extends Tensor> tensors, Map<String, String> metadata, ProgressListener progress) {
    return save(step, tensors, metadata, progress, false);
  }

  private CompletableFuture<CheckpointInfo> save(
      long step, Collection<? extends Tensor> tensors, Map<String, String> metadata, ProgressListener progress, boolean copy) {
    if (step < 0) {
      throw new IllegalArgumentException("Invalid step " + step + ": must be >= 0");
    }
    Set<String> names = new HashSet<>();
    for (Tensor t : tensors) {
      if (!names.add(t.name())) {
        throw new IllegalArgumentException("Cannot save " + label(step) + ": tensor name '" + t.name() + "' is used twice");
      }
      if (t.byteSize() > Integer.MAX_VALUE - 64) {
        throw new IllegalArgumentException("Cannot save " + label(step) + ": tensor '" + t.name() + "' has "
            + t.byteSize() + " bytes; at most 2 GiB per tensor (split it)");
      }
    }
    Map<String, String> meta = metadata == null ? Map.of() : new LinkedHashMap<>(metadata);
    synchronized (saveLock) {
      ensureOpen();
      StagingPool.Arena arena;
      try {
        arena = staging.acquire(); // blocks while maxInFlight saves are in flight
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DharmanaException("Cannot save " + label(step) + ": interrupted while waiting for a save in flight");
      }
      List<Staged> copies = new ArrayList<>(tensors.size());
      try {
        List<ByteBuffer> sources = new ArrayList<>(tensors.size());
        List<ByteBuffer> targets = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
          ByteBuffer source = t.data();
          if (source.remaining() != t.byteSize()) {
            throw new IllegalArgumentException("Cannot save " + label(step) + ": tensor '" + t.name() + "' has "
                + source.remaining() + " bytes of data but its shape needs " + t.byteSize());
          }
          if (!copy) {
            copies.add(new Staged(t.name(), t.dtype(), t.shape(), source));
            continue;
          }
          ByteBuffer target = arena.take((int) t.byteSize());
          copies.add(new Staged(t.name(), t.dtype(), t.shape(), target));
          sources.add(source);
          targets.add(target);
        }
        // a large state is copied by several threads: the caller waits for memory bandwidth, not one core
        copier.copy(sources, targets);
      } catch (RuntimeException e) {
        staging.release(arena);
        throw e;
      }
      inFlight.add(step);
      // the staging memory goes back to the pool before the caller sees the save finish, so the
      // caller's next save never waits for a release that is merely not run yet
      CompletableFuture<CheckpointInfo> result = tail.handle((ignored, failure) -> null)
          .thenApplyAsync(ignored -> write(step, copies, meta, progress), committer)
          .whenComplete((info, failure) -> {
            staging.release(arena);
            inFlight.remove(step);
          });
      tail = result;
      return result.copy();
    }
  }

  /** Waits until every save made so far has finished (successfully or not). */
  public void awaitSaves() {
    CompletableFuture<?> last;
    synchronized (saveLock) {
      last = tail;
    }
    last.handle((v, e) -> null).join();
  }

  /** Staging buffers allocated so far; stays flat across saves of states of the same shapes. */
  public long stagingAllocations() {
    return staging.allocations();
  }

  /** Staging arenas no save holds right now (for tests: a finished save has returned its arena). */
  int idleStagingArenas() {
    return staging.idleArenas();
  }

  /** Bytes of staging buffers allocated so far. */
  public long stagingAllocatedBytes() {
    return staging.allocatedBytes();
  }

  private record Staged(String name, DType dtype, long[] shape, ByteBuffer data) {}

  /** {@code data}'s bytes as a stream: over its array when it has one (staged), else read from it (a mapped file). */
  private static InputStream streamOf(ByteBuffer data) {
    if (data.hasArray()) {
      return new ByteArrayInputStream(data.array(), data.arrayOffset() + data.position(), data.remaining());
    }
    ByteBuffer bytes = data.duplicate();
    return new InputStream() {
      @Override
      public int read() {
        return bytes.hasRemaining() ? bytes.get() & 0xff : -1;
      }

      @Override
      public int read(byte[] to, int off, int len) {
        if (len == 0) {
          return 0;
        }
        if (!bytes.hasRemaining()) {
          return -1;
        }
        int n = Math.min(len, bytes.remaining());
        bytes.get(to, off, n);
        return n;
      }
    };
  }

  /**
   * A tensor whose bytes are stored but not yet committed: {@code manifest} is written (after the
   * step's commit barrier) and its id completes {@code entry}; a reused tensor has no manifest.
   */
  private record Written(TensorEntry entry, ObjectManifest manifest) {
    TensorEntry committed(String manifestId) {
      return new TensorEntry(entry.name(), entry.dtype(), entry.shape(), entry.sha256(), manifestId, entry.encoding(),
          entry.baseStep(), entry.depth(), entry.storedBytes(), entry.lossy());
    }
  }

  private CheckpointInfo write(long step, List<Staged> copies, Map<String, String> metadata, ProgressListener progress) {
    if (repo.stat(stepName(step)).isPresent()) {
      throw new AlreadyExistsException("Cannot save " + label(step) + ": the step is already committed");
    }
    ShardTable parentTable = previous;
    ProgressListener.Summing storedBytes = ProgressListener.summing(progress, copies.stream().mapToLong(s -> s.data().remaining()).sum());
    List<Future<Written>> futures = new ArrayList<>(copies.size());
    for (Staged s : copies) {
      long bytes = s.data().remaining();
      futures.add(encoders.submit(() -> {
        Written w = store(step, s, parentTable);
        storedBytes.add(bytes);
        return w;
      }));
    }
    List<Written> written = awaitAll(step, futures);
    List<Future<TensorEntry>> manifests = new ArrayList<>(written.size());
    for (Written w : written) {
      // side by side: on a tier without packs each manifest is a file or object of its own
      manifests.add(w.manifest() == null ? CompletableFuture.completedFuture(w.entry())
          : io.submit(() -> w.committed(repo.storeManifest(w.manifest()))));
    }
    List<TensorEntry> entries = awaitAll(step, manifests);
    // one commit barrier for the chunks and manifests of all tensors of the step, before the shard
    // refers to them (nothing else does). A barrier per manifest sealed a pack of a few manifests
    // each: ~15 small packs per save on a packed tier, where this seals one
    repo.sync();
    ShardTable table = new ShardTable(run, step, options.rank(), options.world(), clock.instant(), metadata, entries);
    List<String> includes = entries.stream().map(TensorEntry::manifestId).distinct().toList();
    // CURRENT, not ifAbsent: a shard left by a crashed attempt at this step is replaced
    repo.put(shardName(step, options.rank()), new ByteArrayInputStream(table.toJson()),
        PutOptions.defaults().withIncludes(includes));
    for (TensorEntry e : entries) {
      stored.putIfAbsent(e.sha256(), e);
    }
    previous = table;
    boolean complete = tryCommit(step, options.world());
    return new CheckpointInfo(run, step, options.world(), complete ? options.world() : 1, complete, entries.size(),
        table.logicalBytes(), table.storedBytes(), table.lossy(), "", table.created(), metadata);
  }

  private <T> List<T> awaitAll(long step, List<? extends Future<T>> futures) {
    List<T> out = new ArrayList<>(futures.size());
    try {
      for (Future<T> f : futures) {
        out.add(f.get());
      }
      return out;
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new DharmanaException("Cannot save " + label(step) + ": interrupted");
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(true));
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new DharmanaException("Cannot save " + label(step) + ": " + cause, cause);
    }
  }

  /** The stored tensor that {@code sha} names, if this run has one that can stand in for {@code s}. */
  private TensorEntry reusable(String sha, Staged s, boolean lossy) {
    TensorEntry known = stored.get(sha);
    if (known != null && known.dtype() == s.dtype() && known.byteSize() == s.data().remaining()
        && known.lossy() == lossy && readable(known.manifestId())) {
      return new TensorEntry(s.name(), s.dtype(), s.shape(), sha, known.manifestId(), TensorEntry.Encoding.REUSED, -1,
          known.depth(), 0, known.lossy());
    }
    return null;
  }

  private Written store(long step, Staged s, ShardTable parentTable) {
    boolean lossy = !options.lossy().equals("none") && s.dtype() == DType.F32 && s.data().remaining() >= 4;
    if (!lossy && !options.floatCoding()) {
      return storeRaw(s);
    }
    String what = "checkpoint " + label(step) + " tensor " + s.name();
    ByteBuffer data = s.data().asReadOnlyBuffer();
    String sha = sha256(data);
    TensorEntry known = reusable(sha, s, lossy);
    if (known != null) {
      return new Written(known, null);
    }
    TensorEntry parent = null;
    ByteBuffer parentBytes = null;
    if (options.floatCoding() && parentTable != null && !lossy) {
      for (TensorEntry p : parentTable.tensors()) {
        if (p.name().equals(s.name()) && p.dtype() == s.dtype() && java.util.Arrays.equals(p.shape(), s.shape())
            && p.depth() + 1 < options.fullEvery() && !p.lossy()) {
          try {
            parentBytes = decode(p.manifestId(), what + " (delta base at step " + parentTable.step() + ")", 0);
            parent = p;
          } catch (NotFoundException | CorruptDataException gone) {
            parentBytes = null; // the base is gone or damaged: store this tensor whole
          }
          break;
        }
      }
    }
    byte[] encoded = null;
    int length = 0;
    String decodedSha = sha;
    if (lossy) {
      BlockQuantizer q = quantizer();
      try {
        encoded = q.encode(data.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        length = encoded.length;
        ByteBuffer back = ByteBuffer.allocate(data.remaining()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        q.decode(encoded, back.asFloatBuffer());
        decodedSha = sha256(back); // restore verifies what decoding gives, not the original
      } catch (IllegalArgumentException nonFinite) {
        lossy = false; // NaN or infinity: quantization cannot hold it, keep the tensor lossless
      }
    }
    if (lossy) {
      // encoded above
    } else if (options.floatCoding()) {
      long t0 = System.nanoTime();
      encoded = codec.encode(s.dtype(), data.duplicate(), parentBytes);
      length = encoded.length;
      // the float coding runs here, before the pipeline's stages: record it so the bottleneck sees it
      repo.metrics(PIPELINE).step(parentBytes == null ? "float-codec" : "float-codec-delta", "encode",
          data.remaining(), encoded.length, System.nanoTime() - t0);
    } else {
      length = s.data().remaining(); // a non-finite tensor of a raw, lossy run: its raw bytes
    }
    int depth = parent == null ? 0 : parent.depth() + 1;
    Map<String, String> attrs = attributes(lossy ? options.lossy() : options.floatCoding() ? "float" : "raw", s,
        decodedSha, depth, parent);
    ObjectManifest manifest = repo.writeChunks(encoded == null ? streamOf(s.data()) : new ByteArrayInputStream(encoded),
        PutOptions.defaults().withPipeline(PIPELINE).withAttributes(attrs).withExpectedSize(length)
            .withIncludes(parent == null ? List.of() : List.of(parent.manifestId())));
    return new Written(new TensorEntry(s.name(), s.dtype(), s.shape(), sha, "(uncommitted)",
        parent == null ? TensorEntry.Encoding.FULL : TensorEntry.Encoding.DELTA, parent == null ? -1 : parentTable.step(),
        depth, manifest.storedBytes(), lossy), manifest);
  }

  /**
   * Stores a tensor's raw bytes, identified by {@link #chunkListHash}: the write hashes every
   * chunk for its id anyway, and hashing the bytes whole as well was a second SHA-256 pass over
   * every byte of a save (40% of its CPU). Looking for a tensor stored already before writing would
   * cost a pass too, when most tensors are new: a tensor found stored after all is reused (its
   * chunks deduplicated, so the write stored nothing new).
   */
  private Written storeRaw(Staged s) {
    ObjectManifest m = repo.writeChunks(streamOf(s.data()),
        PutOptions.defaults().withPipeline(PIPELINE).withExpectedSize(s.data().remaining()).withoutOriginalHash());
    String sha = chunkListHash(m);
    TensorEntry known = reusable(sha, s, false);
    if (known != null) {
      return new Written(known, null);
    }
    ObjectManifest manifest = new ObjectManifest(m.format(), m.pipeline(), m.size(), m.sha256(), m.stages(), m.lossy(),
        m.chunks(), m.parents(), m.includes(), m.created(), attributes("raw", s, sha, 0, null));
    return new Written(new TensorEntry(s.name(), s.dtype(), s.shape(), sha, "(uncommitted)", TensorEntry.Encoding.FULL,
        -1, 0, manifest.storedBytes(), false), manifest);
  }

  private static Map<String, String> attributes(String codec, Staged s, String sha, int depth, TensorEntry parent) {
    Map<String, String> attrs = new TreeMap<>();
    attrs.put(A_CODEC, codec);
    attrs.put(A_DTYPE, s.dtype().name());
    attrs.put(A_SIZE, Long.toString(s.data().remaining()));
    attrs.put(ObjectManifest.ENCODED_FROM_SIZE, Long.toString(s.data().remaining()));
    attrs.put(A_SHA, sha);
    attrs.put(A_DEPTH, Integer.toString(depth));
    if (parent != null) {
      attrs.put(A_PARENT, parent.manifestId());
    }
    return attrs;
  }

  private BlockQuantizer quantizer() {
    return options.lossy().equals("fp8") ? BlockQuantizer.fp8(BlockQuantizer.DEFAULT_BLOCK)
        : BlockQuantizer.int8(BlockQuantizer.DEFAULT_BLOCK);
  }

  private boolean readable(String manifestId) {
    try {
      repo.manifest(manifestId);
      return true;
    } catch (NotFoundException | CorruptDataException e) {
      return false;
    }
  }

  /**
   * Commits {@code step} if all {@code world} shards exist. Returns whether the step is committed
   * (by this call or an earlier or racing one).
   */
  private boolean tryCommit(long step, int world) {
    String name = stepName(step);
    if (repo.stat(name).isPresent()) {
      return true;
    }
    List<String> shardManifests = new ArrayList<>(world);
    for (int r = 0; r < world; r++) {
      Optional<ObjectInfo> shard = repo.stat(shardName(step, r));
      if (shard.isEmpty()) {
        return false;
      }
      shardManifests.add(shard.get().manifestId());
    }
    StringBuilder json = new StringBuilder("{\"format\":1,\"run\":\"").append(run).append("\",\"step\":").append(step)
        .append(",\"world\":").append(world).append(",\"shards\":[");
    for (int r = 0; r < world; r++) {
      json.append(r == 0 ? "" : ",").append('"').append(shardManifests.get(r)).append('"');
    }
    json.append("]}");
    long expected = repo.refs().head("objects/" + name).map(Ref::version).orElse(0L); // a pruned step left a tombstone
    try {
      repo.put(name, new ByteArrayInputStream(json.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)),
          PutOptions.defaults().withExpectedVersion(expected).withIncludes(shardManifests));
    } catch (AlreadyExistsException | CommitFailedException raced) {
      // another rank committed it first
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Listing

  /** The highest complete step, if any. */
  public OptionalLong latest() {
    List<ObjectInfo> steps = listObjects(ROOT + run + "/steps/");
    return steps.isEmpty() ? OptionalLong.empty() : OptionalLong.of(stepOf(steps.get(steps.size() - 1).name()));
  }

  private static long stepOf(String name) {
    return Long.parseLong(name.substring(name.lastIndexOf('/') + 1));
  }

  private static long shardStepOf(String name) {
    String[] parts = name.split("/");
    return Long.parseLong(parts[parts.length - 2]);
  }

  /** Complete steps, oldest first (no durability: see {@link #listWithDurability}). */
  public List<CheckpointInfo> list() {
    return infos(false, false);
  }

  /** Complete and incomplete steps, oldest first. */
  public List<CheckpointInfo> listAll() {
    return infos(true, false);
  }

  /** Complete and incomplete steps with their durability (reads every chunk's tier placement). */
  public List<CheckpointInfo> listWithDurability() {
    return infos(true, true);
  }

  private List<CheckpointInfo> infos(boolean incomplete, boolean durability) {
    Map<Long, ObjectInfo> steps = new TreeMap<>();
    for (ObjectInfo s : listObjects(ROOT + run + "/steps/")) {
      steps.put(stepOf(s.name()), s);
    }
    Map<Long, List<ShardTable>> shards = new TreeMap<>();
    for (ObjectInfo s : listObjects(ROOT + run + "/shards/")) {
      long step = shardStepOf(s.name());
      if (steps.containsKey(step) || incomplete) {
        shards.computeIfAbsent(step, k -> new ArrayList<>()).add(readShard(s.name()));
      }
    }
    List<CheckpointInfo> out = new ArrayList<>();
    for (Map.Entry<Long, List<ShardTable>> e : shards.entrySet()) {
      List<ShardTable> tables = e.getValue();
      ObjectInfo committed = steps.get(e.getKey());
      ShardTable first = tables.stream().filter(t -> t.rank() == 0).findFirst().orElse(tables.get(0));
      Instant created = committed != null ? committed.created()
          : tables.stream().map(ShardTable::created).max(Instant::compareTo).orElseThrow();
      out.add(new CheckpointInfo(run, e.getKey(), first.world(), tables.size(), committed != null,
          tables.stream().mapToInt(t -> t.tensors().size()).sum(), tables.stream().mapToLong(ShardTable::logicalBytes).sum(),
          tables.stream().mapToLong(ShardTable::storedBytes).sum(), tables.stream().anyMatch(ShardTable::lossy),
          durability ? durability(tables) : "", created, first.metadata()));
    }
    return out;
  }

  /** The tiers holding every chunk the tables' tensors need (delta bases included), joined by '+'. */
  private String durability(List<ShardTable> tables) {
    Set<ChunkId> chunks = new LinkedHashSet<>();
    for (ShardTable t : tables) {
      for (TensorEntry e : t.tensors()) {
        collectChunks(e.manifestId(), chunks, new HashSet<>());
      }
    }
    List<String> holding = new ArrayList<>(repo.tiers().tierNames());
    for (ChunkId id : chunks) {
      holding.retainAll(repo.tiers().tiersHolding(ChunkStore.key(id)));
      if (holding.isEmpty()) {
        return "none";
      }
    }
    return String.join("+", holding);
  }

  private void collectChunks(String manifestId, Set<ChunkId> chunks, Set<String> seen) {
    if (!seen.add(manifestId)) {
      return;
    }
    ObjectManifest m = repo.manifest(manifestId);
    for (ChunkRef c : m.chunks()) {
      chunks.add(c.id());
    }
    for (String inc : m.includes()) {
      collectChunks(inc, chunks, seen);
    }
  }

  /** Unique stored bytes of every chunk the given steps need, counting each chunk once. */
  public long uniqueStoredBytes(Collection<Long> steps) {
    Map<ChunkId, Integer> chunks = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (long step : steps) {
      for (ShardTable t : shardTables(step)) {
        for (TensorEntry e : t.tensors()) {
          collectSizes(e.manifestId(), chunks, seen);
        }
      }
    }
    return chunks.values().stream().mapToLong(Integer::longValue).sum();
  }

  private void collectSizes(String manifestId, Map<ChunkId, Integer> chunks, Set<String> seen) {
    if (!seen.add(manifestId)) {
      return;
    }
    ObjectManifest m = repo.manifest(manifestId);
    for (ChunkRef c : m.chunks()) {
      chunks.put(c.id(), c.storedLength());
    }
    for (String inc : m.includes()) {
      collectSizes(inc, chunks, seen);
    }
  }

  /** The tensor table of one rank's shard of {@code step} (complete or not). */
  public List<TensorEntry> tensors(long step, int rank) {
    String name = shardName(step, rank);
    if (repo.stat(name).isEmpty()) {
      throw new NotFoundException("Cannot find checkpoint " + label(step) + " rank " + rank + ": no such shard");
    }
    return readShard(name).tensors();
  }

  private List<ShardTable> shardTables(long step) {
    List<ShardTable> tables = new ArrayList<>();
    for (ObjectInfo s : listObjects(ROOT + run + "/shards/" + stepKey(step) + "/")) {
      tables.add(readShard(s.name()));
    }
    return tables;
  }

  // ---------------------------------------------------------------------------------------------
  // Restore

  /** Restores this rank's shard of the latest complete step. */
  public RestoredCheckpoint restoreLatest() {
    long step = latest().orElseThrow(() -> new NotFoundException("Cannot restore run " + run + ": no complete checkpoint"));
    return restore(step, options.rank(), null);
  }

  /** Restores this rank's shard of {@code step}. */
  public RestoredCheckpoint restore(long step) {
    return restore(step, options.rank(), null);
  }

  /**
   * Restores the tensors {@code names} (null: all) of {@code rank}'s shard of the complete step
   * {@code step}, reading only the chunks they (and their delta bases) need. Every chunk is
   * verified against its id and every tensor against its SHA-256.
   *
   * @throws NotFoundException if the step is not complete or a named tensor is not in it
   * @throws CorruptDataException if a chunk or tensor fails verification; the message names the
   *     run, step, tensor and chunk
   */
  public RestoredCheckpoint restore(long step, int rank, Collection<String> names) {
    return restore(step, rank, names, ProgressListener.NONE);
  }

  /**
   * As {@link #restore(long, int, Collection)}, telling {@code progress} the tensor bytes restored
   * so far (of all the chosen tensors' bytes): 0 once the shard's tensor table is read, so a caller
   * learns the total before any tensor is decoded, then more as each tensor is decoded and verified.
   */
  public RestoredCheckpoint restore(long step, int rank, Collection<String> names, ProgressListener progress) {
    ShardTable table = readShard(requireShard(requireStep(step), rank));
    List<TensorEntry> chosen = chosen(table, names, step);
    long total = chosen.stream().mapToLong(TensorEntry::byteSize).sum();
    progress.progress(0, total);
    ProgressListener.Summing restored = ProgressListener.summing(progress, total);
    List<Future<Tensor>> futures = new ArrayList<>();
    for (TensorEntry e : chosen) {
      futures.add(encoders.submit(() -> {
        Tensor t = restoreTensor(step, e, "restore");
        restored.add(e.byteSize());
        return t;
      }));
    }
    List<Tensor> tensors = new ArrayList<>();
    for (Future<Tensor> f : futures) {
      tensors.add(join(f));
    }
    return new RestoredCheckpoint(run, step, rank, table.metadata(), tensors);
  }

  /**
   * As {@link #restore(long, int, Collection, ProgressListener)}, handing each tensor to {@code
   * sink} once it is decoded and verified (from the restore's threads, in any order) instead of
   * holding them all: the heap a restore takes is a tensor per thread, not the checkpoint. Returns
   * the step's metadata; with {@code names} empty, reads only that.
   */
  public Map<String, String> restoreEach(long step, int rank, Collection<String> names, ProgressListener progress,
      java.util.function.Consumer<Tensor> sink) {
    ShardTable table = readShard(requireShard(requireStep(step), rank));
    List<TensorEntry> chosen = chosen(table, names, step);
    long total = chosen.stream().mapToLong(TensorEntry::byteSize).sum();
    progress.progress(0, total);
    ProgressListener.Summing restored = ProgressListener.summing(progress, total);
    List<Future<?>> futures = new ArrayList<>();
    for (TensorEntry e : chosen) {
      futures.add(encoders.submit(() -> {
        sink.accept(restoreTensor(step, e, "restore"));
        restored.add(e.byteSize());
      }));
    }
    try {
      for (Future<?> f : futures) {
        join(f);
      }
    } finally {
      futures.forEach(f -> f.cancel(false)); // after a failure, the tensors not started are not decoded
    }
    return table.metadata();
  }

  private long requireStep(long step) {
    if (repo.stat(stepName(step)).isEmpty()) {
      throw new NotFoundException("Cannot restore checkpoint " + label(step) + ": no such complete step"
          + latest().stream().mapToObj(l -> " (latest is " + l + ")").findFirst().orElse(" (the run has none)"));
    }
    return step;
  }

  /** The entries of {@code table} named in {@code names} (null: all), in the table's order. */
  private List<TensorEntry> chosen(ShardTable table, Collection<String> names, long step) {
    Set<String> wanted = names == null ? null : new LinkedHashSet<>(names);
    List<TensorEntry> chosen = new ArrayList<>();
    for (TensorEntry e : table.tensors()) {
      if (wanted == null || wanted.remove(e.name())) {
        chosen.add(e);
      }
    }
    if (wanted != null && !wanted.isEmpty()) {
      throw new NotFoundException("Cannot restore " + wanted + " from checkpoint " + label(step) + ": no such tensors");
    }
    return chosen;
  }

  private String requireShard(long step, int rank) {
    String name = shardName(step, rank);
    if (repo.stat(name).isEmpty()) {
      throw new NotFoundException("Cannot restore checkpoint " + label(step) + ": it has no shard of rank " + rank);
    }
    return name;
  }

  /** Decodes and verifies one tensor of {@code step}; a failure says "Cannot {@code verb} checkpoint …". */
  private Tensor restoreTensor(long step, TensorEntry e, String verb) {
    String what = "checkpoint " + label(step) + " tensor " + e.name();
    ByteBuffer data;
    try {
      data = decode(e.manifestId(), what, 0);
    } catch (CorruptDataException | NotFoundException failure) {
      // the reads below say "Cannot read <what>: <chunk and fault>" (or "<what> (delta base): ..."):
      // keep what follows <what> rather than naming the step and tensor twice
      String message = failure.getMessage();
      String detail = message.startsWith("Cannot read " + what) ? message.substring(("Cannot read " + what).length())
          : ": " + message;
      throw new CorruptDataException("Cannot " + verb + " checkpoint " + label(step) + ": tensor " + e.name() + detail, failure);
    }
    // decode checked the bytes against the hash its manifest records; this checks that the
    // manifest is the one the shard table names
    String sha = repo.manifest(e.manifestId()).attributes().get(A_SHA);
    if (!e.lossy() && !e.sha256().equals(sha)) { // a lossy tensor was checked against its decoded hash
      throw new CorruptDataException("Cannot " + verb + " checkpoint " + label(step) + ": tensor " + e.name()
          + " is stored as manifest " + e.manifestId() + ", whose content hash " + sha + " is not the " + e.sha256() + " saved");
    }
    return Tensor.of(e.name(), e.dtype(), e.shape(), data);
  }

  private static <T> T join(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DharmanaException("Cannot restore: interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new CompletionException(e.getCause());
    }
  }

  /** Decodes a tensor's stored encoding (walking its delta chain) and checks its raw SHA-256. */
  private ByteBuffer decode(String manifestId, String what, int links) {
    if (links > 4096) {
      throw new CorruptDataException("Cannot read " + what + ": delta chain longer than 4096 links (a cycle?)");
    }
    ObjectManifest m = repo.manifest(manifestId);
    Map<String, String> a = m.attributes();
    String parentId = a.get(A_PARENT);
    ByteBuffer parent = parentId == null ? null : decode(parentId, what + " (delta base)", links + 1);
    byte[] encoded;
    try (InputStream in = repo.open(m, what)) {
      encoded = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + what + ": " + e.getMessage(), e);
    }
    ByteBuffer out;
    if ("float".equals(a.get(A_CODEC))) {
      out = ByteBuffer.allocate(Math.toIntExact(Long.parseLong(a.get(A_SIZE))));
      long t0 = System.nanoTime();
      codec.decode(encoded, DType.valueOf(a.get(A_DTYPE)), parent, out);
      out.flip();
      repo.metrics(PIPELINE).step(parent == null ? "float-codec" : "float-codec-delta", "decode",
          encoded.length, out.remaining(), System.nanoTime() - t0);
    } else if ("int8".equals(a.get(A_CODEC)) || "fp8".equals(a.get(A_CODEC))) {
      out = ByteBuffer.allocate(Math.toIntExact(Long.parseLong(a.get(A_SIZE)))).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      BlockQuantizer q = a.get(A_CODEC).equals("fp8") ? BlockQuantizer.fp8(BlockQuantizer.DEFAULT_BLOCK)
          : BlockQuantizer.int8(BlockQuantizer.DEFAULT_BLOCK);
      q.decode(encoded, out.asFloatBuffer());
    } else if ("raw".equals(a.get(A_CODEC))) {
      out = ByteBuffer.wrap(encoded);
    } else {
      throw new CorruptDataException("Cannot read " + what + ": manifest " + manifestId + " is not a checkpoint tensor (codec "
          + a.get(A_CODEC) + ")");
    }
    String sha = a.getOrDefault(A_SHA, "").startsWith(CHUNK_LIST) ? chunkListHash(m) : sha256(out);
    if (!sha.equals(a.get(A_SHA))) {
      throw new CorruptDataException("Cannot read " + what + ": decoded bytes hash to " + sha + ", not " + a.get(A_SHA));
    }
    return out.asReadOnlyBuffer();
  }

  /** Prefix of a content hash taken over a raw tensor's chunk ids (see {@link #chunkListHash}). */
  static final String CHUNK_LIST = "chunks:";

  /**
   * The content hash of a raw tensor: {@value #CHUNK_LIST} and the SHA-256 of its size and its
   * chunks' ids and lengths. The checkpoint pipeline has no stage and cuts fixed 1 MiB chunks, so
   * the ids (SHA-256 of each MiB, checked by every read) determine the bytes as a hash of the
   * whole would: equal tensors get equal hashes, and a restore that read every chunk verified
   * has verified the tensor.
   */
  static String chunkListHash(ObjectManifest m) {
    ByteBuffer list = ByteBuffer.allocate(8 + 36 * m.chunks().size());
    list.putLong(m.size());
    for (io.dharmana.manifest.ChunkRef c : m.chunks()) {
      list.put(c.id().bytes()).putInt(c.length());
    }
    list.flip();
    return CHUNK_LIST + sha256(list);
  }

  static String sha256(ByteBuffer data) {
    MessageDigest d = ChunkId.newDigest();
    d.update(data.duplicate());
    return HexFormat.of().formatHex(d.digest());
  }

  // ---------------------------------------------------------------------------------------------
  // Verify, diff, prune

  /**
   * Re-reads every chunk of every shard of {@code step} and checks every tensor's SHA-256.
   * Returns the number of tensors checked.
   *
   * @throws CorruptDataException naming the run, step, tensor and chunk that failed
   */
  public int verify(long step) {
    int n = 0;
    for (ShardTable t : shardTables(step)) {
      for (TensorEntry e : t.tensors()) {
        restoreTensor(step, e, "verify");
        n++;
      }
    }
    return n;
  }

  /** How one tensor differs between two steps. */
  public record TensorDiff(String name, boolean inFrom, boolean inTo, boolean changed, TensorEntry to) {}

  /** Per tensor of this rank's shards of {@code from} and {@code to}: changed or not, and how {@code to} stores it. */
  public List<TensorDiff> diff(long from, long to) {
    Map<String, TensorEntry> a = new LinkedHashMap<>();
    tensors(from, options.rank()).forEach(e -> a.put(e.name(), e));
    List<TensorDiff> out = new ArrayList<>();
    for (TensorEntry e : tensors(to, options.rank())) {
      TensorEntry before = a.remove(e.name());
      out.add(new TensorDiff(e.name(), before != null, true, before == null || !before.sha256().equals(e.sha256()), e));
    }
    a.values().forEach(e -> out.add(new TensorDiff(e.name(), true, false, true, null)));
    return out;
  }

  /**
   * What a prune keeps and removes: {@code kept} complete steps, {@code removed} complete steps,
   * {@code abandoned} incomplete steps whose shards go.
   */
  public record PruneResult(List<Long> kept, List<Long> removed, List<Long> abandoned) {
    public PruneResult {
      kept = List.copyOf(kept);
      removed = List.copyOf(removed);
      abandoned = List.copyOf(abandoned);
    }
  }

  /** What {@link #prune} would do, without doing it. */
  public PruneResult planPrune(RetentionPolicy policy, Duration abandonAfter) {
    List<CheckpointInfo> all = listAll();
    List<CheckpointInfo> complete = all.stream().filter(CheckpointInfo::complete).toList();
    Set<Long> kept = new TreeSet<>(policy.select(complete, clock.instant()));
    kept.addAll(inFlight);
    // a kept step's delta bases stay kept too (their data would survive anyway, through includes)
    ArrayList<Long> pending = new ArrayList<>(kept);
    while (!pending.isEmpty()) {
      long step = pending.remove(pending.size() - 1);
      for (ShardTable t : shardTables(step)) {
        for (TensorEntry e : t.tensors()) {
          if (e.baseStep() >= 0 && kept.add(e.baseStep())) {
            pending.add(e.baseStep());
          }
        }
      }
    }
    List<Long> removed = complete.stream().map(CheckpointInfo::step).filter(s -> !kept.contains(s)).toList();
    long newest = complete.isEmpty() ? -1 : complete.get(complete.size() - 1).step();
    Instant cutoff = clock.instant().minus(abandonAfter);
    List<Long> abandoned = all.stream()
        .filter(c -> !c.complete() && c.step() < newest && !inFlight.contains(c.step()) && c.created().isBefore(cutoff))
        .map(CheckpointInfo::step).toList();
    return new PruneResult(new ArrayList<>(kept).stream().filter(s -> complete.stream().anyMatch(c -> c.step() == s)).toList(),
        removed, abandoned);
  }

  /**
   * Applies {@code policy}: removes the complete steps it does not keep (never one a kept step's
   * delta chain names, never one being saved) and the shards of incomplete steps older than the
   * newest complete step and than {@code abandonAfter}. Their data goes at the next {@link
   * Repository#gc}, unless a kept step still includes it.
   */
  public PruneResult prune(RetentionPolicy policy, Duration abandonAfter) {
    PruneResult plan = planPrune(policy, abandonAfter);
    for (long step : plan.removed()) {
      repo.remove(stepName(step)); // the commit point first: the step is invisible before its shards go
      for (ObjectInfo s : listObjects(ROOT + run + "/shards/" + stepKey(step) + "/")) {
        repo.remove(s.name());
      }
    }
    for (long step : plan.abandoned()) {
      for (ObjectInfo s : listObjects(ROOT + run + "/shards/" + stepKey(step) + "/")) {
        repo.remove(s.name());
      }
    }
    Set<String> live = new HashSet<>();
    for (ObjectInfo s : listObjects(ROOT + run + "/shards/")) {
      readShard(s.name()).tensors().forEach(e -> live.add(e.manifestId()));
    }
    stored.values().removeIf(e -> !live.contains(e.manifestId()));
    return plan;
  }

  /** The run's stored retention policy (see {@link #retention(RetentionPolicy)}), if any. */
  public Optional<RetentionPolicy> retention() {
    String name = ROOT + run + "/policy";
    if (repo.stat(name).isEmpty()) {
      return Optional.empty();
    }
    try (InputStream in = repo.open(name)) {
      com.fasterxml.jackson.databind.JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
      return Optional.of(new RetentionPolicy(n.path("keepLast").asInt(), n.path("keepEvery").asLong(),
          n.path("keepBest").asInt(), n.hasNonNull("metric") ? n.get("metric").asText() : null,
          n.path("lowerIsBetter").asBoolean(true),
          n.hasNonNull("keepFor") ? Duration.parse(n.get("keepFor").asText()) : null));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the retention policy of run " + run + ": " + e.getMessage(), e);
    }
  }

  /** Stores {@code policy} as the run's retention policy, the one {@code dharmana checkpoint prune} applies. */
  public void retention(RetentionPolicy policy) {
    com.fasterxml.jackson.databind.node.ObjectNode n = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
    n.put("keepLast", policy.keepLast());
    n.put("keepEvery", policy.keepEvery());
    n.put("keepBest", policy.keepBest());
    n.put("metric", policy.metric());
    n.put("lowerIsBetter", policy.lowerIsBetter());
    n.put("keepFor", policy.keepFor() == null ? null : policy.keepFor().toString());
    repo.put(ROOT + run + "/policy", new ByteArrayInputStream(n.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)),
        PutOptions.defaults());
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("Cannot use checkpoint manager of run " + run + ": it is closed");
    }
  }

  /** Waits for saves in flight, then stops the background threads. Does not close the repository. */
  @Override
  public void close() {
    synchronized (saveLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    awaitSaves();
    committer.shutdown();
    encoders.shutdown();
    io.shutdown();
    copier.close();
  }
}
