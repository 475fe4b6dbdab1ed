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

  /** A builder for a pipeline named {@code name}; each setting may be set once. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Builds a {@link PipelineDescriptor}; each setting may be set once (a second set throws {@link IllegalStateException}). */
  public static final class Builder {
    private final String name;
    private String description;
    private ComputationDescriptor computation;
    private StorageDescriptor storage;

    private Builder(String name) {
      this.name = name;
    }

    public Builder description(String value) {
      Builders.requireUnset("description", description);
      description = Objects.requireNonNull(value, "description");
      return this;
    }

    public Builder computation(ComputationDescriptor value) {
      Builders.requireUnset("computation", computation);
      computation = Objects.requireNonNull(value, "computation");
      return this;
    }

    public Builder storage(StorageDescriptor value) {
      Builders.requireUnset("storage", storage);
      storage = Objects.requireNonNull(value, "storage");
      return this;
    }

    /** The descriptor; storage defaults to one unbounded local tier and no stages. */
    public PipelineDescriptor build() {
      return new PipelineDescriptor(name, description, Optional.ofNullable(computation),
          storage == null ? StorageDescriptor.of(java.util.List.of()) : storage);
    }
  }
}
