package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;

/**
 * How bytes are cut into chunks. {@code cdc} is FastCDC (Gear hash) with the given minimum,
 * average (a power of two) and maximum sizes; {@code fixed} cuts every {@code avgSize} bytes.
 * Cut points are rounded down to a multiple of {@code align} (e.g. 4 for fp32 data) so that
 * width-aware stages see whole values.
 */
public record ChunkingSpec(String kind, int minSize, int avgSize, int maxSize, int align) {
  public static final ChunkingSpec DEFAULT = new ChunkingSpec("cdc", 16 * 1024, 64 * 1024, 256 * 1024, 1);

  public ChunkingSpec {
    kind = kind == null ? "cdc" : kind;
    if (!kind.equals("cdc") && !kind.equals("fixed")) {
      throw new InvalidDescriptorException("Invalid storage.chunking.kind '" + kind + "': allowed are cdc, fixed");
    }
    if (align <= 0 || align > 64) {
      throw new InvalidDescriptorException("Invalid storage.chunking.align " + align + ": allowed is 1..64");
    }
    if (avgSize < 64 || Integer.bitCount(avgSize) != 1) {
      throw new InvalidDescriptorException(
          "Invalid storage.chunking.avgSize " + avgSize + ": must be a power of two >= 64");
    }
    if (kind.equals("cdc") && (minSize < 64 || minSize > avgSize || maxSize < avgSize)) {
      throw new InvalidDescriptorException(
          "Invalid storage.chunking sizes min=" + minSize + " avg=" + avgSize + " max=" + maxSize
              + ": need 64 <= min <= avg <= max");
    }
    if (maxSize > 64 * 1024 * 1024) {
      throw new InvalidDescriptorException("Invalid storage.chunking.maxSize " + maxSize + ": at most 64 MiB");
    }
  }
}
