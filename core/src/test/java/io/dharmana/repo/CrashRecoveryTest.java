package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.stage.StageSpec;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writing JVM with SIGKILL at random moments, 24 times (more, up to 96, until a few
 * objects are committed), and checks after each kill that every object the writer reported
 * committed reads back byte-identical, that nothing else is visible except possibly the object in
 * flight when it died (committed but not yet reported), and that garbage collection after a crash
 * keeps every committed object.
 */
class CrashRecoveryTest {
  @TempDir Path dir;

  @Test
  void committedObjectsSurviveKillNineAndNothingPartialIsVisible() throws Exception {
    killWritersAndCheck(1);
  }

  /**
   * Eight writers at once, most of their objects small: their puts share pack sealings (chunks and
   * manifests together) and directory flushes, and a kill lands in the middle of shared commits
   * or of a merge of small packs, which the child runs all along as a serving gateway does.
   */
  @Test
  void concurrentWritersCommittedObjectsSurviveKillNine() throws Exception {
    killWritersAndCheck(8);
  }

  private void killWritersAndCheck(int threads) throws Exception {
    long seed = Long.getLong("dharmana.seed", System.nanoTime());
    Random random = new Random(seed);
    PipelineDescriptor pipeline = PipelineDescriptor.of("crash",
        StorageDescriptor.of(List.of(StageSpec.of("zstd", Map.of("level", "1")))));
    Repository.init(dir, pipeline).close();
    Set<String> committed = new HashSet<>();
    int next = 0;
    int kills = 24;
    int round = 0;
    // a saturated machine can slow the children so that 24 kills commit almost nothing: then go on,
    // with longer lives, until a few objects are committed, so the test never passes having
    // exercised nothing and never fails only for being slow
    for (; round < kills || committed.size() < 5 && round < 4 * kills; round++) {
      Process child = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "-Xmx512m",
          CrashWriter.class.getName(), dir.toString(), Integer.toString(next), Integer.toString(threads))
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ready", lines.readLine(), "seed " + seed + ": child did not start");
      List<String> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
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
      Thread.sleep(100 + random.nextInt(round % 4 == 0 || round >= kills ? 3000 : 1200));
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      // the pipe ends with the child: the reader must see every line it printed, or the check below
      // would take a committed but unread object for one that was never committed
      reader.join(120_000);
      assertFalse(reader.isAlive(), "seed " + seed + " round " + round + ": the child's output was not read to its end");
      for (String line : reported) {
        if (line.startsWith("committed ")) {
          committed.add(line.substring("committed ".length()));
        }
      }
      int inFlight = committed.stream().mapToInt(n -> Integer.parseInt(n.substring(4))).max().orElse(-1) + 1;
      try (Repository r = Repository.open(dir)) {
        Set<String> visible = new HashSet<>();
        try (Stream<ObjectInfo> all = r.list("")) {
          all.forEach(o -> visible.add(o.name()));
        }
        for (String name : committed) {
          assertTrue(visible.contains(name), "seed " + seed + " round " + round + ": committed " + name + " is gone");
        }
        for (String name : visible) {
          int i = Integer.parseInt(name.substring(4));
          // one writer has one put in flight when killed; several writers, any put of the last child:
          // obj-i itself (i >= next) or its replacement by obj-2i or obj-2i+1 (2i + 1 >= next), which
          // may be the first version of a name whose own put died with an earlier child
          assertTrue(committed.contains(name) || (threads == 1 ? i == Math.max(inFlight, next) : 2 * i + 1 >= next),
              "seed " + seed + " round " + round + ": " + name + " is visible but was never committed");
          try (InputStream in = r.open(name, io.dharmana.runtime.Verification.CHUNKS_AND_ORIGINAL)) {
            assertTrue(SyntheticData.sameAs(in, i, threads == 1 ? CrashWriter.sizeOf(i) : CrashWriter.concurrentSizeOf(i)),
                "seed " + seed + " round " + round + ": " + name + " does not read back byte-identical");
          }
        }
        committed.addAll(visible);
        if (round % 6 == 5) {
          r.gc(Duration.ZERO);
        }
      }
      next = committed.stream().mapToInt(n -> Integer.parseInt(n.substring(4))).max().orElse(-1) + 1;
    }
    Repository.open(dir).close(); // opening removes the spool files the killed writers left
    try (Stream<Path> spools = java.nio.file.Files.walk(dir.resolve(".spool"))) {
      assertEquals(0, spools.filter(java.nio.file.Files::isRegularFile).count(), "seed " + seed + ": dead spool files left");
    }
    assertTrue(committed.size() >= 5, "seed " + seed + ": only " + committed.size() + " objects committed in " + round + " rounds");
    System.out.printf("kill -9 x%d, %d writers: %d objects committed and verified (seed %d)%n", round, threads,
        committed.size(), seed);
  }
}
