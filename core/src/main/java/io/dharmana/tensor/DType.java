package io.dharmana.tensor;

import io.dharmana.InvalidDescriptorException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Element types of the safetensors format, named exactly as the format names them.
 *
 * <p>The declaration order is the order of the Rust {@code safetensors::Dtype} enum for the
 * byte-sized types: {@link SafetensorsWriter} orders tensors by this order (descending, then by
 * name) exactly as the library does, so the order must not change. Sub-byte types (F4, F6_*) are
 * not supported.
 */
public enum DType {
  BOOL(1),
  U8(1),
  I8(1),
  F8_E5M2(1),
  F8_E4M3(1),
  F8_E8M0(1),
  I16(2),
  U16(2),
  F16(2),
  BF16(2),
  I32(4),
  U32(4),
  F32(4),
  C64(8),
  F64(8),
  I64(8),
  U64(8);

  private final int size;

  DType(int size) {
    this.size = size;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /** Whether the elements are floating point (including the fp8 variants and bf16). */
  public boolean isFloatingPoint() {
    return switch (this) {
      case F8_E5M2, F8_E4M3, F8_E8M0, F16, BF16, F32, F64 -> true;
      default -> false;
    };
  }

  /**
   * The type named {@code safetensorsName} ("F32", "BF16", ...).
   *
   * @throws InvalidDescriptorException if the name is not one of the supported types; the message lists them
   */
  public static DType parse(String safetensorsName) {
    if (safetensorsName != null) {
      for (DType type : values()) {
        if (type.name().equals(safetensorsName)) {
          return type;
        }
      }
    }
    throw new InvalidDescriptorException(
        "Invalid dtype '" + safetensorsName + "': allowed are "
            + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")));
  }
}
