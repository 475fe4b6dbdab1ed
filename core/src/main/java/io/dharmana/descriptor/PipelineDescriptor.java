package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import java.util.Objects;
import java.util.Optional;

/**
 * Names one pipeline and binds its two flows: what the computation is and what the storage path
 * is. Immutable; load from YAML with {@link Descriptors}.
 */
public record PipelineDescriptor(
    String name, String description, Optional<ComputationDescriptor> computation, StorageDescriptor storage) {

  public PipelineDescriptor {
    if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
      throw new InvalidDescriptorException(
          "Invalid pipeline name '" + name + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    description = description == null ? "" : description;
    computation = computation == null ? Optional.empty() : computation;
    Objects.requireNonNull(storage, "storage");
  }

  public static PipelineDescriptor of(String name, StorageDescriptor storage) {
    return new PipelineDescriptor(name, "", Optional.empty(), storage);
  }
}
