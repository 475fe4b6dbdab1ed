package io.dharmana.checkpoint;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Ref;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.stage.StageSpec;
import io.dharmana.store.Stores;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.SafetensorsHeader;
import io.dharmana.tensor.TensorInfo;
import io.dharmana.tensor.file.CompressOptions;
import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorFileReader;
import io.dharmana.tensor.file.TensorFileWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code .safetensors} objects put through a pipeline that float-codes (has a {@code float-split}
 * stage), as the gateway's checkpoint buckets are. Each is stored as a Dharmana tensor file ({@code
 * .dhz}, as {@code dharmana compress} writes it): every tensor float-coded by its dtype and, where a
 * parent object holds a tensor of the same name, dtype and shape, coded as a delta against it. A
 * file that does not parse as safetensors is stored as it came, through the pipeline asked for.
 *
 * <p>The parent is the newest tensor-coded object under the same first name segment (the gateway's
 * bucket) whose name is this one's with its numbers ignored: {@code
 * run-1/step-2000/model.safetensors} for {@code run-1/step-2010/model.safetensors}, or the object
 * an overwrite replaces. Puts of one pattern that arrive together (as {@code aws s3 sync} sends a
 * directory of steps) are coded one after the other, each against the one before it ({@link
 * InFlightPuts}). The child's manifest includes the parent's, so gc keeps the parent's data
 * as long as a child needs it, even once the parent's name is gone. Chains are cut ({@link
 * #FULL_EVERY}) so that a cold read decodes a bounded number of files.
 *
 * <p>Reads decode the whole file once into a cache of decoded files on the repository's disk,
 * bounded by bytes, so that the ranged GETs a client splits a download into share one decode; a put
 * leaves its own input there, so the next step's put finds its parent decoded. Decoding checks
 * every tensor's CRC-32C and the whole file's checksum (see {@link TensorFileReader#decompress});
 * the parent is the one the child's manifest names by its (content-addressed) id, and a tensor
 * decoded against a wrong one would fail its CRC-32C. The cache belongs to one instance and is
 * removed by the next process that finds it abandoned, or by {@link #close}.
 *
 * <p>A read streams: the decode writes the file in its order (the safetensors header, then the
 * tensors by offset) on a thread of its own, and a read of bytes {@code [a, b)} is served each byte
 * as soon as the decode has written and verified the file up to it, not once the whole file is
 * decoded. The stored tensor file is fetched for the decode in the order it reads it (its index
 * first, then its tensors from the start: {@link TensorFileReader#open(Path,
 * TensorFileReader.Arrival)}), so the first byte of a many-gigabyte checkpoint leaves once its
 * index, header and first tensor are fetched and decoded, not after all of it. What "verified"
 * means: in the tensor files puts write (format version 3) the header region and the index are
 * checked before anything is written and every tensor by its CRC-32C before it is written, so no
 * byte is served unchecked; an older file (versions 1 and 2, checked only by the SHA-256 of the
 * whole output) is served once it is decoded whole. When the decode fails (damaged data), readers
 * waiting for bytes it had not reached fail: {@link #open} throws when the first byte asked for
 * cannot be had, and a stream throws {@link IOException} from {@code read} on reaching the failure
 * (a server must then cut its response, not complete it). Bytes served before the failure were
 * verified and stay right. A delta child's decode follows its parent's the same way: a child's
 * tensor is decoded once the parent's tensor of that name is, so a cold read of the end of a chain
 * streams through all its links. Files being decoded are not counted in the cache's bound and are
 * never evicted; a file evicted while read stays readable by its open readers.
 *
 * <p>Thread-safe.
 */
public final class TensorObjects implements AutoCloseable {
  /** Manifest attribute marking a tensor-coded object; its value is the coding ({@code dhz}). */
  public static final String CODING = ObjectManifest.TENSOR_FILE_CODING;
  /** Manifest attribute: the manifest id of the parent a delta-coded object was coded against. */
  public static final String BASE = "tensor-file.base";
  /** Manifest attribute: links from this object to the first of its chain stored whole. */
  public static final String DEPTH = "tensor-file.depth";
  /** An object is coded whole when its chain would reach this many links. */
  public static final int FULL_EVERY = 8;
  /** The default bound of the cache of decoded files: 4 GiB. */
  public static final long DEFAULT_CACHE_BYTES = 4L << 30;
  private static final String DIR_PREFIX = "gateway-tensors-";
  private static final System.Logger LOG = System.getLogger(TensorObjects.class.getName());

  /**
   * How long a put waits for the put of its pattern received before it to finish, to be coded
   * against it (see {@link InFlightPuts}): well under the 30 s after which the Java SDK gives up on
   * a response, the put's own coding included.
   */
  static final Duration PREDECESSOR_WAIT = Duration.ofSeconds(10);

  /**
   * How long a decode that found the stored data damaged is remembered. A client retries a failed
   * GET (the SDKs three times within seconds): a retry of a read at or past the damage fails at
   * once instead of fetching and decoding the file up to it again. Damage stays until a repair
   * (`dharmana verify --repair`, another process), hence a bound.
   */
  static final Duration DAMAGE_MEMORY = Duration.ofMinutes(1);

  private final Repository repository;
  private final InFlightPuts inFlight = new InFlightPuts(PREDECESSOR_WAIT);
  private final Path dir;
  private final long cacheBytes;
  /** Manifest id to the size of its decoded file in {@link #dir}, least recently used first. */
  private final LinkedHashMap<String, Long> cached = new LinkedHashMap<>(16, 0.75f, true);
  private long cachedTotal;
  /** Manifest id to its decode under way; removed once the file is in {@link #cached} or the decode failed. */
  private final Map<String, Decoding> decoding = new ConcurrentHashMap<>();
  /** Manifest id to the damage its last decode found, for {@link #DAMAGE_MEMORY}. */
  private final Map<String, Damage> damaged = new ConcurrentHashMap<>();
  private boolean closed;

  /**
   * @param cacheBytes the disk the decoded files may take in the repository's {@code cache/}
   *     directory; one file is kept even when it is larger
   */
  public TensorObjects(Repository repository, long cacheBytes) {
    this.repository = repository;
    this.cacheBytes = cacheBytes;
    Path caches = repository.root().resolve("cache");
    // one directory per instance (two backends of one process must not share it), named by the
    // process so that the next process can tell it is abandoned
    this.dir = caches.resolve(DIR_PREFIX + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8));
    try {
      removeAbandoned(caches);
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot make the cache of decoded tensor files " + dir, e);
    }
  }

  /**
   * Whether a put of {@code name} through {@code pipeline} (null: the default) of {@code repository}
   * takes this path: a {@code .safetensors} name and a pipeline with a {@code float-split} stage.
   */
  public static boolean applies(Repository repository, String pipeline, String name) {
    if (!name.toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
      return false;
    }
    String p = pipeline == null ? repository.descriptor().name() : pipeline;
    return repository.pipeline(p).map(d -> d.storage().stages().stream().map(StageSpec::name).anyMatch("float-split"::equals))
        .orElse(false);
  }

  /** Whether {@code manifest} is of an object this class stored tensor-coded. */
  public static boolean coded(ObjectManifest manifest) {
    return manifest.attributes().containsKey(CODING);
  }

  /**
   * {@code info} as users see the object: for a tensor-coded one, the size of the file put, no
   * SHA-256 (the tensor file checks the original with its own checksum), and
   * without the attributes this class keeps in its manifest (they describe how the stored bytes are
   * coded, not the object, and must not travel with a copy). Other objects are returned as they are.
   */
  public static ObjectInfo asPut(ObjectInfo info) {
    Map<String, String> attributes = info.attributes();
    String size = attributes.get(ObjectManifest.ENCODED_FROM_SIZE);
    if (!attributes.containsKey(CODING) || size == null) {
      return info;
    }
    Map<String, String> user = new TreeMap<>(attributes);
    user.keySet().removeAll(List.of(CODING, BASE, DEPTH, ObjectManifest.ENCODED_FROM_SIZE, ObjectManifest.PUT_TO_PIPELINE));
    long putSize;
    try {
      putSize = Long.parseLong(size);
    } catch (NumberFormatException garbled) {
      putSize = info.size(); // a figure, not data: reads still decode the whole file
    }
    return new ObjectInfo(info.name(), putSize, info.storedBytes(), "", info.created(),
        attributes.getOrDefault(ObjectManifest.PUT_TO_PIPELINE, info.pipeline()), user,
        info.manifestId(), info.version(), info.lossy());
  }

  /** Stores {@code data} under {@code name}, tensor-coded if it is a safetensors file. */
  public ObjectInfo put(String name, InputStream data, PutOptions options) {
    return put(name, data, options, ProgressListener.NONE);
  }

  /**
   * As {@link #put(String, InputStream, PutOptions)}, telling {@code progress} the tensor bytes
   * coded of all the file holds (or, for a file stored as it came, the bytes stored).
   */
  public ObjectInfo put(String name, InputStream data, PutOptions options, ProgressListener progress) {
    Path input = temporary(".safetensors");
    Path encoded = temporary(".dhz");
    try {
      Files.copy(data, input, StandardCopyOption.REPLACE_EXISTING);
      if (!isSafetensors(input)) {
        try (InputStream in = Files.newInputStream(input)) {
          return repository.put(name, in, options, progress);
        }
      }
      String pattern = pattern(name);
      CompletableFuture<Void> done = new CompletableFuture<>();
      InFlightPuts.Put before = inFlight.enter(pattern, name, done);
      try {
        if (before != null && !inFlight.await(before)) {
          LOG.log(System.Logger.Level.INFO, "Coding " + name + " without waiting longer than " + PREDECESSOR_WAIT.toSeconds()
              + " s for " + before.name() + ", put before it, to be committed as its parent");
        }
        return putCoded(name, input, encoded, options, progress);
      } finally {
        inFlight.finished(pattern, done);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot put " + name + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(input, encoded);
    }
  }

  /** Codes the safetensors file {@code input} into {@code encoded}, against its parent if it has one, and puts it. */
  private ObjectInfo putCoded(String name, Path input, Path encoded, PutOptions options, ProgressListener progress)
      throws IOException {
    Path base = null;
    try {
      Optional<ObjectInfo> parent = parent(name);
      int depth = parent.map(p -> depth(p.attributes()) + 1).orElse(0);
      if (depth >= FULL_EVERY) {
        parent = Optional.empty();
        depth = 0;
      }
      if (parent.isPresent()) {
        try {
          base = pinned(parent.get().manifestId(), "parent " + parent.get().name(), 0);
        } catch (CorruptDataException | NotFoundException e) {
          // the parent is damaged or gone: code this step whole rather than fail the put
          LOG.log(System.Logger.Level.WARNING, "Storing " + name + " without a delta: its parent "
              + parent.get().name() + " cannot be read (" + e.getMessage() + ")");
          parent = Optional.empty();
          depth = 0;
        }
      }
      CompressionResult result = TensorFileWriter.compress(input, encoded, CompressOptions.defaults().withBase(base), progress);
      Map<String, String> attributes = new TreeMap<>(options.attributes());
      attributes.put(CODING, "dhz");
      attributes.put(DEPTH, Integer.toString(depth));
      attributes.put(ObjectManifest.ENCODED_FROM_SIZE, Long.toString(Files.size(input)));
      attributes.put(ObjectManifest.PUT_TO_PIPELINE, options.pipeline().orElse(repository.descriptor().name()));
      parent.ifPresent(p -> attributes.put(BASE, p.manifestId()));
      // no whole-object SHA-256: it would be the .dhz file's; the tensor file checks the original itself
      PutOptions coded = options.withPipeline(CheckpointManager.ensurePipeline(repository)).withAttributes(attributes).withoutOriginalHash()
          .withIncludes(parent.map(p -> List.of(p.manifestId())).orElse(List.of()));
      ObjectInfo info;
      try (InputStream in = Files.newInputStream(encoded)) {
        info = repository.put(name, in, coded);
      }
      repository.metrics(CheckpointManager.PIPELINE).step(
          parent.isPresent() ? "float-codec-delta" : "float-codec", "encode", Files.size(input), Files.size(encoded),
          (long) (result.seconds() * 1e9));
      admit(info.manifestId(), input);
      return info;
    } finally {
      deleteQuietly(base);
    }
  }

  /**
   * Opens {@code length} bytes from {@code offset} (cut at the end) of the object whose manifest is
   * {@code manifestId}, as it was put; {@code what} names it in errors. Returns once the first byte
   * asked for is decoded (or at once when cached): the stream then waits for the later ones as the
   * decode reaches them, and throws {@link IOException} if the decode fails before.
   *
   * @throws CorruptDataException if the object is damaged before the first byte asked for
   */
  public InputStream open(String manifestId, String what, long offset, long length) {
    Damage damage = damaged.get(manifestId);
    if (damage != null) {
      if (System.nanoTime() - damage.found() > DAMAGE_MEMORY.toNanos()) {
        damaged.remove(manifestId, damage);
      } else if (offset >= damage.verified()) {
        throw new CorruptDataException(damage.failure().getMessage(), damage.failure());
      }
    }
    Source source = source(manifestId, what, 0);
    try {
      long size;
      if (source.decoding() == null) {
        size = source.channel().size();
      } else {
        source.decoding().available(offset);
        size = source.decoding().size();
      }
      long from = Math.min(offset, size);
      long count = Math.min(length, size - from);
      if (source.decoding() == null) {
        source.channel().position(from);
        return new LimitedStream(Channels.newInputStream(source.channel()), count);
      }
      return new DecodingStream(source.channel(), source.decoding(), what, from, count);
    } catch (IOException e) {
      closeQuietly(source.channel());
      throw new UncheckedIOException("Cannot read " + what, e);
    } catch (RuntimeException e) {
      closeQuietly(source.channel());
      throw e;
    }
  }

  /** Removes this instance's cache; reads opened before keep their files. */
  @Override
  public synchronized void close() {
    closed = true;
    cached.clear();
    cachedTotal = 0;
    Stores.deleteTreeQuietly(dir, false);
  }

  private static boolean isSafetensors(Path file) {
    try (SafetensorsFile parsed = Safetensors.open(file)) {
      return true;
    } catch (InvalidDescriptorException | CorruptDataException notSafetensors) {
      return false;
    }
  }

  /**
   * The newest tensor-coded object of {@code name}'s bucket whose key matches {@code name}'s with
   * its numbers ignored.
   */
  private Optional<ObjectInfo> parent(String name) {
    int keyStart = name.indexOf('/') + 1;
    String pattern = pattern(name);
    int firstDigit = keyStart;
    while (firstDigit < name.length() && !Character.isDigit(name.charAt(firstDigit))) {
      firstDigit++;
    }
    String objects = "objects/";
    List<Ref> candidates = repository.refs().list(objects + name.substring(0, firstDigit)).stream()
        .filter(r -> pattern(r.name().substring(objects.length())).equals(pattern))
        .sorted(Comparator.comparing(Ref::updated).thenComparing(Ref::name).reversed())
        .toList();
    // the newest that is tensor-coded: one stored as it came (not safetensors) is skipped
    for (Ref r : candidates.subList(0, Math.min(3, candidates.size()))) {
      Optional<ObjectInfo> info = repository.stat(r.name().substring(objects.length()));
      if (info.isPresent() && info.get().attributes().containsKey(CODING)) {
        return info;
      }
    }
    return Optional.empty();
  }

  /** {@code name}'s bucket and its key with the numbers ignored: the objects of one pattern are each other's parents. */
  private static String pattern(String name) {
    int keyStart = name.indexOf('/') + 1;
    return name.substring(0, keyStart) + numbersIgnored(name.substring(keyStart));
  }

  private static String numbersIgnored(String key) {
    return key.replaceAll("[0-9]+", "#");
  }

  private static int depth(Map<String, String> attributes) {
    try {
      return Integer.parseInt(attributes.getOrDefault(DEPTH, "0"));
    } catch (NumberFormatException garbled) {
      return FULL_EVERY; // code the child whole rather than trust a damaged chain
    }
  }

  /**
   * A private link to the decoded file of {@code manifestId} (decoding it whole if needed), which
   * stays readable while the cache evicts; the caller deletes it.
   */
  private Path pinned(String manifestId, String what, int links) {
    while (true) {
      Source source = source(manifestId, what, links);
      closeQuietly(source.channel());
      if (source.decoding() != null) {
        source.decoding().awaitEnd();
      }
      Path link = temporary(".base.safetensors");
      synchronized (this) {
        Path file = cacheFile(manifestId);
        try {
          if (cached.containsKey(manifestId)) {
            Files.createLink(link, file);
            return link;
          }
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot link " + file + " to " + link, e);
        }
      }
      // evicted between the decode and the link (a cache smaller than two files): decode again
    }
  }

  /** A decode's failure on damaged data, the bytes it had verified before, and when ({@link System#nanoTime}). */
  private record Damage(CorruptDataException failure, long verified, long found) {}

  /** An open channel on the decoded file of {@code manifestId}: whole, or with the decode that is writing it. */
  private record Source(FileChannel channel, Decoding decoding) {}

  /**
   * The decoded file of {@code manifestId}: from the cache, or being written by a decode, which this
   * starts (and its parents', which it follows) when none is under way.
   */
  private Source source(String manifestId, String what, int links) {
    // content-addressed manifests cannot form a loop and puts cut chains at FULL_EVERY: a guard only
    if (links > FULL_EVERY * 4) {
      throw new CorruptDataException("Cannot read " + what + ": its delta chain is longer than " + FULL_EVERY * 4 + " links (a cycle?)");
    }
    while (true) {
      synchronized (this) {
        if (cached.get(manifestId) != null) {
          try {
            return new Source(FileChannel.open(cacheFile(manifestId), StandardOpenOption.READ), null);
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the decoded " + what, e);
          }
        }
      }
      Decoding running = decoding.get(manifestId);
      if (running == null) {
        Decoding mine = new Decoding(temporary(".safetensors"));
        running = decoding.putIfAbsent(manifestId, mine);
        if (running == null) {
          running = mine;
          Thread t = new Thread(() -> decode(manifestId, what, links, mine), "dharmana-tensor-decode");
          t.setDaemon(true);
          t.start();
        } else {
          deleteQuietly(mine.file);
        }
      }
      try {
        // another request's decode is shared: its file is read as it grows
        return new Source(FileChannel.open(running.file, StandardOpenOption.READ), running);
      } catch (NoSuchFileException moved) {
        running.throwIfFailed(); // else it is done and moved into the cache (or evicted since): look again
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot open the decoded " + what, e);
      }
    }
  }

  /** Decodes the object of {@code manifestId} into {@code into}'s file, telling its readers how far it is, and caches it. */
  private void decode(String manifestId, String what, int links, Decoding into) {
    Path encoded = temporary(".dhz");
    try {
      ObjectManifest manifest = repository.manifest(manifestId);
      Files.createFile(encoded);
      String baseId = manifest.attributes().get(BASE);
      try (Fetch fetch = new Fetch(encoded, manifest.size(),
          (offset, length) -> repository.runtime().open(manifest, offset, length, repository.metrics(manifest.pipeline()), what));
          ParentFile parent = baseId == null ? null
              : new ParentFile(source(baseId, what + " (delta base " + baseId + ")", links + 1), what + " (delta base " + baseId + ")")) {
        long start = System.nanoTime();
        try (TensorFileReader reader = TensorFileReader.open(encoded, fetch);
            FileChannel out = FileChannel.open(into.file, StandardOpenOption.WRITE)) {
          into.sized(reader.originalSize());
          reader.decompress(out, parent, Runtime.getRuntime().availableProcessors(), into::verified);
        }
        repository.metrics(manifest.pipeline()).step(baseId == null ? "float-codec" : "float-codec-delta", "decode",
            manifest.size(), into.size(), System.nanoTime() - start);
      }
      admit(manifestId, into.file);
      damaged.remove(manifestId);
      decoding.remove(manifestId, into);
      into.finished();
    } catch (IOException | RuntimeException e) {
      if (e instanceof CorruptDataException corrupt) {
        // the same bytes fail the same way: remembered, with the end of what was verified before
        damaged.put(manifestId, new Damage(corrupt, into.verifiedBytes(), System.nanoTime()));
      }
      // readers first learn of the failure, then the file goes: one that finds it gone asks why
      into.failed(e instanceof IOException io ? new UncheckedIOException("Cannot read " + what + ": " + io.getMessage(), io) : (RuntimeException) e);
      deleteQuietly(into.file);
      decoding.remove(manifestId, into);
    } catch (Error e) {
      // readers must not wait for a decode that died (out of memory): they fail with it
      into.failed(new IllegalStateException("Cannot read " + what + ": " + e, e));
      deleteQuietly(into.file);
      decoding.remove(manifestId, into);
      throw e;
    } finally {
      deleteQuietly(encoded);
    }
  }

  /** Moves {@code decoded} into the cache as the file of {@code manifestId}, evicting the least recently used. */
  private synchronized void admit(String manifestId, Path decoded) throws IOException {
    if (closed) {
      deleteQuietly(decoded); // a decode that outlived close: readers keep their open files
      return;
    }
    long size = Files.size(decoded);
    Files.move(decoded, cacheFile(manifestId), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Long previous = cached.put(manifestId, size);
    cachedTotal += size - (previous == null ? 0 : previous);
    var eldest = cached.entrySet().iterator();
    while (cachedTotal > cacheBytes && cached.size() > 1) {
      Map.Entry<String, Long> e = eldest.next();
      if (e.getKey().equals(manifestId)) {
        continue;
      }
      // readers that opened the file keep reading it: unlinking does not take it from them
      deleteQuietly(cacheFile(e.getKey()));
      cachedTotal -= e.getValue();
      eldest.remove();
    }
  }

  private Path cacheFile(String manifestId) {
    return dir.resolve(manifestId + ".safetensors");
  }

  private Path temporary(String suffix) {
    return dir.resolve("tmp-" + UUID.randomUUID() + suffix);
  }

  /** Removes the caches of gateway processes that are gone. */
  private static void removeAbandoned(Path caches) throws IOException {
    if (!Files.isDirectory(caches)) {
      return;
    }
    try (DirectoryStream<Path> all = Files.newDirectoryStream(caches, DIR_PREFIX + "*")) {
      for (Path d : all) {
        String pid = d.getFileName().toString().substring(DIR_PREFIX.length()).replaceFirst("-.*", "");
        boolean alive = pid.matches("[0-9]{1,18}") && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
        if (!alive) {
          Stores.deleteTreeQuietly(d, false);
        }
      }
    }
  }

  /** Deletes the temporary files given (nulls skipped). */
  private static void deleteQuietly(Path... files) {
    for (Path file : files) {
      try {
        if (file != null) {
          Files.deleteIfExists(file);
        }
      } catch (IOException ignored) {
        // a temporary file: the next process removes the whole directory
      }
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // read-only
    }
  }

  /**
   * One decode of an object into a file of the cache directory, which readers follow as it grows.
   * The file exists from construction until the decode fails (then it is deleted) or succeeds (then
   * it is moved into the cache); readers open it by name and keep their channel.
   */
  private static final class Decoding {
    final Path file;
    private long size = -1; // known once the tensor file is opened
    private long verified; // bytes [0, verified) of the file are written and verified
    private boolean done;
    private RuntimeException failure;

    Decoding(Path file) {
      this.file = file;
      try {
        Files.createFile(file);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot make the decoded file " + file, e);
      }
    }

    synchronized void sized(long bytes) {
      size = bytes;
      notifyAll();
    }

    synchronized long size() {
      return size;
    }

    synchronized void verified(long bytes) {
      verified = bytes;
      notifyAll();
    }

    synchronized long verifiedBytes() {
      return verified;
    }

    synchronized void finished() {
      done = true;
      notifyAll();
    }

    synchronized void failed(RuntimeException e) {
      failure = e;
      notifyAll();
    }

    synchronized void throwIfFailed() {
      if (failure != null) {
        throw failure;
      }
    }

    /**
     * Waits until the byte at {@code position} is verified, or the file is known to end at or before
     * it, and returns how many bytes from the start are verified.
     *
     * @throws RuntimeException the decode's failure, when it failed before reaching {@code position}
     */
    synchronized long available(long position) {
      boolean interrupted = false;
      try {
        while (true) {
          if (size >= 0 && (verified > position || position >= size)) {
            return verified;
          }
          if (failure != null) {
            throw failure;
          }
          try {
            wait();
          } catch (InterruptedException e) {
            interrupted = true; // a read is not abandoned half way: the decode ends either way
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }

    /** Waits until the decode is done and its file in the cache; throws its failure. */
    synchronized void awaitEnd() {
      boolean interrupted = false;
      try {
        while (!done) {
          if (failure != null) {
            throw failure;
          }
          try {
            wait();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /**
   * A delta child's parent, decoded file of a {@link Source}: whole, or followed as its decode
   * writes it, so that the child's first tensors decode once the parent's are there. The open
   * channel keeps the file readable while the cache evicts it. Which parent it is was settled by
   * the child's manifest (content-addressed ids); every tensor decoded against it is checked by
   * its CRC-32C.
   */
  private static final class ParentFile implements TensorFileReader.ParentTensors, AutoCloseable {
    private static final long MAP_BYTES = 1 << 20;
    private final Source source;
    private final String what;
    private Map<String, TensorInfo> tensors; // from its safetensors header, read once it is there
    private long dataStart;

    ParentFile(Source source, String what) {
      this.source = source;
      this.what = what;
    }

    @Override
    public ByteBuffer data(String name, long offset, int length) {
      TensorInfo info = header().get(name);
      if (info == null) {
        throw new NotFoundException("Cannot find tensor '" + name + "' in " + what);
      }
      if (offset < 0 || offset + length > info.byteSize()) {
        throw new IndexOutOfBoundsException("Cannot read bytes [" + offset + ", " + (offset + length) + ") of tensor " + name + " of "
            + what + ": it holds " + info.byteSize());
      }
      long from = dataStart + info.begin() + offset;
      try {
        awaitVerified(from + length);
        // large tensors mapped (no copy on the heap), small ones read: a file of many thousand
        // tensors must not leave as many mappings until the next collection
        return length < MAP_BYTES ? read(from, length) : source.channel().map(FileChannel.MapMode.READ_ONLY, from, length);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read tensor " + name + " of " + what, e);
      }
    }

    private synchronized Map<String, TensorInfo> header() {
      if (tensors == null) {
        try {
          awaitVerified(8);
          ByteBuffer length = read(0, 8);
          long headerLength = length.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
          long size = source.decoding() == null ? source.channel().size() : source.decoding().size();
          if (headerLength < 0 || headerLength > Math.min(SafetensorsHeader.MAX_HEADER_BYTES, size - 8)) {
            throw new CorruptDataException("Cannot read " + what + ": its decoded header length " + headerLength + " is out of range");
          }
          awaitVerified(8 + headerLength);
          byte[] header = new byte[(int) headerLength];
          read(8, (int) headerLength).get(header);
          dataStart = 8 + headerLength;
          Map<String, TensorInfo> byName = new HashMap<>();
          for (TensorInfo t : SafetensorsHeader.parse(header, size - dataStart).tensors()) {
            byName.put(t.name(), t);
          }
          tensors = byName;
        } catch (InvalidDescriptorException e) {
          throw new CorruptDataException("Cannot read " + what + ": its decoded header is invalid: " + e.getMessage(), e);
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot read " + what, e);
        }
      }
      return tensors;
    }

    /** Waits until bytes {@code [0, end)} of the parent are verified; throws the parent's failure. */
    private void awaitVerified(long end) {
      if (source.decoding() != null && end > 0) {
        source.decoding().available(end - 1);
      }
    }

    private ByteBuffer read(long position, int length) throws IOException {
      ByteBuffer buffer = ByteBuffer.allocate(length);
      while (buffer.hasRemaining()) {
        if (source.channel().read(buffer, position + buffer.position()) < 0) {
          throw new CorruptDataException("Cannot read " + what + ": its decoded file ends at byte " + (position + buffer.position()));
        }
      }
      return buffer.flip();
    }

    @Override
    public void close() {
      closeQuietly(source.channel());
    }
  }

  /** {@code remaining} bytes from {@code position} of a file a {@link Decoding} is writing, each read once verified. */
  private static final class DecodingStream extends InputStream {
    private final FileChannel channel;
    private final Decoding decoding;
    private final String what;
    private long position;
    private long remaining;
    private long verified; // as far as the decode was known to be verified: no need to ask below it

    DecodingStream(FileChannel channel, Decoding decoding, String what, long position, long remaining) {
      this.channel = channel;
      this.decoding = decoding;
      this.what = what;
      this.position = position;
      this.remaining = remaining;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      if (position >= verified) {
        try {
          verified = decoding.available(position);
        } catch (RuntimeException e) {
          throw new IOException("Cannot read " + what + " at byte " + position + ": " + e.getMessage(), e);
        }
        if (position >= verified) {
          throw new IOException("Cannot read " + what + ": its decoded file ends at byte " + verified + ", before " + position);
        }
      }
      int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, Math.min(remaining, verified - position))), position);
      if (n < 0) {
        throw new IOException("Cannot read " + what + ": its decoded file ends at byte " + position + ", before its verified "
            + verified);
      }
      position += n;
      remaining -= n;
      if (remaining == 0 && position == decoding.size()) {
        // The decode's last steps (its time and bytes into the metrics, its file into the cache)
        // end before its last bytes are handed over: a command that records its run right after
        // counts it. Without the wait, `get -r` of five delta-coded steps at times counted four.
        try {
          decoding.awaitEnd();
        } catch (RuntimeException afterEveryByteWasVerified) {
          // the bytes read are verified; a failure to cache the file is the next reader's concern
        }
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  /**
   * An object's stored tensor file fetched into a local file in the order a decode reads it: its
   * last {@link #TAIL_BYTES} (which hold the index and trailer of all but huge indexes) before the
   * constructor returns, then from its start on a thread of its own, so that the decode of the first
   * tensors overlaps the fetch of the later ones. {@link #close} stops the fetch and waits for it.
   */
  private static final class Fetch implements TensorFileReader.Arrival, AutoCloseable {
    static final long TAIL_BYTES = 1L << 20;
    private static final int BUFFER_BYTES = 1 << 20;

    /** Opens a range of the stored object. */
    @FunctionalInterface
    interface Ranges {
      InputStream open(long offset, long length);
    }

    private final Path file;
    private final Ranges ranges;
    private final long tailStart;
    private final Thread thread;
    private long fetched; // bytes [0, fetched) are written
    private Exception failure; // the fetch's: a damaged chunk's CorruptDataException is given as it is
    private volatile boolean stopped;

    Fetch(Path file, long size, Ranges ranges) throws IOException {
      this.file = file;
      this.ranges = ranges;
      this.tailStart = Math.max(0, size - TAIL_BYTES);
      try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
        copy(ranges.open(tailStart, size - tailStart), out, tailStart, size, end -> { });
      }
      if (tailStart == 0) {
        thread = null;
        return;
      }
      thread = new Thread(this::fetchFromStart, "dharmana-tensor-fetch");
      thread.setDaemon(true);
      thread.start();
    }

    private void fetchFromStart() {
      try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
        copy(ranges.open(0, tailStart), out, 0, tailStart, this::fetched);
      } catch (IOException | RuntimeException e) {
        synchronized (this) {
          failure = e;
          notifyAll();
        }
      }
    }

    /** Copies {@code stream} to {@code [from, to)} of {@code out}, telling {@code written} how far it got. */
    private void copy(InputStream stream, FileChannel out, long from, long to, java.util.function.LongConsumer written) throws IOException {
      try (InputStream in = stream) {
        byte[] buffer = new byte[BUFFER_BYTES];
        for (long position = from; position < to; ) {
          if (stopped) {
            throw new IOException("Cannot fetch " + file + ": stopped");
          }
          int n = in.readNBytes(buffer, 0, (int) Math.min(buffer.length, to - position));
          if (n == 0) {
            throw new CorruptDataException("Cannot fetch " + file + ": the stored object ended at byte " + position + " of " + to);
          }
          for (ByteBuffer b = ByteBuffer.wrap(buffer, 0, n); b.hasRemaining(); ) {
            out.write(b, position + b.position());
          }
          position += n;
          written.accept(position);
        }
      }
    }

    private synchronized void fetched(long end) {
      fetched = end;
      notifyAll();
    }

    @Override
    public synchronized void await(long position, long length) throws IOException {
      long needed = position >= tailStart ? 0 : Math.min(position + length, tailStart); // the tail is there from the start
      while (fetched < needed) {
        if (failure instanceof RuntimeException r) {
          throw r;
        }
        if (failure != null) {
          throw new IOException(failure.getMessage(), failure);
        }
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("Cannot read " + file + ": interrupted while it is fetched");
        }
      }
    }

    @Override
    public void close() {
      stopped = true;
      if (thread == null) {
        return;
      }
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** At most {@code remaining} bytes of a stream. */
  private static final class LimitedStream extends InputStream {
    private final InputStream in;
    private long remaining;

    LimitedStream(InputStream in, long remaining) {
      this.in = in;
      this.remaining = remaining;
    }

    @Override
    public int read() throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        remaining--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, remaining));
      if (n > 0) {
        remaining -= n;
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
