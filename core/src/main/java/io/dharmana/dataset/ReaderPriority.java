package io.dharmana.dataset;

/** How a {@link DataLoader}'s reader threads share the CPU with the thread that consumes batches. */
public enum ReaderPriority {
  /** Ordinary threads: they take their fair share of the CPU beside every other thread. */
  NORMAL,
  /**
   * Background threads ({@link io.dharmana.runtime.HostScheduling#background()}): they read on
   * whatever CPU time no ordinary thread wants, and the thread that feeds the accelerator takes a
   * core from them the moment it wakes instead of waiting out a reader's time slice. For a loader
   * ahead of a training loop on a host whose cores the readers keep busy; not where other ordinary
   * work keeps every core busy, as the readers would then hardly run. Measured with {@code
   * dataset bench} at 80% of the read bandwidth on 2 cores: about a point of utilization for
   * 2.8 MB samples, none for 115 KB ones (whose readers still stall behind the JIT's threads).
   */
  BACKGROUND
}
