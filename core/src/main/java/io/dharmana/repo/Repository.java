package io.dharmana.repo;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkStore;
import io.dharmana.chunk.Chunkers;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.manifest.ManifestCodec;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.metrics.MetricsHistory;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.runtime.StorageRuntime;
import io.dharmana.runtime.Verification;
import io.dharmana.runtime.WrittenObject;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.Stages;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.TierStats;
import io.dharmana.store.TieredStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.WritableByteChannel;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A Dharmana repository: a directory holding its pipeline descriptors, refs, manifests and local
 * tiers. Objects are written through a pipeline into content-addressed chunks shared by every
 * object, version and pipeline of the repository, described by an immutable manifest, and named
 * by a ref that moves only by compare-and-set: an object version is visible completely or not at
 * all.
 *
 * <pre>
 * REPO/dharmana.yaml          the default pipeline (its tiers are the repository's tiers)
 * REPO/meta/format            the version of this layout (see {@link RepositoryFormat})
 * REPO/pipelines/NAME.yaml    further pipelines (their own chunking and stages, the same tiers)
 * REPO/meta/refs/...          ref version logs (see {@link RefStore})
 * REPO/meta/manifests/...     manifests written before format version 3
 * REPO/meta/uncopied/...      one file per process that closed with write-back copies undone
 * REPO/tiers/TIER/chunks/...  chunks, named by the SHA-256 of their stored bytes
 * REPO/tiers/TIER/manifests/... manifests, named by the SHA-256 of their bytes, stored with the
 *                             chunks (in their packs) so that one commit barrier covers both
 * REPO/metrics/history.jsonl  what every command did (see {@link MetricsHistory})
 * </pre>
 *
 * <p>Thread-safe; several processes, and several instances in one process, may write one
 * repository at once (writers share it, garbage collection takes it alone, see {@link
 * RepositoryLock}).
 */
public final class Repository implements AutoCloseable {
  public static final String DESCRIPTOR_FILE = "dharmana.yaml";
  private static final System.Logger LOG = System.getLogger(Repository.class.getName());
  static final String OBJECTS = "objects/";
  static final String MANIFESTS = "manifests/";
  static final String UNCOPIED = "uncopied";

  private final Path root;
  private final PipelineDescriptor descriptor;
  private final BlobStore meta;
  private final TieredStore tiers;
  private final ChunkStore chunks;
  private final RefStore refs;
  private final StorageRuntime runtime;
  private final RepositoryLock lock;
  private final MetricsHistory history;
  private final Clock clock;
  private final List<Path> uncopiedMarkers; // found at open: earlier processes left copies undone
  private final Map<String, PipelineMetrics> metrics = new ConcurrentHashMap<>();
  private final Map<String, ObjectManifest> manifestCache =
      Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ObjectManifest> eldest) {
          return size() > 1024;
        }
      });
  /**
   * Per tier, the counters that {@link #stats()} calls caused with their own reads (of every
   * manifest), which they take out of the counters they report: not this process's work.
   */
  private final Map<String, TierStats> statsReads = new HashMap<>();
  private volatile boolean closed;

  private Repository(Path root, PipelineDescriptor descriptor, Clock clock) {
    this.root = root;
    this.descriptor = descriptor;
    this.clock = clock;
    boolean fsync = descriptor.storage().consistency().fsync();
    this.meta = Stores.local(root.resolve("meta"), fsync);
    // manifests stay on the write tier: small beside the chunks, and what ls, stat and checkpoint
    // listings read, which must not fail while a lower tier (an S3 endpoint) is down
    this.tiers = TieredStore.open(descriptor.storage(), root, MANIFESTS);
    this.chunks = new ChunkStore(tiers);
    this.refs = new RefStore(meta, clock);
    int threads = descriptor.storage().cache().effectiveThreads();
    this.runtime = new StorageRuntime(chunks, threads, Math.max(descriptor.storage().cache().prefetch(), 8 * threads));
    this.lock = new RepositoryLock(root.resolve("meta").resolve("lock"));
    this.history = new MetricsHistory(root.resolve("metrics"));
    this.uncopiedMarkers = uncopiedMarkers(root);
    if (!uncopiedMarkers.isEmpty()) {
      // a short command never reaches the first maintenance pass, which would copy them; a
      // writing one does it with its own copies and waits for it when it closes
      tiers.catchUpWhenWriting();
    }
  }

  private static List<Path> uncopiedMarkers(Path root) {
    Path dir = root.resolve("meta").resolve(UNCOPIED);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> markers = Files.list(dir)) {
      return markers.toList();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "Cannot list " + dir + ": " + e.getMessage());
      return List.of();
    }
  }

  /**
   * Records that this process closes with {@code pending} write-back copies undone, so that the
   * next process that writes makes them at once. Losing the record loses only that: the blobs are
   * durable on the write tier and the first maintenance pass of a long-running process copies them.
   */
  private void recordUncopied(int pending) {
    Path dir = root.resolve("meta").resolve(UNCOPIED);
    try {
      Files.createDirectories(dir);
      Path marker = Files.createTempFile(dir, ProcessHandle.current().pid() + "-", "");
      Files.writeString(marker, pending + " blobs on tier " + descriptor.storage().placement().writeTier()
          + " waited for a copy to the tier below at " + clock.instant() + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "Cannot record the copies left undone in " + dir + ": " + e.getMessage());
    }
  }

  /**
   * Creates a repository in {@code dir} (created if missing) with {@code pipeline} as its default
   * pipeline.
   *
   * @throws AlreadyExistsException if {@code dir} already holds a repository
   */
  public static Repository init(Path dir, PipelineDescriptor pipeline) {
    Path file = dir.resolve(DESCRIPTOR_FILE);
    if (Files.exists(file)) {
      throw new AlreadyExistsException("Cannot init " + dir + ": it already holds a repository (" + file + ")");
    }
    validate(pipeline);
    boolean created = !Files.exists(dir);
    boolean wasEmpty = created || isEmptyDirectory(dir);
    Repository repository = null;
    try {
      Files.createDirectories(dir.resolve("meta"));
      RepositoryFormat.init(dir.resolve("meta"));
      // the tiers open before the descriptor is written: a tier that cannot be reached (an S3
      // endpoint that is down) leaves no repository that a second init would refuse to replace
      repository = new Repository(dir, pipeline, Clock.systemUTC());
      repository.tiers.requireTiersOpened();
      io.dharmana.store.AtomicFile.write(file, Descriptors.toYaml(pipeline));
      return repository;
    } catch (IOException | RuntimeException e) {
      if (repository != null) {
        repository.close();
      }
      if (wasEmpty) {
        // what init made in a missing or empty directory; without a descriptor, what stays is no repository
        io.dharmana.store.Stores.deleteTreeQuietly(dir, !created);
      }
      if (e instanceof RuntimeException unchecked) {
        throw unchecked;
      }
      throw new UncheckedIOException("Cannot init " + dir + ": " + reason((IOException) e), (IOException) e);
    }
  }

  private static boolean isEmptyDirectory(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  /** Which path failed and why: the JDK's message for a missing or forbidden path names only the path. */
  private static String reason(IOException e) {
    if (e instanceof java.nio.file.FileSystemException fs && fs.getFile() != null && fs.getReason() == null) {
      String why = e instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
          : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.FileAlreadyExistsException ? "exists and is not a directory"
          : e.getClass().getSimpleName();
      return fs.getFile() + ": " + why;
    }
    return e.getMessage();
  }

  /**
   * Opens the repository in {@code dir}.
   *
   * @throws NotFoundException if {@code dir} holds no repository
   */
  public static Repository open(Path dir) {
    return open(dir, Clock.systemUTC());
  }

  /**
   * Opens the repository in {@code dir} with {@code clock} giving the times of refs, manifests and
   * garbage collection's grace period (a test's fixed or stepped clock).
   *
   * @throws NotFoundException if {@code dir} holds no repository
   */
  public static Repository open(Path dir, Clock clock) {
    Path file = dir.resolve(DESCRIPTOR_FILE);
    if (!Files.isRegularFile(file)) {
      if (Files.isRegularFile(dir.resolve(io.dharmana.dataset.DatasetIndex.KEY))) {
        // init there would make a repository around the dataset's files: not what was meant
        throw new NotFoundException("Cannot open repository " + dir + ": no " + DESCRIPTOR_FILE + " there; it holds "
            + io.dharmana.dataset.DatasetIndex.KEY + ", as a dataset 'dharmana dataset pack' made does (look into it with: "
            + "dharmana dataset inspect " + dir + ")");
      }
      throw new NotFoundException("Cannot open repository " + dir + ": no " + DESCRIPTOR_FILE
          + " there (create one with: dharmana init " + dir + ")");
    }
    RepositoryFormat.check(dir.resolve("meta"));
    return new Repository(dir, Descriptors.load(file), clock);
  }

  private static void validate(PipelineDescriptor pipeline) {
    // creating the chain checks every stage name and parameter before anything is written
    Stages.chain(pipeline.storage().stages(), StageContext.system());
    Chunkers.of(pipeline.storage().chunking());
  }

  /**
   * The pipeline a repository gets when none is given: content-defined chunking (16/64/256 KiB),
   * zstd level 3 (its frame checksum detects damage after decoding), one local tier.
   */
  public static PipelineDescriptor defaultPipeline() {
    return PipelineDescriptor.of("default",
        io.dharmana.descriptor.StorageDescriptor.of(List.of(io.dharmana.stage.StageSpec.of("zstd", Map.of("level", "3")))));
  }

  /** The repository's directory. */
  public Path root() {
    return root;
  }

  /** The default pipeline; its tiers and placement are the repository's. */
  public PipelineDescriptor descriptor() {
    return descriptor;
  }

  /**
   * The tiers that hold the chunks and manifests. Reading and writing objects needs none of the
   * accessors below: they are the layers under {@link #put} and {@link #open(String)}, for the
   * gateway, the CLI and reports.
   */
  public TieredStore tiers() {
    return tiers;
  }

  /** The content-addressed chunks, shared by every pipeline of the repository. */
  public ChunkStore chunkStore() {
    return chunks;
  }

  /** The refs that name objects; they move only by compare-and-set. */
  public RefStore refs() {
    return refs;
  }

  /** Encodes and writes, reads and decodes chunks on the repository's pool. */
  public StorageRuntime runtime() {
    return runtime;
  }

  /**
   * What was done to the repository, as {@code dharmana stat} shows it: append a {@link
   * #metrics(String) pipeline's} snapshot to have an embedding program's work shown there too.
   */
  public MetricsHistory history() {
    return history;
  }

  /**
   * Adds (or replaces) a named pipeline. Its chunking and stages apply to objects put through it;
   * the repository's tiers hold its chunks, deduplicated with every other pipeline's.
   */
  public void addPipeline(PipelineDescriptor pipeline) {
    validate(pipeline);
    if (pipeline.name().equals(descriptor.name())) {
      throw new InvalidDescriptorException("Invalid pipeline name '" + pipeline.name() + "': it is the default pipeline's");
    }
    try {
      Files.createDirectories(root.resolve("pipelines"));
      io.dharmana.store.AtomicFile.write(root.resolve("pipelines").resolve(pipeline.name() + ".yaml"), Descriptors.toYaml(pipeline));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot add pipeline " + pipeline.name() + ": " + e.getMessage(), e);
    }
  }

  /** The pipeline named {@code name}: the default one or one added with {@link #addPipeline}. */
  public Optional<PipelineDescriptor> pipeline(String name) {
    if (name.equals(descriptor.name())) {
      return Optional.of(descriptor);
    }
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
      return Optional.empty();
    }
    Path file = root.resolve("pipelines").resolve(name + ".yaml");
    return Files.isRegularFile(file) ? Optional.of(Descriptors.load(file)) : Optional.empty();
  }

  /** Names of all pipelines, the default first. */
  public List<String> pipelines() {
    List<String> names = new ArrayList<>();
    names.add(descriptor.name());
    Path dir = root.resolve("pipelines");
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
            .map(n -> n.substring(0, n.length() - 5)).sorted().forEach(names::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return names;
  }

  /**
   * The metrics recorder of a pipeline, shared by every operation of this repository instance. A
   * recorder that records nothing when the system property {@code dharmana.metrics} or the
   * environment variable {@code DHARMANA_METRICS} is {@code off} (to measure what metrics cost).
   */
  public PipelineMetrics metrics(String pipeline) {
    return metrics.computeIfAbsent(pipeline, name -> metricsOff() ? PipelineMetrics.disabled(name) : new PipelineMetrics(name));
  }

  private static boolean metricsOff() {
    String setting = System.getProperty("dharmana.metrics", System.getenv("DHARMANA_METRICS"));
    return setting != null && setting.strip().equalsIgnoreCase("off");
  }

  /**
   * Writes an object through the default pipeline, replacing the version {@code name} has (if any);
   * see {@link #put(String, InputStream, PutOptions, ProgressListener)}. {@code data} is read to its
   * end and not closed.
   */
  public ObjectInfo put(String name, InputStream data) {
    return put(name, data, PutOptions.defaults(), ProgressListener.NONE);
  }

  /** Writes an object; see {@link #put(String, InputStream, PutOptions, ProgressListener)}. */
  public ObjectInfo put(String name, InputStream data, PutOptions options) {
    return put(name, data, options, ProgressListener.NONE);
  }

  /**
   * Writes {@code data} to its end through a pipeline and commits it under {@code name}: chunks
   * first, then the manifest, then the ref by compare-and-set. If anything fails before the ref
   * moves, nothing is visible (orphaned chunks are removed by a later {@link #gc}).
   *
   * @throws CommitFailedException if another writer moved {@code name} away from the version this
   *     put expected
   */
  public ObjectInfo put(String name, InputStream data, PutOptions options, ProgressListener progress) {
    RefStore.checkName(name);
    PipelineDescriptor pipeline = pipelineFor(options, "Cannot put " + name);
    String refName = OBJECTS + name;
    try (RepositoryLock.Hold shared = lock.shared()) {
      Optional<Ref> base = refs.head(refName);
      // "must not exist" (0) also holds for a name that was removed: its head is a deletion marker
      long expected = options.expectedVersion() == PutOptions.CURRENT
              || (options.expectedVersion() == 0 && base.map(Ref::deleted).orElse(false))
          ? base.map(Ref::version).orElse(0L)
          : options.expectedVersion();
      if (options.expectedVersion() == 0 && base.isPresent() && !base.get().deleted()) {
        throw new AlreadyExistsException("Cannot put " + name + ": it already exists (version " + base.get().version() + ")");
      }
      if (options.expectedVersion() > 0 && base.map(Ref::version).orElse(0L) != options.expectedVersion()) {
        throw new CommitFailedException("Cannot put " + name + ": expected version " + options.expectedVersion()
            + " but it is at " + base.map(Ref::version).orElse(0L));
      }
      List<String> parents = base.filter(r -> !r.deleted()).map(r -> List.of(r.target())).orElse(List.of());
      StoredObject stored = write(pipeline, data, options, parents, progress);
      ObjectManifest manifest = stored.manifest();
      String manifestId = stored.manifestId();
      Ref ref = refs.compareAndSet(refName, expected, manifestId);
      return info(name, ref, manifest);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot put " + name + ": " + e.getMessage(), e);
    }
  }

  /** An object written but not (yet) named: its manifest and the manifest's id. */
  public record StoredObject(String manifestId, ObjectManifest manifest) {}

  /**
   * Writes {@code data} through a pipeline into chunks and a manifest, durably, without naming
   * it. Nothing keeps it alive but a named object whose manifest includes it ({@link
   * PutOptions#withIncludes}); garbage collection removes it once it is older than the grace
   * period otherwise. Used for the parts of composite objects (a checkpoint's tensors).
   */
  public StoredObject write(InputStream data, PutOptions options) {
    PipelineDescriptor pipeline = pipelineFor(options, "Cannot write");
    try (RepositoryLock.Hold shared = lock.shared()) {
      return write(pipeline, data, options, List.of(), ProgressListener.NONE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write object: " + e.getMessage(), e);
    }
  }

  /** The pipeline {@code options} names, or the repository's default; {@code failing} starts the error. */
  private PipelineDescriptor pipelineFor(PutOptions options, String failing) {
    return options.pipeline()
        .map(p -> pipeline(p).orElseThrow(() -> new NotFoundException(
            failing + ": no pipeline '" + p + "'; known pipelines: " + pipelines())))
        .orElse(descriptor);
  }

  private StoredObject write(PipelineDescriptor pipeline, InputStream data, PutOptions options, List<String> parents,
      ProgressListener progress) throws IOException {
    ObjectManifest manifest = writeChunks(pipeline, data, options, parents, progress);
    String id = storeManifest(manifest);
    // the commit barrier: chunks and manifest durable before the ref refers to them. They share
    // it (a packed tier seals both in one pack, and concurrent puts share one sealing), where a
    // manifest of its own cost a file, two fsyncs and a link per put
    tiers.sync();
    return new StoredObject(id, manifest);
  }

  private ObjectManifest writeChunks(PipelineDescriptor pipeline, InputStream data, PutOptions options,
      List<String> parents, ProgressListener progress) throws IOException {
    StageChain chain = Stages.chain(pipeline.storage().stages(), StageContext.system());
    WrittenObject written = runtime.write(data, Chunkers.of(pipeline.storage().chunking()), chain,
        metrics(pipeline.name()), options.expectedSize(), options.hashOriginal(), progress);
    return new ObjectManifest(ObjectManifest.FORMAT, pipeline.name(), written.size(), written.sha256(), chain.specs(),
        chain.lossy(), written.chunks(), parents, options.includes(), clock.instant(), options.attributes());
  }

  /**
   * Like {@link #write(InputStream, PutOptions)} but without its commit barrier and without
   * writing the manifest: stores {@code data}'s chunks and returns the manifest describing them.
   * The chunks are durable only once a later {@link #sync()} returned; the caller must call it
   * before it writes the manifest ({@link #writeManifest}) or anything else that refers to them.
   * Lets a writer of many objects (a checkpoint's tensors) pay one barrier for all of them.
   */
  public ObjectManifest writeChunks(InputStream data, PutOptions options) {
    PipelineDescriptor pipeline = pipelineFor(options, "Cannot write");
    try (RepositoryLock.Hold shared = lock.shared()) {
      return writeChunks(pipeline, data, options, List.of(), ProgressListener.NONE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write object: " + e.getMessage(), e);
    }
  }

  /**
   * The commit barrier: when this returns, every chunk written (by {@link #writeChunks} or
   * otherwise) before the call is durable on the write tier.
   */
  public void sync() {
    try (RepositoryLock.Hold shared = lock.shared()) {
      tiers.sync();
    }
  }

  /**
   * Writes a manifest content-addressed, durably (it is synced with every blob written before
   * it); returns its id. Writing an existing one is a no-op.
   */
  public String writeManifest(ObjectManifest manifest) {
    String id = storeManifest(manifest);
    sync();
    return id;
  }

  /**
   * Like {@link #writeManifest} but without its commit barrier: stores a manifest beside the
   * chunks and returns its id. It is durable only once a later {@link #sync()} returned; the
   * caller must call it before anything refers to the manifest. Lets a writer of many objects (a
   * checkpoint's tensors) make its chunks and manifests durable with one barrier, which on a packed
   * tier seals one pack rather than one per manifest.
   */
  public String storeManifest(ObjectManifest manifest) {
    byte[] bytes = ManifestCodec.encode(manifest);
    String id = io.dharmana.chunk.ChunkId.of(bytes).hex();
    try {
      tiers.write(manifestKey(id), bytes);
    } catch (AlreadyExistsException same) {
      // equal bytes, equal id: the manifest is already there
    }
    manifestCache.put(id, manifest);
    return id;
  }

  static String manifestKey(String id) {
    return MANIFESTS + id.substring(0, 2) + "/" + id;
  }

  /** Reads and verifies a manifest by id. */
  public ObjectManifest manifest(String id) {
    ObjectManifest cached = manifestCache.get(id);
    if (cached != null) {
      return cached;
    }
    byte[] bytes;
    try {
      // meta first: a miss there is one failed open, where a miss in the tiers may ask every tier
      // (an object store among them) and list the packs again
      bytes = meta.read(manifestKey(id));
    } catch (NotFoundException beforeFormat3) {
      try {
        bytes = tiers.read(manifestKey(id));
      } catch (NotFoundException notLoadedYet) {
        // a ref names only a durable manifest: another process wrote it since the tiers last
        // loaded what others wrote
        tiers.refresh();
        bytes = tiers.read(manifestKey(id));
      }
    }
    io.dharmana.chunk.ChunkId.parse(id).verify(bytes, "manifest " + id);
    ObjectManifest manifest = ManifestCodec.decode(bytes, id);
    manifestCache.put(id, manifest);
    return manifest;
  }

  private ObjectInfo info(String name, Ref ref, ObjectManifest m) {
    return new ObjectInfo(name, m.size(), m.storedBytes(), m.sha256(), m.created(), m.pipeline(), m.attributes(),
        ref.target(), ref.version(), m.lossy());
  }

  /** The current version of an object, if it exists. */
  public Optional<ObjectInfo> stat(String name) {
    return refs.read(OBJECTS + RefStore.checkName(name)).map(ref -> info(name, ref, manifest(ref.target())));
  }

  private ObjectManifest manifestOf(String name) {
    Ref ref = refs.read(OBJECTS + RefStore.checkName(name))
        .orElseThrow(() -> new NotFoundException("Cannot read " + name + ": no such object"));
    return readableByName(name, manifest(ref.target()));
  }

  /**
   * {@code m}, unless its stored bytes are not what was put: a {@code .safetensors} object that
   * {@link io.dharmana.checkpoint.TensorObjects} (the gateway, {@code dharmana put}) stored as a
   * tensor file, delta-coded against a parent, is refused rather than handed out as the tensor
   * file's bytes. Its stored bytes stay readable by manifest ({@link #open(ObjectManifest, String)}),
   * as gc, tiering and the gateway read them.
   */
  private static ObjectManifest readableByName(String name, ObjectManifest m) {
    if (m.attributes().containsKey(ObjectManifest.TENSOR_FILE_CODING)) {
      String coding = ObjectManifest.TENSOR_FILE_CODING;
      throw new IllegalArgumentException("Cannot read " + name + " by name: it is stored tensor-coded (" + coding + "="
          + m.attributes().get(coding) + "), as a tensor file that is not the file put; read it as put with"
          + " io.dharmana.checkpoint.TensorObjects.open, or its stored bytes with Repository.open(manifest(id), what)");
    }
    return m;
  }

  /**
   * Streams the whole object, verifying every chunk as it is read. The caller closes the stream.
   *
   * <p>This and the other reads by name ({@code open}, {@code openRange}, {@code get}) refuse an
   * object {@link io.dharmana.checkpoint.TensorObjects} stored tensor-coded (its manifest has the
   * attribute {@link ObjectManifest#TENSOR_FILE_CODING}) with an {@link
   * IllegalArgumentException}: its stored bytes are a tensor file, not the file put. Read it with
   * {@link io.dharmana.checkpoint.TensorObjects#open}, or its stored bytes by manifest with {@link
   * #open(ObjectManifest, String)}.
   *
   * @throws NotFoundException if there is no object {@code name}
   */
  public InputStream open(String name) {
    return open(name, Verification.CHUNKS);
  }

  /** Streams the whole object with the given verification. */
  public InputStream open(String name, Verification verification) {
    ObjectManifest m = manifestOf(name);
    return runtime.open(m, 0, m.size(), metrics(m.pipeline()), name, verification);
  }

  /** Streams {@code length} bytes from {@code offset} (clamped to the object), verifying chunks. */
  public InputStream openRange(String name, long offset, long length) {
    ObjectManifest m = manifestOf(name);
    return runtime.open(m, offset, length, metrics(m.pipeline()), name, Verification.CHUNKS);
  }

  /**
   * Streams the stored bytes of an object by its manifest (one {@link #write} stored, or any
   * object's, a tensor-coded one's tensor file included); chunks are verified.
   */
  public InputStream open(ObjectManifest manifest, String what) {
    return runtime.open(manifest, 0, manifest.size(), metrics(manifest.pipeline()), what, Verification.CHUNKS);
  }

  /**
   * Writes the whole object to {@code out}, verifying every chunk; {@code out} is not closed.
   *
   * @throws NotFoundException if there is no object {@code name}
   * @throws IllegalArgumentException if the object is stored tensor-coded (see {@link #open(String)})
   * @throws io.dharmana.CorruptDataException if a chunk fails verification
   */
  public ObjectInfo get(String name, OutputStream out) {
    return get(name, out, Verification.CHUNKS, ProgressListener.NONE);
  }

  /** Writes the whole object to {@code out}, verifying every chunk, telling {@code progress} the bytes written. */
  public ObjectInfo get(String name, OutputStream out, ProgressListener progress) {
    return get(name, out, Verification.CHUNKS, progress);
  }

  /** Writes the whole object to {@code out} with the given verification. */
  public ObjectInfo get(String name, OutputStream out, Verification verification, ProgressListener progress) {
    return get(name, m -> runtime.read(m, 0, m.size(), out, metrics(m.pipeline()), name, verification, progress));
  }

  /**
   * Writes the whole object to {@code out} with the given verification, handing decoded chunks to
   * the channel without copying them where the pipeline allows (see {@link
   * StorageRuntime#read(ObjectManifest, long, long, WritableByteChannel, PipelineMetrics, String,
   * Verification, ProgressListener)}). The channel is not closed.
   */
  public ObjectInfo get(String name, WritableByteChannel out, Verification verification, ProgressListener progress) {
    return get(name, m -> runtime.read(m, 0, m.size(), out, metrics(m.pipeline()), name, verification, progress));
  }

  /** Reads the current version of {@code name} with {@code read}. */
  private ObjectInfo get(String name, ManifestReader read) {
    Ref ref = refs.read(OBJECTS + RefStore.checkName(name))
        .orElseThrow(() -> new NotFoundException("Cannot read " + name + ": no such object"));
    ObjectManifest m = readableByName(name, manifest(ref.target()));
    try {
      read.read(m);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + name + ": " + e.getMessage(), e);
    }
    return info(name, ref, m);
  }

  @FunctionalInterface
  private interface ManifestReader {
    void read(ObjectManifest manifest) throws IOException;
  }

  /** Objects whose name starts with {@code prefix}, sorted by name. The caller closes the stream. */
  public Stream<ObjectInfo> list(String prefix) {
    return refs.list(OBJECTS + prefix).stream()
        .map(ref -> info(ref.name().substring(OBJECTS.length()), ref, manifest(ref.target())));
  }

  /**
   * Removes an object's name (its chunks go at the next {@link #gc} if nothing else uses them).
   * Returns false if it did not exist.
   */
  public boolean remove(String name) {
    String refName = OBJECTS + RefStore.checkName(name);
    try (RepositoryLock.Hold shared = lock.shared()) {
      Optional<Ref> head = refs.head(refName);
      if (head.isEmpty() || head.get().deleted()) {
        return false;
      }
      refs.compareAndSet(refName, head.get().version(), null);
      return true;
    }
  }

  /**
   * Deletes manifests and chunks no live object references and that are older than {@code grace}
   * (so that writers in flight keep theirs), and prunes old ref versions; see {@link
   * GarbageCollector}.
   */
  public GcResult gc(java.time.Duration grace) {
    return gc(grace, ProgressListener.NONE, ProgressListener.NONE);
  }

  /**
   * As {@link #gc(java.time.Duration)}, telling {@code marking} the manifests read of those listed
   * while it finds what is live (only live manifests are read, so that total is a bound; its last
   * report gives the number read as both), then {@code sweeping} the chunks deleted of those to
   * delete. Each is told 0 first, with its total, and then rises to it.
   */
  public GcResult gc(java.time.Duration grace, ProgressListener marking, ProgressListener sweeping) {
    return collectGarbage(grace, false, marking, sweeping);
  }

  /**
   * Reads every copy, in every tier, of the manifests and chunks the objects whose names start
   * with {@code prefix} need, and checks each against its SHA-256 id: finds bit rot before a read
   * needs the data. With {@code repair}, a damaged copy is replaced by a good one another tier
   * holds. Writers may run meanwhile.
   *
   * @param progress told the manifests and chunks checked so far (the total grows as manifests
   *     name their chunks)
   */
  public VerifyResult verify(String prefix, boolean repair, ProgressListener progress) {
    java.util.Objects.requireNonNull(prefix, "prefix");
    try (RepositoryLock.Hold shared = lock.shared()) {
      return new Verifier(this).run(prefix, repair, progress);
    }
  }

  /** What {@link #gc} would delete now, deleting nothing. */
  public GcResult gcDryRun(java.time.Duration grace) {
    return gcDryRun(grace, ProgressListener.NONE, ProgressListener.NONE);
  }

  /** As {@link #gc(java.time.Duration, ProgressListener, ProgressListener)}, deleting nothing: {@code sweeping} counts. */
  public GcResult gcDryRun(java.time.Duration grace, ProgressListener marking, ProgressListener sweeping) {
    return collectGarbage(grace, true, marking, sweeping);
  }

  private GcResult collectGarbage(java.time.Duration grace, boolean dryRun, ProgressListener marking,
      ProgressListener sweeping) {
    java.util.Objects.requireNonNull(grace, "grace");
    try (RepositoryLock.Hold exclusive = lock.exclusive()) {
      return new GarbageCollector(this, meta, clock).run(grace, dryRun, marking, sweeping);
    }
  }

  /**
   * Merges small packs (one per small commit) as a long-running writer such as a gateway can
   * afford to between commits; see {@link io.dharmana.store.PackedBlobStore#mergeSmallPacks}.
   * Runs as a writer does: never while a gc runs.
   */
  public io.dharmana.store.PackedBlobStore.RepackResult mergeSmallPacks() {
    try (RepositoryLock.Hold shared = lock.shared()) {
      return tiers.mergeSmallPacks();
    }
  }

  /**
   * Lets go of packs a gc in another process deleted ({@link
   * io.dharmana.store.TieredStore#releaseDeletedPacks}), as a long-running reader such as a
   * gateway must now and then: a gc run by hand while a gateway serves deletes packs the gateway
   * has open and mapped, whose disk space is freed only once the gateway lets go of them. Runs as a
   * writer does: never while a gc runs.
   */
  public void releaseDeletedPacks() {
    try (RepositoryLock.Hold shared = lock.shared()) {
      tiers.releaseDeletedPacks();
    }
  }

  /** Totals over everything the repository holds. */
  public RepositoryStats stats() {
    return RepositoryStats.of(this, meta);
  }

  /**
   * The tiers' counters as {@code before} a statistics pass's reads, without the reads of earlier
   * passes; records what this pass read ({@code after} minus {@code before}) for the next ones.
   * Work of other threads during a pass is taken out with it.
   */
  synchronized List<TierStats> tierStatsWithoutStatsReads(List<TierStats> before, List<TierStats> after) {
    List<TierStats> result = new ArrayList<>(before.size());
    for (int i = 0; i < before.size(); i++) {
      TierStats b = before.get(i);
      TierStats earlier = statsReads.get(b.name());
      result.add(earlier == null ? b : b.minus(earlier));
      TierStats read = after.get(i).minus(b);
      statsReads.put(b.name(), earlier == null ? read : new TierStats(b.name(), 0, 0, earlier.hits() + read.hits(),
          earlier.misses() + read.misses(), earlier.promotions() + read.promotions(), earlier.demotions() + read.demotions(),
          earlier.bytesPromoted() + read.bytesPromoted(), earlier.bytesDemoted() + read.bytesDemoted()));
    }
    return result;
  }

  /** Waits until background copies to lower tiers are done. */
  public void flush() {
    tiers.flush();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      tiers.flush();
      if (!uncopiedMarkers.isEmpty() && tiers.caughtUp()) {
        for (Path marker : uncopiedMarkers) {
          Files.deleteIfExists(marker);
        }
      }
    } catch (UncheckedIOException e) {
      // what was committed is durable on the write tier, which keeps it until a lower tier holds it
      LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; they stay on the write tier, which holds them durably and copies them down before it lets them go");
      recordUncopied(tiers.pendingCopies());
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "Cannot delete a record of copies left undone: " + e.getMessage());
    } finally {
      runtime.close();
      tiers.close();
      meta.close();
      lock.close();
    }
  }
}
