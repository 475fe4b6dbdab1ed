package io.dharmana.tensor.file;

import io.dharmana.tensor.DType;
import io.dharmana.tensor.lossy.ErrorReport;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor in the index of a {@code .dhz} file.
 *
 * @param name, dtype, shape the tensor as in the original safetensors header
 * @param begin, end the tensor's byte range in the original file's data section
 * @param codec how the bytes are stored
 * @param delta whether they were coded against the same tensor of the parent file
 * @param offset, length where the encoded bytes lie in the {@code .dhz} file
 * @param crc32c CRC-32C of the bytes the decoder must produce (the original bytes when lossless)
 * @param error the approximation's error against the original, {@link ErrorReport#EXACT} when lossless
 */
public record TensorFileEntry(
    String name,
    DType dtype,
    long[] shape,
    long begin,
    long end,
    TensorCodec codec,
    boolean delta,
    long offset,
    long length,
    long crc32c,
    ErrorReport error) {
  public TensorFileEntry {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(codec, "codec");
    shape = shape.clone();
    error = error == null ? ErrorReport.EXACT : error;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long originalBytes() {
    return end - begin;
  }

  /** Original bytes over stored bytes. */
  public double ratio() {
    return length == 0 ? 1 : (double) originalBytes() / length;
  }

  TensorFileEntry withOffset(long newOffset) {
    return new TensorFileEntry(name, dtype, shape, begin, end, codec, delta, newOffset, length, crc32c, error);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorFileEntry e
        && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape) && begin == e.begin && end == e.end
        && codec == e.codec && delta == e.delta && offset == e.offset && length == e.length && crc32c == e.crc32c
        && error.equals(e.error);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, offset, crc32c);
  }

  @Override
  public String toString() {
    return name + "{" + dtype + " " + Arrays.toString(shape) + ", " + codec.label() + (delta ? " delta" : "") + ", "
        + originalBytes() + " -> " + length + "}";
  }
}
