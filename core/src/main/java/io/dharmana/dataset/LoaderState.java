package io.dharmana.dataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Objects;

/**
 * Where a {@link DataLoader} is in an epoch: enough to build a loader that yields exactly the
 * remaining samples of the epoch, in the same order. Small (well under 1 KiB as JSON) and
 * serializable with {@link #toJson()} / {@link #parse(String)}.
 *
 * @param dataset fingerprint of the dataset index the state refers to
 * @param seed shuffle seed
 * @param epoch epoch number
 * @param shuffle whether the epoch is shuffled
 * @param shuffleBlock shuffle block size in samples
 * @param rank this rank
 * @param worldSize number of ranks
 * @param worker this worker within the rank
 * @param workers workers per rank
 * @param consumed samples of this rank and worker's part already handed out
 */
public record LoaderState(
    String dataset, long seed, long epoch, boolean shuffle, int shuffleBlock, int rank, int worldSize, int worker, int workers,
    long consumed) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public LoaderState {
    Objects.requireNonNull(dataset, "dataset");
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("Invalid loader state: rank " + rank + " of world size " + worldSize);
    }
    if (workers < 1 || worker < 0 || worker >= workers) {
      throw new IllegalArgumentException("Invalid loader state: worker " + worker + " of " + workers);
    }
    if (consumed < 0 || epoch < 0 || shuffleBlock < 1) {
      throw new IllegalArgumentException("Invalid loader state: consumed " + consumed + ", epoch " + epoch + ", shuffle block " + shuffleBlock);
    }
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot serialize loader state", e);
    }
  }

  public static LoaderState parse(String json) {
    try {
      return JSON.readValue(json, LoaderState.class);
    } catch (IOException e) {
      throw new IllegalArgumentException("Invalid loader state: " + DatasetIndex.reason(e), e);
    }
  }
}
