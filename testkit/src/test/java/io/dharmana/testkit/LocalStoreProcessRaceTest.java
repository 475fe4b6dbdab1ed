package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several processes racing to commit one key of a shared local store: the hard-link commit must
 * let exactly one win, as it does for threads.
 */
class LocalStoreProcessRaceTest {
  private static final int WON = 0;
  private static final int LOST = 3;

  /** Child process: waits for the start signal, then commits its id under the key. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    String id = args[1];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(dir.resolve("go")) && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    try (BlobStore store = Stores.local(dir.resolve("store"), true)) {
      store.write("race/key", ("writer " + id).getBytes(StandardCharsets.UTF_8));
      System.exit(WON);
    } catch (AlreadyExistsException e) {
      System.exit(LOST);
    }
  }

  @Test
  void exactlyOneProcessWins(@TempDir Path dir) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    int processes = 4;
    List<Process> children = new ArrayList<>();
    for (int i = 0; i < processes; i++) {
      children.add(new ProcessBuilder(
              java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
              LocalStoreProcessRaceTest.class.getName(), dir.toString(), String.valueOf(i))
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("child" + i + ".log").toFile())
          .start());
    }
    Thread.sleep(500); // let the children start; a late one still races, it just tends to lose
    Files.createFile(dir.resolve("go"));
    int won = 0;
    int winner = -1;
    for (int i = 0; i < processes; i++) {
      Process child = children.get(i);
      assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child " + i + " did not finish");
      int code = child.exitValue();
      assertTrue(code == WON || code == LOST,
          "child " + i + " exited " + code + ": " + Files.readString(dir.resolve("child" + i + ".log")));
      if (code == WON) {
        won++;
        winner = i;
      }
    }
    assertEquals(1, won);
    try (BlobStore store = Stores.local(dir.resolve("store"), true)) {
      assertArrayEquals(("writer " + winner).getBytes(StandardCharsets.UTF_8), store.read("race/key"));
    }
  }
}
