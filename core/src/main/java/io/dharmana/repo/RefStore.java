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
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Refs that move only by compare-and-set, on any store with exclusive create and listing.
 *
 * <p>A ref is a log of immutable version blobs {@code refs/<name>/@v/<20-digit version>}; its
 * value is the highest version. Moving a ref from version n creates version n+1 exclusively
 * (local: an atomic hard link; S3: {@code If-None-Match: *}), so of two writers racing from the
 * same base exactly one wins and the other gets {@link CommitFailedException}. This is Iceberg's
 * versioned-metadata commit. Old versions are pruned by {@link #prune}; a writer whose base was
 * pruned could create a version below the head, so every commit checks afterwards that it is the
 * head and withdraws its version otherwise.
 */
public final class RefStore {
  static final String PREFIX = "refs/";
  private static final String VERSIONS = "/@v/";
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
    return PREFIX + name + VERSIONS + String.format("%020d", version);
  }

  /** The current value of a ref, or empty if it never existed or is deleted. */
  public Optional<Ref> read(String name) {
    return head(checkName(name)).filter(r -> !r.deleted());
  }

  /** The current head including a deletion marker, for compare-and-set bases. */
  public Optional<Ref> head(String name) {
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
    Ref ref = parse(name, info.key());
    parsed.put(info.key(), new ParsedVersion(info.size(), info.lastModified(), ref));
    return ref;
  }

  private Ref parse(String name, String key) {
    long version = Long.parseLong(key.substring(key.lastIndexOf('/') + 1));
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
    Optional<Ref> head = head(name);
    if (head.isPresent() && head.get().version() > next) {
      // our base had been pruned: we wrote below the head; withdraw so no reader ever sees it
      store.delete(key);
      throw new CommitFailedException(
          "Cannot commit " + name + ": expected version " + expectedVersion + " but it is at " + head.get().version());
    }
    return ref;
  }

  /** Every live ref whose name starts with {@code prefix}, sorted by name. */
  public List<Ref> list(String prefix) {
    List<Ref> refs = new ArrayList<>();
    String lastName = null;
    BlobInfo lastKey = null;
    try (Stream<BlobInfo> all = listing.list(PREFIX + prefix)) {
      for (BlobInfo info : (Iterable<BlobInfo>) all::iterator) {
        String key = info.key();
        int at = key.lastIndexOf(VERSIONS);
        if (at < 0) {
          continue;
        }
        String name = key.substring(PREFIX.length(), at);
        if (lastName != null && !lastName.equals(name)) {
          addLive(refs, lastName, lastKey);
        }
        lastName = name;
        lastKey = info;
      }
    }
    if (lastName != null) {
      addLive(refs, lastName, lastKey);
    }
    refs.sort(java.util.Comparator.comparing(Ref::name));
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
    List<String> keys;
    try (Stream<BlobInfo> all = listing.list(PREFIX)) {
      keys = all.map(BlobInfo::key).filter(k -> k.contains(VERSIONS)).toList();
    }
    int removed = 0;
    int i = 0;
    while (i < keys.size()) {
      String name = keys.get(i).substring(0, keys.get(i).lastIndexOf(VERSIONS));
      int j = i;
      while (j < keys.size() && keys.get(j).startsWith(name + VERSIONS)) {
        j++;
      }
      for (int k = i; k < j - keep; k++) {
        if (store.delete(keys.get(k))) {
          removed++;
        }
      }
      i = j;
    }
    return removed;
  }
}
