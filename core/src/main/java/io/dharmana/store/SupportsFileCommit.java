package io.dharmana.store;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A store that can commit a blob straight from a finished local file, without streaming it
 * through a {@link BlobOutput}: a local directory hard-links it into place, an object store
 * uploads it from the file. Used for packs, which are assembled in a spool file first.
 */
public interface SupportsFileCommit {

  /**
   * Commits the first {@code size} bytes of {@code file} under {@code key}, with the same
   * visibility, immutability and durability guarantees as closing a {@link BlobOutput}. The
   * caller must not change {@code file} afterwards; it may delete its own name for it.
   *
   * @throws io.dharmana.AlreadyExistsException if {@code key} is already committed
   */
  void commitFile(String key, Path file, long size) throws IOException;

  /**
   * As {@link #commitFile}, except that only the bytes are durable when this returns: the new
   * name may be lost in a machine crash until a later commit of a key in the same folder (the key
   * up to its last {@code /}) has returned. Lets a caller that commits two blobs in a row, a pack
   * and then its index, pay for one flush of their folder instead of two; readers must then
   * take the second without the first for something a crash left unfinished.
   */
  default void commitFileNamedByNext(String key, Path file, long size) throws IOException {
    commitFile(key, file, size);
  }
}
