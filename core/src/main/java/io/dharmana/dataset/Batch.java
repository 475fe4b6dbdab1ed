package io.dharmana.dataset;

import java.util.List;

/**
 * A batch of samples as a {@link DataLoader} hands it out.
 *
 * @param number 0-based batch number within this loader's part of the epoch
 * @param samples the samples, in epoch order
 */
public record Batch(long number, List<Sample> samples) {
  public Batch {
    samples = List.copyOf(samples);
  }

  /** Total bytes of the batch's samples. */
  public long bytes() {
    long n = 0;
    for (Sample s : samples) {
      n += s.size();
    }
    return n;
  }

  public int size() {
    return samples.size();
  }
}
