package io.dharmana.store;

import io.dharmana.CommitFailedException;
import io.dharmana.CommitStateUnknownException;
import java.util.Objects;
import java.util.Optional;

/**
 * A store that can replace a small blob only if it is still the version the caller read: the
 * primitive refs move by. Blobs written this way are mutable, unlike those written through {@link
 * BlobStore#create}; a store must keep both kinds under distinct keys (callers keep refs under
 * their own prefix).
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>{@link #compareAndSwap} must be a single atomic conditional write on the store (on S3
 *       {@code If-None-Match: *} or {@code If-Match: <etag>}), never a read followed by a write.
 *       Of several callers swapping from the same version, exactly one must win; the others must
 *       get {@link CommitFailedException}.
 *   <li>When the outcome cannot be known (a timeout or server error after the request was sent,
 *       and reading back cannot tell), it must throw {@link CommitStateUnknownException}; the
 *       caller must then re-read before deciding anything.
 *   <li>A version is an opaque token (an ETag); callers must only pass back what {@link
 *       #readVersioned} or {@code compareAndSwap} returned for the same key.
 *   <li>All methods must be safe to call from several threads and processes.
 * </ul>
 */
public interface SupportsConditionalReplace {

  /** A blob's bytes together with the version they were read at. */
  record Versioned(byte[] bytes, String version) {
    public Versioned {
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(version, "version");
    }
  }

  /** Reads {@code key} and its current version, or empty if no blob is stored under it. */
  Optional<Versioned> readVersioned(String key);

  /**
   * Writes {@code bytes} under {@code key} if its current version is {@code expectedVersion}, or,
   * when {@code expectedVersion} is null, if no blob is stored under {@code key}.
   *
   * @return the new version
   * @throws CommitFailedException if the key moved on (or exists, for a null expected version)
   * @throws CommitStateUnknownException if the write may or may not have taken effect
   */
  String compareAndSwap(String key, String expectedVersion, byte[] bytes);
}
