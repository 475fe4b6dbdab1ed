package io.dharmana.tensor.codec;

import io.dharmana.InvalidDescriptorException;

/**
 * Settings of a {@link FloatCodec}. None of them is needed to decode: the encoded form records
 * everything the decoder needs.
 *
 * @param chunkBytes bytes of tensor data coded with their own tables; the unit of parallel work.
 *     Smaller chunks adapt faster but pay more for tables. Must lie in [4 KiB, 64 MiB].
 * @param threads how many threads may code the chunks of one tensor at once; 1 codes on the
 *     calling thread only, more use the common fork-join pool. Must lie in [1, 256].
 * @param minPlaneSaving the fraction of a plane's raw size that entropy coding must save, else the
 *     plane is stored raw. Raw planes decode at memory speed; near-noise planes (the sign and top
 *     mantissa bits of weights save ~0.3%) cost decode time out of proportion. 0 keeps every
 *     saving (best ratio); the default 0.005 gives up ~0.1% of ratio on fp32 weights for ~1.4x
 *     faster decoding. Must lie in [0, 0.5].
 */
public record FloatCodecOptions(int chunkBytes, int threads, double minPlaneSaving) {
  public static final int MIN_CHUNK_BYTES = 4 * 1024;
  public static final int MAX_CHUNK_BYTES = 64 * 1024 * 1024;
  private static final double DEFAULT_MIN_PLANE_SAVING = 0.005;

  /** 256 KiB chunks, coded on the calling thread, planes kept raw unless coding saves 0.5%. */
  public static final FloatCodecOptions DEFAULT = new FloatCodecOptions(256 * 1024, 1, DEFAULT_MIN_PLANE_SAVING);

  public FloatCodecOptions {
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
      throw new InvalidDescriptorException(
          "Invalid float codec chunkBytes " + chunkBytes + ": must lie in [" + MIN_CHUNK_BYTES + ", " + MAX_CHUNK_BYTES + "]");
    }
    if (threads < 1 || threads > 256) {
      throw new InvalidDescriptorException("Invalid float codec threads " + threads + ": must lie in [1, 256]");
    }
    if (!(minPlaneSaving >= 0 && minPlaneSaving <= 0.5)) {
      throw new InvalidDescriptorException(
          "Invalid float codec minPlaneSaving " + minPlaneSaving + ": must lie in [0, 0.5]");
    }
  }

  /** Options with the default plane saving threshold. */
  public FloatCodecOptions(int chunkBytes, int threads) {
    this(chunkBytes, threads, DEFAULT_MIN_PLANE_SAVING);
  }

  public FloatCodecOptions withThreads(int newThreads) {
    return new FloatCodecOptions(chunkBytes, newThreads, minPlaneSaving);
  }

  public FloatCodecOptions withChunkBytes(int newChunkBytes) {
    return new FloatCodecOptions(newChunkBytes, threads, minPlaneSaving);
  }

  public FloatCodecOptions withMinPlaneSaving(double newMinPlaneSaving) {
    return new FloatCodecOptions(chunkBytes, threads, newMinPlaneSaving);
  }
}
