package io.dharmana.store;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a {@link PackedBlobStore} groups blobs.
 *
 * @param packSize a pack is sealed and uploaded once it holds this many bytes
 * @param directThreshold blobs of at least this many bytes skip packing and become objects of
 *     their own (they are large enough to be read efficiently alone); at most {@code packSize}
 * @param spoolDirectory where open packs are assembled before upload
 * @param indexCacheDirectory where copies of the pack indexes are kept on local disk, so that an
 *     open reads each index from the store once, not once per open; {@code null} for none (a
 *     store on local disk, where reading an index is as cheap as reading its copy)
 */
public record PackOptions(long packSize, long directThreshold, Path spoolDirectory, Path indexCacheDirectory) {
  public static final long DEFAULT_PACK_SIZE = 64L << 20;
  public static final long DEFAULT_DIRECT_THRESHOLD = 16L << 20;

  public PackOptions {
    Objects.requireNonNull(spoolDirectory, "spoolDirectory");
    if (packSize < 64 * 1024 || packSize > (4L << 30)) {
      throw new IllegalArgumentException("Invalid packSize " + packSize + ": allowed is 64 KiB to 4 GiB");
    }
    if (directThreshold < 1 || directThreshold > packSize || directThreshold > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException(
          "Invalid directThreshold " + directThreshold + ": allowed is 1 to packSize (" + packSize + ")");
    }
  }

  /** Without a cache of pack indexes. */
  public PackOptions(long packSize, long directThreshold, Path spoolDirectory) {
    this(packSize, directThreshold, spoolDirectory, null);
  }

  /** These options with pack indexes kept in {@code directory}. */
  public PackOptions withIndexCache(Path directory) {
    return new PackOptions(packSize, directThreshold, spoolDirectory, Objects.requireNonNull(directory, "directory"));
  }

  /** 64 MiB packs; blobs of 16 MiB or more stored alone. */
  public static PackOptions defaults(Path spoolDirectory) {
    return new PackOptions(DEFAULT_PACK_SIZE, DEFAULT_DIRECT_THRESHOLD, spoolDirectory);
  }
}
