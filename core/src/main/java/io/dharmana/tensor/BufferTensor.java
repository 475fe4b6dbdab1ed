package io.dharmana.tensor;

import io.dharmana.InvalidDescriptorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor over one {@link ByteBuffer} (heap, direct or a slice of a memory-mapped window).
 *
 * <p>The buffer is sliced and made read-only once, so later changes to the caller's position
 * cannot affect it.
 */
record BufferTensor(String name, DType dtype, long[] shape, ByteBuffer buffer) implements Tensor {
  BufferTensor {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(buffer, "buffer");
    shape = shape.clone();
    long expected = Tensors.byteSize(dtype, shape);
    if (expected != buffer.remaining()) {
      throw new InvalidDescriptorException(
          "Invalid tensor '" + name + "': shape " + Arrays.toString(shape) + " x " + dtype + " (" + dtype.size()
              + " bytes) needs " + expected + " bytes but the data has " + buffer.remaining());
    }
    buffer = buffer.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public ByteBuffer data() {
    return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(0);
  }

  @Override
  public long byteSize() {
    return buffer.capacity();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BufferTensor other
        && name.equals(other.name)
        && dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && buffer.equals(other.buffer);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape));
  }

  @Override
  public String toString() {
    return "Tensor[" + name + ", " + dtype + ", " + Arrays.toString(shape) + "]";
  }
}
