package io.dharmana.chunk;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.SupportsListing;
import io.dharmana.store.SupportsTouch;
import java.io.UncheckedIOException;
import java.util.stream.Stream;

/**
 * Content-addressed chunks on a blob store: a chunk is stored once under {@code
 * chunks/<2 hex>/<64 hex>} of the SHA-256 of its stored bytes, and every read verifies the bytes
 * against the id. Thread-safe.
 *
 * <p>A chunk that is already present is touched rather than rewritten, so that garbage
 * collection (which only deletes unreferenced chunks older than its grace period) cannot delete
 * a chunk that a writer has just decided to reuse but not yet referenced from a manifest.
 */
public final class ChunkStore {
  static final String PREFIX = "chunks/";

  private final BlobStore blobs;

  public ChunkStore(BlobStore blobs) {
    this.blobs = blobs;
  }

  public BlobStore blobs() {
    return blobs;
  }

  public static String key(ChunkId id) {
    String hex = id.hex();
    return PREFIX + hex.substring(0, 2) + "/" + hex;
  }

  /**
   * Stores {@code stored} under {@code id} unless present. Returns true if this call wrote it,
   * false if it was already there (deduplicated).
   */
  public boolean put(ChunkId id, byte[] stored) {
    String key = key(id);
    if (heldAlready(key)) {
      if (blobs instanceof SupportsTouch touch) {
        touch.touch(key);
      }
      return false;
    }
    try {
      blobs.write(key, stored);
      return true;
    } catch (AlreadyExistsException raced) {
      return false;
    }
  }

  private boolean heldAlready(String key) {
    try {
      return blobs.exists(key);
    } catch (UncheckedIOException cannotTell) {
      // a tier is down, so whether it holds the chunk is unknown; storing it again is harmless,
      // since its key names its bytes
      return false;
    }
  }

  /**
   * Reads and verifies a chunk.
   *
   * @param what names the object the chunk belongs to, for error messages
   * @throws CorruptDataException if the bytes do not hash to {@code id}
   * @throws NotFoundException if the chunk is missing
   */
  public byte[] get(ChunkId id, String what) {
    byte[] stored;
    try {
      stored = blobs.read(key(id));
    } catch (NotFoundException e) {
      throw new NotFoundException("Cannot read " + what + ": chunk " + id.abbrev() + " is missing from the store", e);
    }
    id.verify(stored, what);
    return stored;
  }

  public boolean contains(ChunkId id) {
    return blobs.exists(key(id));
  }

  public boolean delete(ChunkId id) {
    return blobs.delete(key(id));
  }

  /** Every stored chunk; the store must support listing. The caller closes the stream. */
  public Stream<BlobInfo> list() {
    if (!(blobs instanceof SupportsListing listing)) {
      throw new UnsupportedOperationException("Cannot list chunks: the store does not support listing");
    }
    return chunksOnly(listing.list(PREFIX));
  }

  /**
   * The chunks of the tiers that can be listed now, naming each one that cannot to {@code
   * unlisted} (see {@link io.dharmana.store.TieredStore#list(String, java.util.function.Consumer)});
   * as {@link #list()} on a store of one tier.
   */
  public Stream<BlobInfo> listReachable(java.util.function.Consumer<String> unlisted) {
    return blobs instanceof io.dharmana.store.TieredStore tiered ? chunksOnly(tiered.list(PREFIX, unlisted)) : list();
  }

  private static Stream<BlobInfo> chunksOnly(Stream<BlobInfo> listed) {
    return listed.filter(b -> b.key().length() == PREFIX.length() + 3 + 64);
  }

  /** The id of a listed chunk key. */
  public static ChunkId idOf(String key) {
    return ChunkId.parse(key.substring(key.lastIndexOf('/') + 1));
  }
}
