package io.dharmana.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.NotFoundException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pack killed with SIGKILL in the middle leaves no dataset; the next pack cleans up and succeeds. */
class PackCrashTest {
  @TempDir Path tmp;

  /** Packs args[0] into args[1] slowly, so that the test can kill it between shards. */
  public static void main(String[] args) {
    try (BlobStore store = Stores.local(Path.of(args[1]), true)) {
      DatasetPacker.builder(store).shardSize(16 * 1024).threads(1).progress(new PackProgress() {
        @Override
        public void shardWritten(String key, int shards, long bytes) {
          try {
            Thread.sleep(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }).build().pack(List.of(Path.of(args[0])));
    }
  }

  @Test
  void killedPackLeavesNothingVisible() throws Exception {
    Path src = tmp.resolve("src");
    DatasetPackTest.writeRandomTree(src, new Random(99), 200);
    Path out = tmp.resolve("ds");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), PackCrashTest.class.getName(), src.toString(), out.toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (shards(out) < 3 && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(p.isAlive(), "the pack must still be running when killed: " + Files.readString(tmp.resolve("child.log")));
    p.destroyForcibly().waitFor();
    assertTrue(shards(out) >= 3, "shards were written before the kill");
    try (BlobStore store = Stores.local(out, false)) {
      assertThrows(NotFoundException.class, () -> Dataset.open(store, ""), "a killed pack must not be visible as a dataset");
    }
    DatasetIndex index = DatasetPackTest.pack(out, List.of(src), 16 * 1024, 4096);
    assertEquals(200, index.samples());
    assertEquals(index.shards().size(), shards(out), "debris of the killed pack was replaced, not kept beside the new shards");
  }

  private static long shards(Path out) throws IOException {
    Path dir = out.resolve("shards");
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().endsWith(".dhs")).count();
    }
  }
}
