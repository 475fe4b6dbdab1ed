package io.dharmana.checkpoint;

import io.dharmana.NotFoundException;
import io.dharmana.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Tensors restored from one step, every one verified against the SHA-256 recorded at save.
 *
 * @param run the run
 * @param step the step
 * @param rank the shard restored
 * @param metadata the metadata given to save
 * @param tensors the restored tensors, in the order they were saved
 */
public record RestoredCheckpoint(String run, long step, int rank, Map<String, String> metadata, List<Tensor> tensors) {
  public RestoredCheckpoint {
    metadata = Map.copyOf(metadata);
    tensors = List.copyOf(tensors);
  }

  /** The tensor named {@code name}. */
  public Tensor tensor(String name) {
    return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() -> new NotFoundException(
        "Cannot find tensor '" + name + "' in checkpoint " + run + "@" + step + " (rank " + rank + ")"));
  }
}
