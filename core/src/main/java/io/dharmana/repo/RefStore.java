package io.dharmana.repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.CommitStateUnknownException;
import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Refs that move only by compare-and-set, on any store with exclusive create and listing.
 *
 * <p>A ref is a log of immutable version blobs; its value is the highest version. Version 1 is
 * {@code refs/<parent>/@@<last segment>}, beside the ref's name rather than under it, so that
 * naming a new object (a gateway PUT of a new key) creates no directory: on a local file system a
 * new directory per ref cost two inode allocations (ext4 searches its bitmaps for them, a third
 * of a small PUT's CPU) and two flushes. Later versions are {@code
 * refs/<name>/@v/<20-digit version>}, as every version was before. Neither form can be taken for
 * a name, whose segments never start with {@code @}. Moving a ref from version n creates version n+1 exclusively
 * (local: an atomic hard link; S3: {@code If-None-Match: *}), so of two writers racing from the
 * same base exactly one wins and the other gets {@link CommitFailedException}. This is Iceberg's
 * versioned-metadata commit. Old versions are pruned by {@link #prune}; a writer whose base was
 * pruned could create a version below the head, so every commit checks afterwards that it is the
 * head and withdraws its version otherwise.
 */
public final class RefStore {
  static final String PREFIX = "refs/";
  private static final String VERSIONS = "/@v/";
  /** What starts the last segment of a ref's first version (see the class comment). */
  private static final String FIRST = "@@";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final BlobStore store;
  private final SupportsListing listing;
  private final Clock clock;

  public RefStore(BlobStore store, Clock clock) {
    if (!(store instanceof SupportsListing l)) {
      throw new IllegalArgumentException("Cannot keep refs on a store without listing");
    }
    this.store = store;
    this.listing = l;
    this.clock = clock;
  }

  /**
   * Checks a ref name: segments of letters, digits and {@code . _ - = + @ ,}, separated by
   * {@code /}; no segment may start with {@code @} (reserved for the version log).
   */
  public static String checkName(String name) {
    if (name == null || name.isEmpty() || name.length() > 900) {
      throw new IllegalArgumentException("Invalid name '" + name + "': must be 1-900 characters");
    }
    for (String segment : name.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..") || segment.startsWith("@")) {
        throw new IllegalArgumentException(
            "Invalid name '" + name + "': segments between '/' must not be empty, '.', '..' or start with '@'");
      }
    }
    if (name.chars().anyMatch(c -> c < 0x20 || c == '\\' || c == 0x7f)) {
      throw new IllegalArgumentException("Invalid name '" + name + "': control characters and '\\' are not allowed");
    }
    return name;
  }

  private static String versionKey(String name, long version) {
    if (version == 1) {
      int slash = name.lastIndexOf('/');
      return PREFIX + name.substring(0, slash + 1) + FIRST + name.substring(slash + 1);
    }
    return PREFIX + name + VERSIONS + String.format("%020d", version);
  }

  /** The ref and version a blob of this store holds, or null if it holds none. */
  private static VersionBlob versionOf(BlobInfo info) {
    String key = info.key();
    int at = key.lastIndexOf(VERSIONS);
    if (at >= 0) {
      return new VersionBlob(key.substring(PREFIX.length(), at), Long.parseLong(key.substring(at + VERSIONS.length())), info);
    }
    int slash = key.lastIndexOf('/');
    if (!key.startsWith(FIRST, slash + 1) || slash + 1 < PREFIX.length()) {
      return null;
    }
    return new VersionBlob(key.substring(PREFIX.length(), slash + 1) + key.substring(slash + 1 + FIRST.length()), 1, info);
  }

  /** A version blob found in a listing: the ref it belongs to, its version, the blob. */
  private record VersionBlob(String name, long version, BlobInfo info) {}

  /** The current value of a ref, or empty if it never existed or is deleted. */
  public Optional<Ref> read(String name) {
    return head(checkName(name)).filter(r -> !r.deleted());
  }

  /** The current head including a deletion marker, for compare-and-set bases. */
  public Optional<Ref> head(String name) {
    Optional<Ref> later = lastLogged(name);
    if (later.isPresent()) {
      return later;
    }
    try {
      return Optional.of(parse(name, versionKey(name, 1), 1));
    } catch (NotFoundException none) {
      // a commit of version 2 and a prune of version 1 may both have happened since the listing
      return lastLogged(name);
    }
  }

  /** The highest version from 2 on, if any. */
  private Optional<Ref> lastLogged(String name) {
    BlobInfo last = null;
    try (Stream<BlobInfo> versions = listing.list(PREFIX + name + VERSIONS)) {
      for (BlobInfo info : (Iterable<BlobInfo>) versions::iterator) {
        last = info;
      }
    }
    return last == null ? Optional.empty() : Optional.of(parse(name, last));
  }

  /**
   * Version blobs already parsed, by key. A version blob never changes once created, so the
   * listing that finds the head decides what is current and this only saves reading and parsing
   * the same bytes again (a hot object's every GET and every put's two head reads). Size and
   * modification time from the listing must match too: a version that was pruned away entirely
   * and created anew is another blob under the same key.
   */
  private final Cache<String, ParsedVersion> parsed = Caffeine.newBuilder().maximumSize(8192).build();

  private record ParsedVersion(long size, Instant modified, Ref ref) {}

  private Ref parse(String name, BlobInfo info) {
    ParsedVersion cached = parsed.getIfPresent(info.key());
    if (cached != null && cached.size() == info.size() && cached.modified().equals(info.lastModified())
        && cached.ref().name().equals(name)) {
      return cached.ref();
    }
    Ref ref = parse(name, info.key(), versionOf(info).version());
    parsed.put(info.key(), new ParsedVersion(info.size(), info.lastModified(), ref));
    return ref;
  }

  /**
   * Reads a version blob without the cache (a first version is found without a listing, so
   * without the size and time that tell a blob created anew from the one cached).
   *
   * @throws io.dharmana.NotFoundException if there is no such version
   */
  private Ref parse(String name, String key, long version) {
    byte[] bytes = store.read(key);
    try {
      JsonNode n = JSON.readTree(bytes);
      JsonNode target = n.get("target");
      return new Ref(name, version, target == null || target.isNull() ? null : target.asText(),
          Instant.parse(n.get("updated").asText()));
    } catch (IOException | RuntimeException e) {
      throw new CorruptDataException("Cannot read ref " + name + " version " + version + ": " + e.getMessage(), e);
    }
  }

  /**
   * Moves {@code name} from {@code expectedVersion} (0 = the ref must not exist yet, or be
   * deleted at that version) to {@code target} (null deletes it).
   *
   * @throws CommitFailedException if the ref is no longer at {@code expectedVersion}
   * @throws CommitStateUnknownException if the store failed in a way that leaves it unknown
   *     whether the new version was written
   */
  public Ref compareAndSet(String name, long expectedVersion, String target) {
    checkName(name);
    long next = expectedVersion + 1;
    Ref ref = new Ref(name, next, target, clock.instant());
    ObjectNode n = JSON.createObjectNode();
    if (target == null) {
      n.putNull("target");
    } else {
      n.put("target", target);
    }
    n.put("updated", ref.updated().toString());
    String key = versionKey(name, next);
    try {
      store.write(key, n.toString().getBytes(StandardCharsets.UTF_8));
    } catch (AlreadyExistsException e) {
      throw new CommitFailedException(
          "Cannot commit " + name + ": expected version " + expectedVersion + " but another writer moved it first");
    } catch (UncheckedIOException e) {
      throw new CommitStateUnknownException("Cannot tell whether " + name + " version " + next + " was committed", e);
    }
    // a later version than ours: our base had been pruned, or (a first version) the ref's
    // versions are in its log already, its first one too if written before first versions moved
    Optional<Ref> head = lastLogged(name).filter(r -> next == 1 || r.version() > next);
    if (head.isPresent()) {
      // we wrote below the head; withdraw so no reader ever sees it
      store.delete(key);
      throw new CommitFailedException(
          "Cannot commit " + name + ": expected version " + expectedVersion + " but it is at " + head.get().version());
    }
    return ref;
  }

  /** Every live ref whose name starts with {@code prefix}, sorted by name. */
  public List<Ref> list(String prefix) {
    // a first version sits beside its name, so the listing starts at the prefix's last '/'
    TreeMap<String, VersionBlob> heads = new TreeMap<>();
    try (Stream<BlobInfo> all = listing.list(PREFIX + prefix.substring(0, prefix.lastIndexOf('/') + 1))) {
      for (BlobInfo info : (Iterable<BlobInfo>) all::iterator) {
        VersionBlob v = versionOf(info);
        if (v != null && v.name().startsWith(prefix)) {
          heads.merge(v.name(), v, (a, b) -> a.version() >= b.version() ? a : b);
        }
      }
    }
    List<Ref> refs = new ArrayList<>();
    heads.values().forEach(v -> addLive(refs, v.name(), v.info()));
    return refs;
  }

  private void addLive(List<Ref> refs, String name, BlobInfo key) {
    Ref ref = parse(name, key);
    if (!ref.deleted()) {
      refs.add(ref);
    }
  }

  /** Deletes all but the newest {@code keep} versions of each ref; returns how many went. */
  public int prune(int keep) {
    Map<String, List<VersionBlob>> byName = new HashMap<>();
    try (Stream<BlobInfo> all = listing.list(PREFIX)) {
      all.forEach(info -> {
        VersionBlob v = versionOf(info);
        if (v != null) {
          byName.computeIfAbsent(v.name(), n -> new ArrayList<>()).add(v);
        }
      });
    }
    int removed = 0;
    for (List<VersionBlob> versions : byName.values()) {
      versions.sort(Comparator.comparingLong(VersionBlob::version));
      for (int k = 0; k < versions.size() - keep; k++) {
        if (store.delete(versions.get(k).info().key())) {
          removed++;
        }
      }
    }
    return removed;
  }
}
