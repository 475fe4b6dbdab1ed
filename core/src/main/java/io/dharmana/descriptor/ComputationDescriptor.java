package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import java.time.Duration;

/**
 * What the computation is: enough to say what its storage must deliver (read bandwidth,
 * checkpoint write bandwidth, capacity) before anything runs. Zero means "not stated" for the
 * optional figures.
 *
 * @param modelKind llm, vision, recommendation, speech, other
 * @param accelerators number of accelerators (GPUs, TPUs) consuming data
 * @param stepTime compute time of one training step (one batch) on one accelerator
 * @param batchSize samples per step per accelerator
 * @param sampleBytes average size of one stored sample
 * @param datasetBytes size of the training data set
 * @param epochs passes over the data set
 * @param parameters model parameters (for checkpoint size estimates when checkpointBytes is 0)
 * @param checkpointBytes size of one full checkpoint (weights plus optimizer state)
 * @param checkpointInterval time between checkpoints
 */
public record ComputationDescriptor(
    String modelKind,
    int accelerators,
    Duration stepTime,
    int batchSize,
    long sampleBytes,
    long datasetBytes,
    int epochs,
    long parameters,
    long checkpointBytes,
    Duration checkpointInterval) {

  public static final java.util.Set<String> MODEL_KINDS =
      java.util.Set.of("llm", "vision", "recommendation", "speech", "other");

  public ComputationDescriptor {
    modelKind = modelKind == null ? "other" : modelKind;
    if (!MODEL_KINDS.contains(modelKind)) {
      throw new InvalidDescriptorException(
          "Invalid computation.modelKind '" + modelKind + "': allowed are " + new java.util.TreeSet<>(MODEL_KINDS));
    }
    requireNonNegative("computation.accelerators", accelerators);
    requireNonNegative("computation.batchSize", batchSize);
    requireNonNegative("computation.sampleBytes", sampleBytes);
    requireNonNegative("computation.datasetBytes", datasetBytes);
    requireNonNegative("computation.epochs", epochs);
    requireNonNegative("computation.parameters", parameters);
    requireNonNegative("computation.checkpointBytes", checkpointBytes);
    stepTime = stepTime == null ? Duration.ZERO : stepTime;
    checkpointInterval = checkpointInterval == null ? Duration.ZERO : checkpointInterval;
    if (stepTime.isNegative() || checkpointInterval.isNegative()) {
      throw new InvalidDescriptorException("Invalid computation: durations must not be negative");
    }
  }

  private static void requireNonNegative(String field, long value) {
    if (value < 0) {
      throw new InvalidDescriptorException("Invalid " + field + " " + value + ": must be >= 0");
    }
  }

  /** A builder; each figure may be set once, unset figures are 0 ("not stated"). */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link ComputationDescriptor}; each setting may be set once (a second set throws {@link IllegalStateException}). */
  public static final class Builder {
    private final java.util.Set<String> set = new java.util.HashSet<>();
    private String modelKind;
    private int accelerators;
    private Duration stepTime;
    private int batchSize;
    private long sampleBytes;
    private long datasetBytes;
    private int epochs;
    private long parameters;
    private long checkpointBytes;
    private Duration checkpointInterval;

    private Builder() {}

    private void once(String field) {
      if (!set.add(field)) {
        throw new IllegalStateException("Cannot set " + field + " twice");
      }
    }

    public Builder modelKind(String value) {
      once("modelKind");
      modelKind = value;
      return this;
    }

    public Builder accelerators(int value) {
      once("accelerators");
      accelerators = value;
      return this;
    }

    public Builder stepTime(Duration value) {
      once("stepTime");
      stepTime = value;
      return this;
    }

    public Builder batchSize(int value) {
      once("batchSize");
      batchSize = value;
      return this;
    }

    public Builder sampleBytes(long value) {
      once("sampleBytes");
      sampleBytes = value;
      return this;
    }

    public Builder datasetBytes(long value) {
      once("datasetBytes");
      datasetBytes = value;
      return this;
    }

    public Builder epochs(int value) {
      once("epochs");
      epochs = value;
      return this;
    }

    public Builder parameters(long value) {
      once("parameters");
      parameters = value;
      return this;
    }

    public Builder checkpointBytes(long value) {
      once("checkpointBytes");
      checkpointBytes = value;
      return this;
    }

    public Builder checkpointInterval(Duration value) {
      once("checkpointInterval");
      checkpointInterval = value;
      return this;
    }

    public ComputationDescriptor build() {
      return new ComputationDescriptor(modelKind, accelerators, stepTime, batchSize, sampleBytes, datasetBytes,
          epochs, parameters, checkpointBytes, checkpointInterval);
    }
  }
}
