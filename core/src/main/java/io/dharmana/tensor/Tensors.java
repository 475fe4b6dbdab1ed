package io.dharmana.tensor;

import io.dharmana.InvalidDescriptorException;
import java.util.Arrays;

/** Shape arithmetic shared by the tensor classes. */
final class Tensors {
  private Tensors() {}

  /** Product of the dimensions, rejecting negative dimensions and overflow. */
  static long elementCount(long[] shape) {
    long count = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new InvalidDescriptorException("Invalid shape " + Arrays.toString(shape) + ": dimensions must be >= 0");
      }
      try {
        count = Math.multiplyExact(count, dim);
      } catch (ArithmeticException e) {
        throw new InvalidDescriptorException("Invalid shape " + Arrays.toString(shape) + ": element count overflows a long");
      }
    }
    return count;
  }

  /** Bytes needed for {@code shape} elements of {@code dtype}, rejecting overflow. */
  static long byteSize(DType dtype, long[] shape) {
    try {
      return Math.multiplyExact(elementCount(shape), dtype.size());
    } catch (ArithmeticException e) {
      throw new InvalidDescriptorException("Invalid shape " + Arrays.toString(shape) + ": byte size overflows a long");
    }
  }
}
