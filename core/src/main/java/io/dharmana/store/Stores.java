package io.dharmana.store;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.descriptor.TierSpec;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * Entry point to the built-in blob stores and to the stores registered for tier kinds. Every
 * store returned here also implements {@link SupportsListing} and {@link SupportsTouch}.
 */
public final class Stores {
  private static final class Registry {
    static final Map<String, StoreFactory> FACTORIES = load();

    private static Map<String, StoreFactory> load() {
      Map<String, StoreFactory> byKind = new TreeMap<>();
      for (StoreFactory factory : ServiceLoader.load(StoreFactory.class, Stores.class.getClassLoader())) {
        StoreFactory previous = byKind.putIfAbsent(factory.kind(), factory);
        if (previous != null && previous.getClass() != factory.getClass()) {
          throw new IllegalStateException(
              "Cannot register store kind " + factory.kind() + ": both " + previous.getClass().getName()
                  + " and " + factory.getClass().getName() + " claim it");
        }
      }
      return Collections.unmodifiableMap(byKind);
    }
  }

  private Stores() {}

  /** A new, empty store in the heap; not durable. */
  public static BlobStore memory() {
    return memory(Clock.systemUTC());
  }

  /** A new, empty store in the heap whose last-modified times come from {@code clock}. */
  public static BlobStore memory(Clock clock) {
    return new MemoryStore(Objects.requireNonNull(clock, "clock"));
  }

  /**
   * A store over the directory {@code dir}, created if missing. With {@code fsync} each commit
   * is flushed to the device (file and directory) before {@code close()} returns.
   */
  public static BlobStore local(Path dir, boolean fsync) {
    return new LocalStore(Objects.requireNonNull(dir, "dir"), fsync, Clock.systemUTC());
  }

  /**
   * Options of every tier that {@link #forTier} reads itself, whatever the tier's kind: {@code pack}
   * ({@code true} or {@code false}) and {@code packSize}. A factory that checks its tier's options
   * must allow them.
   */
  public static final Set<String> PACKING_OPTIONS = Set.of("pack", "packSize");

  /** Tier kinds that have a registered {@link StoreFactory}, sorted. */
  public static Set<String> kinds() {
    return Registry.FACTORIES.keySet();
  }

  /**
   * Creates the store for one tier through the factory registered for its kind.
   *
   * @throws InvalidDescriptorException naming the tier, its kind and the registered kinds when no
   *     factory serves the kind
   */
  public static BlobStore forTier(TierSpec spec, Path repositoryRoot, boolean fsync) {
    StoreFactory factory = Registry.FACTORIES.get(spec.kind());
    if (factory == null) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].kind '" + spec.kind()
              + "': no store is registered for it; registered kinds are " + kinds()
              + (spec.kind().equals("s3")
                  ? " (put the module io.dharmana:dharmana-s3 on the class path)"
                  : " (is the module providing it on the class path?)"));
    }
    BlobStore store = factory.create(spec, repositoryRoot, fsync);
    String pack = spec.options().getOrDefault("pack", spec.kind().equals("memory") ? "false" : "true");
    if (!pack.equals("true") && !pack.equals("false")) {
      store.close();
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].options.pack '" + pack + "': allowed are true, false");
    }
    if (pack.equals("false")) {
      return store;
    }
    // Chunks are small; one file or object each would cost a create, a flush and a directory
    // entry apiece. Packs gather them into large blobs sealed at the commit barrier.
    long packSize = spec.options().containsKey("packSize")
        ? io.dharmana.descriptor.ByteSize.parse(spec.options().get("packSize"))
        : PackOptions.DEFAULT_PACK_SIZE;
    Path spool = repositoryRoot.resolve(".spool").resolve(spec.name());
    PackOptions options = new PackOptions(packSize, Math.min(PackOptions.DEFAULT_DIRECT_THRESHOLD, packSize), spool);
    // On a remote store each open would read every pack index with a request of its own,
    // thousands of them for a large store, where local copies cost a file read each.
    if (factory.remote()) {
      options = options.withIndexCache(repositoryRoot.resolve("cache").resolve("pack-indexes").resolve(spec.name()));
    }
    return PackedBlobStore.open(store, options);
  }

  /**
   * The directory a file-backed tier lives in: its location resolved against the repository
   * root, or {@code tiers/<name>} when it has none.
   */
  public static Path tierDirectory(TierSpec spec, Path repositoryRoot) {
    String location = spec.location() == null || spec.location().isBlank() ? "tiers/" + spec.name() : spec.location();
    return repositoryRoot.resolve(location);
  }

  /**
   * Deletes a directory tree that a failed operation of this process made, deepest first and as far
   * as it can ({@code keepRoot}: all under {@code root}, not itself). What cannot be deleted stays;
   * the caller's error says what failed.
   */
  public static void deleteTreeQuietly(Path root, boolean keepRoot) {
    try (java.util.stream.Stream<Path> all = java.nio.file.Files.walk(root)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!keepRoot || !p.equals(root)) {
          try {
            java.nio.file.Files.deleteIfExists(p);
          } catch (java.io.IOException e) {
            // a directory that keeps what could not be deleted: it stays, the rest goes
          }
        }
      }
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      // best effort, see above
    }
  }
}
