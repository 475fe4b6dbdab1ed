package io.dharmana.store;

import java.util.stream.Stream;

/** A store that can list its committed blobs. */
public interface SupportsListing {

  /**
   * Committed blobs whose key starts with {@code prefix}, sorted by key (lexicographic by UTF-16
   * code unit, as {@link String#compareTo}). Blobs in the middle of being written must not be
   * listed. The caller must close the stream.
   */
  Stream<BlobInfo> list(String prefix);
}
