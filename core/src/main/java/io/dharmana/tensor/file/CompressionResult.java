package io.dharmana.tensor.file;

import io.dharmana.tensor.lossy.ErrorReport;
import java.util.List;

/**
 * What compressing (or decompressing) one file did.
 *
 * @param inputBytes size of the file read
 * @param outputBytes size of the file written
 * @param seconds wall-clock time of the whole operation
 * @param lossless whether the output decodes to exactly the original
 * @param error error over all quantized tensors together ({@link ErrorReport#EXACT} if none)
 * @param tensors the index entries, in the original file's order
 */
public record CompressionResult(
    long inputBytes, long outputBytes, double seconds, boolean lossless, ErrorReport error, List<TensorFileEntry> tensors) {
  public CompressionResult {
    tensors = List.copyOf(tensors);
  }

  /** The same result timed over a longer span (a command's, from opening its input). */
  public CompressionResult withSeconds(double newSeconds) {
    return new CompressionResult(inputBytes, outputBytes, newSeconds, lossless, error, tensors);
  }

  /** Original size over compressed size (for compression: input over output). */
  public double ratio() {
    return outputBytes == 0 ? 0 : (double) inputBytes / outputBytes;
  }

  /** Throughput in MB/s (10^6 bytes) of the original (uncompressed) data. */
  public double megabytesPerSecond(long originalBytes) {
    return seconds <= 0 ? 0 : originalBytes / 1e6 / seconds;
  }
}
