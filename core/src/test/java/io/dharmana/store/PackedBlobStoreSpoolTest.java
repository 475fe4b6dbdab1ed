package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Spool files of a packed store are removed at open only when their writer is gone: never a live
 * writer's, however long it has held the file, whether it is in another process (its lock held,
 * or not yet taken) or in this one.
 */
class PackedBlobStoreSpoolTest {
  private static final int ACQUIRED = 0;
  private static final int HELD = 3;

  @TempDir Path dir;

  /**
   * Child process. {@code unlocked DIR READY}: creates an unlocked spool file in DIR as a writer
   * does and stalls there (before taking its lock) for good. {@code hold FILE READY}: holds a
   * lock on FILE for good. {@code trylock FILE}: exits {@value #ACQUIRED} if FILE's lock could
   * be taken, {@value #HELD} if another process holds it.
   */
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "unlocked" -> {
        Path spool = PackedBlobStore.createUnlockedSpool(Path.of(args[1]), "0000000000000-00000000000000ab");
        Files.writeString(Path.of(args[2]), spool.toString());
        Thread.sleep(TimeUnit.MINUTES.toMillis(10));
      }
      case "hold" -> {
        try (FileChannel channel = FileChannel.open(Path.of(args[1]), StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
          Files.writeString(Path.of(args[2]), "locked");
          Thread.sleep(TimeUnit.MINUTES.toMillis(10));
        }
      }
      case "trylock" -> {
        try (FileChannel channel = FileChannel.open(Path.of(args[1]), StandardOpenOption.WRITE)) {
          FileLock lock = channel.tryLock();
          System.exit(lock != null ? ACQUIRED : HELD);
        }
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  private static Process child(Path log, String... args) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), PackedBlobStoreSpoolTest.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static void awaitFile(Path ready, Process child, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(ready) || Files.size(ready) == 0) {
      assertTrue(child.isAlive() && System.nanoTime() < deadline, "child did not get ready: " + Files.readString(log));
      Thread.sleep(10);
    }
  }

  private PackedBlobStore open(String objects) {
    return open(objects, dir.resolve("spool"));
  }

  private PackedBlobStore open(String objects, Path spool) {
    return PackedBlobStore.open(Stores.local(dir.resolve(objects), false), PackOptions.defaults(spool));
  }

  private static void kill(Process child) throws InterruptedException {
    child.destroyForcibly();
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
  }

  @Test
  void aWriterStalledBeforeLockingItsSpoolKeepsItHoweverLong() throws Exception {
    Files.createDirectories(dir.resolve("spool"));
    Path ready = dir.resolve("ready");
    Process writer = child(dir.resolve("unlocked.log"), "unlocked", dir.resolve("spool").toString(), ready.toString());
    try {
      awaitFile(ready, writer, dir.resolve("unlocked.log"));
      Path spool = Path.of(Files.readString(ready));
      // stalled for an hour between creating its spool and locking it (a stopped process, a long pause)
      Files.setLastModifiedTime(spool, FileTime.from(Instant.now().minusSeconds(3600)));
      try (PackedBlobStore store = open("objects")) {
        assertTrue(Files.exists(spool), "a live writer's unlocked spool must stay: " + spool);
      }
      kill(writer);
      try (PackedBlobStore store = open("objects")) {
        assertFalse(Files.exists(spool), "the spool of a writer that died before locking it is removed: " + spool);
      }
    } finally {
      writer.destroyForcibly();
    }
  }

  @Test
  void aSpoolLockedByAnotherProcessStaysUntilItDies() throws Exception {
    Files.createDirectories(dir.resolve("spool"));
    Path spool = Files.createFile(dir.resolve("spool").resolve("pack-0000000000000-00000000000000cd-x.spool"));
    Files.setLastModifiedTime(spool, FileTime.from(Instant.now().minusSeconds(3600)));
    Path ready = dir.resolve("ready");
    Process holder = child(dir.resolve("hold.log"), "hold", spool.toString(), ready.toString());
    try {
      awaitFile(ready, holder, dir.resolve("hold.log"));
      try (PackedBlobStore store = open("objects")) {
        assertTrue(Files.exists(spool), "a spool whose lock is held stays");
      }
      kill(holder);
      try (PackedBlobStore store = open("objects")) {
        assertFalse(Files.exists(spool), "a spool nobody holds is a dead writer's");
      }
    } finally {
      holder.destroyForcibly();
    }
  }

  /**
   * A second store of this process opening the same spool directory, however spelled, must not
   * touch the first's live spool: closing a channel on a file drops every lock the process holds on
   * it (POSIX), after which another process would take that spool for a dead writer's.
   */
  @ParameterizedTest
  @ValueSource(strings = {"same", "symlink"})
  void anotherStoreOfThisProcessLeavesALiveSpoolAndItsLock(String spelling) throws Exception {
    long seed = 91;
    byte[] bytes = new byte[10_000];
    new Random(seed).nextBytes(bytes);
    try (PackedBlobStore writer = open("objects")) {
      writer.write("chunks/one", bytes); // in the open pack's spool, not flushed
      Path spool;
      try (Stream<Path> files = Files.list(dir.resolve("spool"))) {
        spool = files.filter(p -> p.toString().endsWith(".spool")).findFirst().orElseThrow();
      }
      Path spoolDirectory = spelling.equals("same") ? dir.resolve("spool")
          : Files.createSymbolicLink(dir.resolve("spool-link"), dir.resolve("spool"));
      try (PackedBlobStore other = open("other-objects", spoolDirectory)) {
        assertTrue(Files.exists(spool), "seed " + seed + ": the live spool stays");
      }
      Process probe = child(dir.resolve("probe.log"), "trylock", spool.toString());
      assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
      assertEquals(HELD, probe.exitValue(), "the live spool's lock is still held: " + Files.readString(dir.resolve("probe.log")));
      writer.flush();
      assertArrayEquals(bytes, writer.read("chunks/one"), "seed " + seed);
    }
  }
}
