package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.runtime.Verification;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a garbage collection with SIGKILL at random moments while it merges hundreds of small
 * packs (each small put seals one), and checks after each kill that every object reads back
 * byte-identical, and at the end that a finished gc leaves a couple of packs holding them all.
 */
class GcCrashTest {
  @TempDir Path dir;

  private void putSmall(Repository r, Map<String, byte[]> objects, Random random, int count) {
    for (int i = 0; i < count; i++) {
      String name = "small-" + objects.size();
      byte[] data = new byte[500 + random.nextInt(4000)];
      random.nextBytes(data);
      r.put(name, new ByteArrayInputStream(data), PutOptions.defaults());
      objects.put(name, data);
    }
  }

  private static void assertAllRead(Repository r, Map<String, byte[]> objects, String when) throws IOException {
    for (Map.Entry<String, byte[]> e : objects.entrySet()) {
      try (InputStream in = r.open(e.getKey(), Verification.CHUNKS_AND_ORIGINAL)) {
        assertArrayEquals(e.getValue(), in.readAllBytes(), when + ": " + e.getKey());
      }
    }
  }

  private long packs() throws IOException {
    try (Stream<Path> files = Files.walk(dir.resolve("tiers"))) {
      return files.filter(p -> p.toString().endsWith(".pack")).count();
    }
  }

  @Test
  void everyObjectSurvivesAGcKilledWhileItMergesPacks() throws Exception {
    long seed = Long.getLong("dharmana.seed", System.nanoTime());
    Random random = new Random(seed);
    Map<String, byte[]> objects = new LinkedHashMap<>();
    Repository.init(dir, RepositoryTest.plain()).close();
    // the kill's delay after the child opened the repository homes in on the merge: longer after a
    // kill that came before it (no pack changed), shorter after one that came after it (one pack)
    int early = 0;
    int late = 4000;
    int inMerge = 0;
    StringBuilder packsBeforeAndAfter = new StringBuilder();
    for (int round = 0; round < 16; round++) {
      try (Repository r = Repository.open(dir)) {
        putSmall(r, objects, random, round == 0 ? 200 : 20);
      }
      long before = packs();
      Process child = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "-Xmx256m", CrashGc.class.getName(), dir.toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ready", lines.readLine(), "seed " + seed + ": child did not start");
      int delay = early + random.nextInt(Math.max(1, late - early));
      Thread.sleep(delay);
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      long after = packs();
      packsBeforeAndAfter.append(' ').append(before).append("->").append(after);
      if (after == before) {
        early = delay;
        late = Math.max(late, early + 400); // a gc over more objects takes longer than the last
      } else if (after <= 2) {
        late = delay;
      } else {
        inMerge++; // the merged pack sealed, the old ones partly deleted
      }
      try (Repository r = Repository.open(dir)) {
        assertAllRead(r, objects, "seed " + seed + " round " + round + " (packs before->after each kill:" + packsBeforeAndAfter + ")");
      }
    }
    try (Repository r = Repository.open(dir)) {
      r.gc(Duration.ZERO);
      assertAllRead(r, objects, "seed " + seed + ", after a gc that finished");
    }
    assertTrue(packs() <= 2, "seed " + seed + ": " + packs() + " packs left");
    System.out.printf("gc killed x16 (%d inside the merge; packs before->after each kill:%s): %d objects verified, %d packs (seed %d)%n",
        inMerge, packsBeforeAndAfter, objects.size(), packs(), seed);
  }
}
