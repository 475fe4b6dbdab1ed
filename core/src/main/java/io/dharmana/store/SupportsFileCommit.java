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
}
