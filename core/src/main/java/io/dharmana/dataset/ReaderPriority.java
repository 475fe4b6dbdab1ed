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
   * work keeps every core busy, as the readers would then hardly run.
   */
  BACKGROUND
}
