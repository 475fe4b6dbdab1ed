package io.dharmana.cli;

import io.dharmana.metrics.LatencyStats;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.StageStats;
import io.dharmana.repo.Repository;
import java.util.HashMap;
import java.util.Map;

/**
 * Records a long-running process's work in the repository's history, where {@code stat} and
 * {@code report} find runs: each pipeline's metrics since the process opened the repository,
 * appended when the pipeline did something since the last record. {@code serve} records every
 * {@link ServeCommand#RECORD_EVERY} and when it stops, so a gateway killed outright loses at most
 * one interval; each record covers everything before it, and the report reads the latest.
 */
final class HistoryRecorder {
  private final Repository repository;
  private final String operation;
  /** Per pipeline, the activity of its last record. */
  private final Map<String, Long> recorded = new HashMap<>();

  HistoryRecorder(Repository repository, String operation) {
    this.repository = repository;
    this.operation = operation;
  }

  /** Appends a run per pipeline that did something since the last record; returns how many. */
  synchronized int record() {
    int appended = 0;
    for (String pipeline : repository.pipelines()) {
      MetricsSnapshot snapshot = repository.metrics(pipeline).snapshot(operation);
      long activity = activity(snapshot);
      if (activity != 0 && activity != recorded.getOrDefault(pipeline, 0L)) {
        repository.history().append(snapshot);
        recorded.put(pipeline, activity);
        appended++;
      }
    }
    return appended;
  }

  /** A figure that grows with anything a pipeline does: calls and bytes of its stages, counters, timed operations. */
  private static long activity(MetricsSnapshot snapshot) {
    long activity = 0;
    for (StageStats s : snapshot.stages()) {
      activity += s.calls() + s.bytesIn();
    }
    for (long v : snapshot.counters().values()) {
      activity += v;
    }
    for (LatencyStats l : snapshot.latencies()) {
      activity += l.count();
    }
    return activity;
  }
}
