package io.dharmana.tensor.codec;

import io.dharmana.InvalidDescriptorException;

/**
 * Settings of a {@link FloatCodec}.
 *
 * @param chunkBytes bytes of tensor data coded with their own tables; the unit of parallel work.
 *     Smaller chunks adapt faster but pay more for tables. Must lie in [4 KiB, 64 MiB].
 * @param threads how many threads may code the chunks of one tensor at once; 1 codes on the
 *     calling thread only, more use the common fork-join pool. Must lie in [1, 256].
 */
public record FloatCodecOptions(int chunkBytes, int threads) {
  public static final int MIN_CHUNK_BYTES = 4 * 1024;
  public static final int MAX_CHUNK_BYTES = 64 * 1024 * 1024;

  /** 256 KiB chunks, coded on the calling thread. */
  public static final FloatCodecOptions DEFAULT = new FloatCodecOptions(256 * 1024, 1);

  public FloatCodecOptions {
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
      throw new InvalidDescriptorException(
          "Invalid float codec chunkBytes " + chunkBytes + ": must lie in [" + MIN_CHUNK_BYTES + ", " + MAX_CHUNK_BYTES + "]");
    }
    if (threads < 1 || threads > 256) {
      throw new InvalidDescriptorException("Invalid float codec threads " + threads + ": must lie in [1, 256]");
    }
  }

  public FloatCodecOptions withThreads(int newThreads) {
    return new FloatCodecOptions(chunkBytes, newThreads);
  }

  public FloatCodecOptions withChunkBytes(int newChunkBytes) {
    return new FloatCodecOptions(newChunkBytes, threads);
  }
}
