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
import io.dharmana.tensor.file.CompressOptions;
import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorFileReader;
import io.dharmana.tensor.file.TensorFileWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
 * an overwrite replaces. The child's manifest includes the parent's, so gc keeps the parent's data
 * as long as a child needs it, even once the parent's name is gone. Chains are cut ({@link
 * #FULL_EVERY}) so that a cold read decodes a bounded number of files.
 *
 * <p>Reads decode the whole file once into a cache of decoded files on the repository's disk,
 * bounded by bytes, so that the ranged GETs a client splits a download into share one decode; a put
 * leaves its own input there, so the next step's put finds its parent decoded. Decoding checks
 * every tensor's CRC-32C, the parent's SHA-256 and the whole file's checksum (see {@link
 * TensorFileReader#decompress}). The cache belongs to one instance and is removed by the next
 * process that finds it abandoned, or by {@link #close}.
 *
 * <p>Thread-safe.
 */
public final class TensorObjects implements AutoCloseable {
  /** Manifest attribute marking a tensor-coded object; its value is the coding ({@code dhz}). */
  public static final String CODING = "tensor-file.coding";
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

  private final Repository repository;
  private final Path dir;
  private final long cacheBytes;
  /** Manifest id to the size of its decoded file in {@link #dir}, least recently used first. */
  private final LinkedHashMap<String, Long> cached = new LinkedHashMap<>(16, 0.75f, true);
  private long cachedTotal;
  private final Map<String, CompletableFuture<Void>> decoding = new ConcurrentHashMap<>();

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
    user.keySet().removeAll(List.of(CODING, BASE, DEPTH, ObjectManifest.ENCODED_FROM_SIZE));
    long putSize;
    try {
      putSize = Long.parseLong(size);
    } catch (NumberFormatException garbled) {
      putSize = info.size(); // a figure, not data: reads still decode the whole file
    }
    return new ObjectInfo(info.name(), putSize, info.storedBytes(), "", info.created(), info.pipeline(), user,
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
    Path base = null;
    try {
      Files.copy(data, input, StandardCopyOption.REPLACE_EXISTING);
      if (!isSafetensors(input)) {
        try (InputStream in = Files.newInputStream(input)) {
          return repository.put(name, in, options, progress);
        }
      }
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
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot put " + name + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(input, encoded, base);
    }
  }

  /**
   * Opens {@code length} bytes from {@code offset} (cut at the end) of the object whose manifest is
   * {@code manifestId}, as it was put; {@code what} names it in errors.
   */
  public InputStream open(String manifestId, String what, long offset, long length) {
    FileChannel channel = decoded(manifestId, what, 0);
    try {
      long size = channel.size();
      long from = Math.min(offset, size);
      channel.position(from);
      return new LimitedStream(Channels.newInputStream(channel), Math.min(length, size - from));
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("Cannot read " + what, e);
    }
  }

  /** Removes this instance's cache; reads opened before keep their files. */
  @Override
  public synchronized void close() {
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
    String pattern = numbersIgnored(name.substring(keyStart));
    int firstDigit = keyStart;
    while (firstDigit < name.length() && !Character.isDigit(name.charAt(firstDigit))) {
      firstDigit++;
    }
    String objects = "objects/";
    List<Ref> candidates = repository.refs().list(objects + name.substring(0, firstDigit)).stream()
        .filter(r -> numbersIgnored(r.name().substring(objects.length() + keyStart)).equals(pattern))
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
   * A private link to the decoded file of {@code manifestId} (decoding it if needed), which stays
   * readable while the cache evicts; the caller deletes it.
   */
  private Path pinned(String manifestId, String what, int links) {
    closeQuietly(decoded(manifestId, what, links));
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
    return pinned(manifestId, what, links);
  }

  /** An open channel on the decoded file of {@code manifestId}, decoding it (and its parents) first if needed. */
  private FileChannel decoded(String manifestId, String what, int links) {
    // content-addressed manifests cannot form a loop and puts cut chains at FULL_EVERY: a guard only
    if (links > FULL_EVERY * 4) {
      throw new CorruptDataException("Cannot read " + what + ": its delta chain is longer than " + FULL_EVERY * 4 + " links (a cycle?)");
    }
    while (true) {
      synchronized (this) {
        if (cached.get(manifestId) != null) {
          try {
            return FileChannel.open(cacheFile(manifestId), StandardOpenOption.READ);
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the decoded " + what, e);
          }
        }
      }
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> running = decoding.putIfAbsent(manifestId, mine);
      if (running != null) {
        try {
          running.join(); // another request decodes it: use its file
        } catch (CompletionException e) {
          throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        continue;
      }
      try {
        decode(manifestId, what, links);
        mine.complete(null);
      } catch (RuntimeException e) {
        mine.completeExceptionally(e);
        throw e;
      } finally {
        decoding.remove(manifestId, mine);
      }
    }
  }

  private void decode(String manifestId, String what, int links) {
    ObjectManifest manifest = repository.manifest(manifestId);
    Path encoded = temporary(".dhz");
    Path output = temporary(".safetensors");
    Path base = null;
    try {
      try (InputStream in = repository.runtime().open(manifest, 0, manifest.size(), repository.metrics(manifest.pipeline()), what);
          OutputStream out = Files.newOutputStream(encoded)) {
        in.transferTo(out);
      }
      String baseId = manifest.attributes().get(BASE);
      if (baseId != null) {
        base = pinned(baseId, what + " (delta base " + baseId + ")", links + 1);
      }
      long start = System.nanoTime();
      try (TensorFileReader reader = TensorFileReader.open(encoded)) {
        reader.decompress(output, base, Runtime.getRuntime().availableProcessors());
      }
      repository.metrics(manifest.pipeline()).step(baseId == null ? "float-codec" : "float-codec-delta", "decode",
          manifest.size(), Files.size(output), System.nanoTime() - start);
      admit(manifestId, output);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + what + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(encoded, output, base);
    }
  }

  /** Moves {@code decoded} into the cache as the file of {@code manifestId}, evicting the least recently used. */
  private synchronized void admit(String manifestId, Path decoded) throws IOException {
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
