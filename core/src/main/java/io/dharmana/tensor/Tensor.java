package io.dharmana.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One named, typed, shaped array of bytes, as stored in a safetensors file.
 *
 * <p>Contract: {@link #data()} must return a new read-only, little-endian view positioned at 0
 * whose {@code remaining()} equals {@link #byteSize()}; callers may move its position freely.
 * {@code byteSize()} must equal the product of the shape times {@code dtype().size()} (a scalar,
 * shape {@code []}, has one element). {@link #shape()} must return a copy. A tensor backed by a
 * memory-mapped file is valid only while that file is open.
 *
 * <p>Elements are little-endian, as safetensors stores them: an fp32 tensor's values read back as
 * {@code tensor.data().asFloatBuffer()}. A buffer filled in Java's default big-endian order gives a
 * tensor of other values; {@link #ofFloats} fills one in the right order.
 */
public interface Tensor {
  /** The tensor's name in its file, e.g. {@code blocks.0.fc.weight}. */
  String name();

  DType dtype();

  /** The dimensions, outermost first; a copy. */
  long[] shape();

  /** A read-only little-endian view of the elements, position 0, limit {@link #byteSize()}. */
  ByteBuffer data();

  /** Size of the data in bytes. */
  long byteSize();

  /** Number of elements: the product of the shape (1 for a scalar). */
  default long elementCount() {
    return Tensors.elementCount(shape());
  }

  /**
   * A tensor over the remaining bytes of {@code data} (a read-only view, not a copy: the caller must
   * not change those bytes afterwards).
   *
   * @throws io.dharmana.InvalidDescriptorException if the shape times the dtype size is not the data's size
   */
  static Tensor of(String name, DType dtype, long[] shape, ByteBuffer data) {
    return new BufferTensor(name, dtype, shape, data);
  }

  /**
   * An fp32 tensor holding a copy of {@code values}, which are taken in row-major order.
   *
   * @throws io.dharmana.InvalidDescriptorException if the shape's element count is not {@code
   *     values.length}
   */
  static Tensor ofFloats(String name, long[] shape, float[] values) {
    if (values.length > Integer.MAX_VALUE / Float.BYTES) {
      throw new io.dharmana.InvalidDescriptorException("Invalid tensor '" + name + "': " + values.length
          + " floats are more than the 2 GiB one tensor's buffer holds");
    }
    long elements = Tensors.elementCount(java.util.Objects.requireNonNull(shape, "shape"));
    if (elements != values.length) {
      throw new io.dharmana.InvalidDescriptorException("Invalid tensor '" + name + "': shape "
          + java.util.Arrays.toString(shape) + " holds " + elements + " elements but " + values.length + " values were given");
    }
    ByteBuffer data = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(values);
    return new BufferTensor(name, DType.F32, shape, data);
  }
}
