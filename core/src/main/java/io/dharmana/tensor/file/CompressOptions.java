package io.dharmana.tensor.file;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.lossy.BlockQuantizer;
import java.nio.file.Path;

/**
 * How {@link TensorFileWriter} compresses a safetensors file.
 *
 * @param threads tensors encoded at once; 1 encodes on the calling thread only
 * @param lossy null for lossless, else the quantization of F32 tensors (other dtypes, and F32
 *     tensors holding NaN or infinities, stay lossless)
 * @param block values per quantization scale
 * @param base the parent checkpoint to code against (tensors with the same name, dtype and shape),
 *     or null
 * @param losslessCodec {@link TensorCodec#FLOAT} (default) or {@link TensorCodec#ZSTD}
 */
public record CompressOptions(int threads, BlockQuantizer.Format lossy, int block, Path base, TensorCodec losslessCodec) {
  public CompressOptions {
    if (threads < 1 || threads > 1024) {
      throw new InvalidDescriptorException("Invalid threads " + threads + ": must be between 1 and 1024");
    }
    BlockQuantizer.of(BlockQuantizer.Format.INT8, block); // validates the block size
    if (losslessCodec == null) {
      losslessCodec = TensorCodec.FLOAT;
    }
    if (losslessCodec.lossy()) {
      throw new InvalidDescriptorException("Invalid lossless codec " + losslessCodec.label() + ": it is lossy");
    }
  }

  /** Lossless, float codec, one thread per available core, no parent. */
  public static CompressOptions defaults() {
    return new CompressOptions(Runtime.getRuntime().availableProcessors(), null, BlockQuantizer.DEFAULT_BLOCK, null, TensorCodec.FLOAT);
  }

  public CompressOptions withThreads(int newThreads) {
    return new CompressOptions(newThreads, lossy, block, base, losslessCodec);
  }

  public CompressOptions withLossy(BlockQuantizer.Format newLossy, int newBlock) {
    return new CompressOptions(threads, newLossy, newBlock, base, losslessCodec);
  }

  public CompressOptions withBase(Path newBase) {
    return new CompressOptions(threads, lossy, block, newBase, losslessCodec);
  }

  public CompressOptions withLosslessCodec(TensorCodec codec) {
    return new CompressOptions(threads, lossy, block, base, codec);
  }
}
