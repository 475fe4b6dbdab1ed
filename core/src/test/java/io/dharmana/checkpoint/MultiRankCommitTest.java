package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.GcResult;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three JVM processes save the shards of the same steps of one run concurrently; one is killed
 * with SIGKILL in the middle of a later step. Checks that a step becomes visible only with all
 * three shards, that the killed step stays invisible and {@code latest} stays at the previous
 * complete step, that gc removes the dead rank's debris without harming complete steps, and that
 * the rank, restarted, completes the step.
 */
class MultiRankCommitTest {
  private static final int WORLD = 3;
  @TempDir Path dir;

  static List<Tensor> shard(int rank, long step, int tensors) {
    List<Tensor> out = new ArrayList<>();
    for (Tensor t : TestStates.state(1000 + rank, step, tensors, 64 * 1024)) {
      out.add(Tensor.of("rank" + rank + "." + t.name(), t.dtype(), t.shape(), t.data()));
    }
    return out;
  }

  private Process rank(int rank, long first, long last, int tensors) throws IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Xmx512m", "-XX:+UseSerialGC",
        RankWriter.class.getName(), dir.toString(), Integer.toString(rank), Integer.toString(WORLD),
        Long.toString(first), Long.toString(last), Integer.toString(tensors))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  private static List<String> output(Process p) throws Exception {
    List<String> lines = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        lines.add(line);
      }
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return lines;
  }

  /** Manifests the repository holds (in its packs from format version 3 on), as a new reader sees them. */
  private long manifests() {
    try (Repository r = Repository.open(dir)) {
      return manifests(r);
    }
  }

  /** Manifests the repository holds, including those other processes sealed since {@code r} looked last. */
  private static long manifests(Repository r) {
    r.tiers().refresh();
    try (java.util.stream.Stream<io.dharmana.store.BlobInfo> all = r.tiers().list("manifests/")) {
      return all.count();
    }
  }

  @Test
  void stepIsVisibleOnlyWhenEveryRankCommittedAndADeadRankLeavesItInvisible() throws Exception {
    Repository.init(dir, PipelineDescriptor.of("dist", StorageDescriptor.of(List.of()))).close();
    List<Process> ranks = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      ranks.add(rank(r, 1, 3, 3));
    }
    int completions = 0;
    for (Process p : ranks) {
      List<String> out = output(p);
      assertEquals(0, p.exitValue(), "rank output " + out);
      completions += (int) out.stream().filter(l -> l.endsWith("complete")).count();
    }
    assertTrue(completions >= 3, "each step is reported complete by at least its last rank");

    // step 4: ranks 0 and 2 finish; rank 1 is killed once it has written some tensors, before its shard
    Process r0 = rank(0, 4, 4, 3);
    Process r2 = rank(2, 4, 4, 3);
    output(r0);
    output(r2);
    assertEquals(0, r0.exitValue());
    assertEquals(0, r2.exitValue());
    try (Repository watched = Repository.open(dir)) {
      long before = manifests(watched);
      Process r1 = rank(1, 4, 4, 40);
      BufferedReader r1out = new BufferedReader(new InputStreamReader(r1.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("staged 4", r1out.readLine());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (manifests(watched) < before + 3 && System.nanoTime() < deadline) {
        Thread.sleep(2);
      }
      r1.destroyForcibly();
      assertTrue(r1.waitFor(30, TimeUnit.SECONDS));
      assertTrue(manifests(watched) >= before + 3, "rank 1 wrote no tensors in 60 s");
    }

    try (Repository repo = Repository.open(dir);
        CheckpointManager m = CheckpointManager.open(repo, "dist", CheckpointOptions.DEFAULT)) {
      assertEquals(OptionalLong.of(3), m.latest(), "the step a rank died in must not become latest");
      assertEquals(List.of(1L, 2L, 3L), m.list().stream().map(CheckpointInfo::step).toList());
      CheckpointInfo partial = m.listAll().get(3);
      assertEquals(4, partial.step());
      assertFalse(partial.complete());
      assertEquals(2, partial.ranks());
      GcResult gc = repo.gc(Duration.ZERO);
      System.out.println("gc after a rank died: " + gc);
      assertTrue(gc.manifestsDeleted() >= 3, "the dead rank's tensors are debris: " + gc);
      assertEquals(gc.liveManifests(), manifests(), "only live manifests remain");
      for (int r = 0; r < WORLD; r++) {
        RestoredCheckpoint restored = m.restore(3, r, null);
        for (Tensor t : shard(r, 3, 3)) {
          assertArrayEquals(CheckpointManagerTest.bytes(t), CheckpointManagerTest.bytes(restored.tensor(t.name())),
              "rank " + r + " tensor " + t.name() + " of step 3 after gc");
        }
      }
    }

    // the rank comes back and saves its shard of step 4: the step completes
    List<String> again = output(rank(1, 4, 4, 3));
    assertEquals(List.of("staged 4", "committed 4 complete"), again);
    try (Repository repo = Repository.open(dir);
        CheckpointManager m = CheckpointManager.open(repo, "dist", CheckpointOptions.DEFAULT.withRank(1, WORLD))) {
      assertEquals(OptionalLong.of(4), m.latest());
      RestoredCheckpoint restored = m.restoreLatest();
      for (Tensor t : shard(1, 4, 3)) {
        assertArrayEquals(CheckpointManagerTest.bytes(t), CheckpointManagerTest.bytes(restored.tensor(t.name())));
      }
      assertEquals(0, m.verify(4) - 9, "all 9 tensors of step 4 verify");
    }
  }
}
