package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A long-running process's work reaches the history once per pipeline that did something, each record covering all before it. */
class HistoryRecorderTest {
  @TempDir Path dir;

  @Test
  void recordsAPipelineOnlyWhenItDidSomethingSinceTheLastRecord() {
    Random random = new Random(20_041);
    try (Repository repo = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      HistoryRecorder recorder = new HistoryRecorder(repo, "serve http://127.0.0.1:9000");
      assertEquals(0, recorder.record(), "nothing done yet");
      byte[] first = new byte[300_000];
      random.nextBytes(first);
      repo.put("a", new ByteArrayInputStream(first), PutOptions.defaults());
      assertEquals(1, recorder.record());
      assertEquals(0, recorder.record(), "nothing since");
      byte[] second = new byte[200_000];
      random.nextBytes(second);
      repo.put("b", new ByteArrayInputStream(second), PutOptions.defaults());
      assertEquals(1, recorder.record());
      List<MetricsSnapshot> runs = repo.history().read();
      assertEquals(2, runs.size());
      assertEquals("serve http://127.0.0.1:9000", runs.get(1).operation());
      assertEquals(first.length, runs.get(0).counter(PipelineMetrics.LOGICAL_BYTES));
      assertEquals(first.length + second.length, runs.get(1).counter(PipelineMetrics.LOGICAL_BYTES), "the second covers both puts");
    }
  }
}
