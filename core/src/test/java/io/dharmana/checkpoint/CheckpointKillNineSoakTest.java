package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.TestCorpus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a JVM that saves checkpoints back to back (synthetic tensors plus the sample corpus when
 * present) with SIGKILL at random moments, at least 50 times, until at least 1 GiB has been
 * committed. After each kill: {@code restore latest} succeeds and is byte-identical to what was
 * saved for that step, every step the child reported committed is listed, and nothing incomplete
 * is listed. Every few rounds the parent prunes (keep last 3) and garbage-collects with grace 0,
 * and the restores after that must still hold.
 */
class CheckpointKillNineSoakTest {
  @TempDir Path dir;

  @Test
  void latestRestoresByteIdenticalAfterEveryKill() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse("false".equals(System.getProperty("dharmana.soak")),
        "kill -9 soak skipped: -Ddharmana.soak=false");
    long seed = Long.getLong("dharmana.seed", System.nanoTime() % 100_000);
    Random random = new Random(seed);
    Path corpus = TestCorpus.dir();
    Repository.init(dir, PipelineDescriptor.of("soak", StorageDescriptor.of(List.of()))).close();
    long committedBytes = 0;
    long highestReported = -1;
    int kills = 0;
    int withoutProgress = 0;
    long next = 0;
    while (kills < 50 || committedBytes < (1L << 30)) {
      Process child = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          CheckpointSoakWriter.class.getName(), dir.toString(), Long.toString(next), Long.toString(seed),
          corpus == null ? "-" : corpus.toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ready", lines.readLine(), "seed " + seed + ": child did not start");
      List<String> reported = new CopyOnWriteArrayList<>();
      Thread reader = new Thread(() -> {
        try {
          String line;
          while ((line = lines.readLine()) != null) {
            reported.add(line);
          }
        } catch (java.io.IOException closed) {
          // the child is gone
        }
      });
      reader.start();
      if (kills % 4 == 3) {
        Thread.sleep(random.nextInt(1500)); // early: while opening or staging the first save
      } else {
        // wait for the first commit (so every round makes progress on a loaded machine), then a random moment
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (reported.isEmpty() && System.nanoTime() < deadline && child.isAlive()) {
          Thread.sleep(5);
        }
        Thread.sleep(random.nextInt(2500));
      }
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      reader.join(10_000);
      kills++;
      for (String line : reported) {
        String[] parts = line.split(" ");
        if (parts[0].equals("committed")) {
          highestReported = Math.max(highestReported, Long.parseLong(parts[1]));
          committedBytes += Long.parseLong(parts[2]);
        }
      }
      try (Repository r = Repository.open(dir);
          CheckpointManager m = CheckpointManager.open(r, "soak", CheckpointOptions.DEFAULT.withThreads(2))) {
        String at = "seed " + seed + " kill " + kills;
        List<CheckpointInfo> listed = m.list();
        for (CheckpointInfo c : listed) {
          assertTrue(c.complete(), at + ": incomplete step " + c.step() + " is listed");
        }
        OptionalLong latest = m.latest();
        if (highestReported >= 0) {
          assertTrue(latest.isPresent() && latest.getAsLong() >= highestReported,
              at + ": step " + highestReported + " was reported committed but latest is " + latest);
        }
        if (latest.isPresent()) {
          long step = latest.getAsLong();
          RestoredCheckpoint restored = m.restoreLatest();
          List<Tensor> expected = SoakStates.state(seed, step, corpus);
          assertEquals(expected.size(), restored.tensors().size(), at + " step " + step);
          for (Tensor t : expected) {
            assertArrayEquals(CheckpointManagerTest.bytes(t), CheckpointManagerTest.bytes(restored.tensor(t.name())),
                at + ": tensor " + t.name() + " of latest step " + step + " is not what was saved");
          }
          withoutProgress = step + 1 > next ? 0 : withoutProgress + 1;
          next = step + 1;
        } else {
          withoutProgress++;
        }
        if (kills % 7 == 0) {
          m.prune(RetentionPolicy.keepLast(3), Duration.ZERO);
          r.gc(Duration.ZERO);
        }
      }
      assertTrue(withoutProgress < 10, "seed " + seed + ": no step committed in 10 rounds");
    }
    System.out.printf("checkpoint kill -9 soak: %d kills, %d steps, %.2f GiB committed (seed %d, corpus %s)%n",
        kills, next, committedBytes / (double) (1L << 30), seed, corpus == null ? "absent" : "included");
  }
}
