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
}
