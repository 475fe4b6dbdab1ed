package io.dharmana.tensor;

import io.dharmana.InvalidDescriptorException;
import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header: a tensor's name, dtype, shape and its byte range
 * {@code [begin, end)} relative to the start of the data section (after the header).
 *
 * <p>The compact constructor checks what can be checked of one entry alone: a name, a range with
 * {@code 0 <= begin <= end}, and {@code end - begin} equal to the shape's element count times the
 * dtype's size.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
  public TensorInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    shape = shape.clone();
    if (begin < 0 || end < begin) {
      throw new InvalidDescriptorException(
          "Invalid data_offsets [" + begin + ", " + end + "] of tensor '" + name + "': must satisfy 0 <= begin <= end");
    }
    long expected = Tensors.byteSize(dtype, shape);
    if (expected != end - begin) {
      throw new InvalidDescriptorException(
          "Invalid tensor '" + name + "': shape " + Arrays.toString(shape) + " x " + dtype + " (" + dtype.size()
              + " bytes) is " + expected + " bytes but data_offsets [" + begin + ", " + end + "] hold "
              + (end - begin));
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long byteSize() {
    return end - begin;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo other
        && name.equals(other.name)
        && dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && begin == other.begin
        && end == other.end;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
  }

  @Override
  public String toString() {
    return name + "{" + dtype + ", " + Arrays.toString(shape) + ", [" + begin + ", " + end + ")}";
  }
}
