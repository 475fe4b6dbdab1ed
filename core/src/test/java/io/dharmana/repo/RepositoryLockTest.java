package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Several {@link Repository} instances of one JVM on one repository (a library embedding a gateway
 * and running gc in-process, or two opens of one path however spelled) wait for each other's locks
 * as two processes do, and none of them lets go of a lock another still holds.
 */
class RepositoryLockTest {
  private static final int ACQUIRED = 0;
  private static final int HELD = 3;

  @TempDir Path dir;

  /**
   * Child process. {@code trylock FILE} exits {@value #ACQUIRED} if a gc could lock FILE now,
   * {@value #HELD} if a process holds it. {@code gc FILE} holds FILE as a gc does, says "ready" and
   * keeps it until killed.
   */
  public static void main(String[] args) throws Exception {
    try (FileChannel channel = FileChannel.open(Path.of(args[1]), StandardOpenOption.WRITE)) {
      FileLock lock = channel.tryLock();
      if (args[0].equals("trylock")) {
        System.exit(lock != null ? ACQUIRED : HELD);
      }
      System.out.println(lock != null ? "ready" : "held");
      System.out.flush();
      Thread.sleep(TimeUnit.MINUTES.toMillis(10));
    }
  }

  private static Process child(String mode, Path repo) throws IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        RepositoryLockTest.class.getName(), mode, repo.resolve("meta").resolve("lock").toString())
        .redirectErrorStream(true).start();
  }

  /** Whether another process's gc would find the repository in {@code repo} held now. */
  private static boolean heldForAnotherProcess(Path repo) throws Exception {
    Process probe = child("trylock", repo);
    String output = new String(probe.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
    assertTrue(probe.exitValue() == ACQUIRED || probe.exitValue() == HELD, "probe failed: " + output);
    return probe.exitValue() == HELD;
  }

  /** The repository's directory spelled as {@code how}: as created, relative, through a symlink. */
  private Path spelled(Path repo, String how) throws IOException {
    return switch (how) {
      case "same" -> repo;
      case "relative" -> Path.of("").toAbsolutePath().relativize(repo);
      case "symlink" -> Files.createSymbolicLink(dir.resolve("link"), repo);
      default -> throw new IllegalArgumentException(how);
    };
  }

  /** A put whose data arrives only when the test says so: it holds the shared lock meanwhile. */
  private static final class PutInProgress implements AutoCloseable {
    final byte[] data;
    final CountDownLatch reading = new CountDownLatch(1);
    final CountDownLatch proceed = new CountDownLatch(1);
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final Thread thread;

    PutInProgress(Repository repository, String name, long seed) throws InterruptedException {
      data = new byte[200_000];
      new Random(seed).nextBytes(data);
      InputStream source = new ByteArrayInputStream(data);
      InputStream stalling = new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          reading.countDown();
          try {
            proceed.await();
          } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException();
          }
          return source.read(b, off, len);
        }
      };
      thread = new Thread(() -> {
        try {
          repository.put(name, stalling, PutOptions.defaults());
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "put " + name);
      thread.start();
      assertTrue(reading.await(60, TimeUnit.SECONDS), "the put did not start reading");
    }

    /** Lets the put finish; returns what it threw, or null. */
    Throwable finish() throws InterruptedException {
      proceed.countDown();
      thread.join(TimeUnit.SECONDS.toMillis(60));
      assertTrue(!thread.isAlive(), "the put did not finish");
      return failure.get();
    }

    @Override
    public void close() throws InterruptedException {
      proceed.countDown();
      thread.join(TimeUnit.SECONDS.toMillis(60));
    }
  }

  /** A gc on its own thread; what it threw, if anything, is kept. */
  private static final class Gc {
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final Thread thread;

    Gc(Repository repository) {
      thread = new Thread(() -> {
        try {
          repository.gc(Duration.ZERO);
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "gc");
      thread.start();
    }

    /** Waits until the gc waits for the repository's lock (or ended, which it must not have). */
    void assertWaitsForTheLock() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (thread.isAlive() && !waitingForLock() && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertNull(failure.get(), () -> "the gc must wait, not fail: " + failure.get());
      assertTrue(thread.isAlive(), "the gc ran while a writer held the repository");
      assertTrue(waitingForLock(), () -> "the gc is not waiting for the lock: " + Arrays.toString(thread.getStackTrace()));
    }

    private boolean waitingForLock() {
      return thread.getState() == Thread.State.WAITING
          && Arrays.stream(thread.getStackTrace()).anyMatch(f -> f.getClassName().startsWith(RepositoryLock.class.getName()));
    }

    void assertCompletes() throws InterruptedException {
      thread.join(TimeUnit.SECONDS.toMillis(60));
      assertTrue(!thread.isAlive(), "the gc did not finish");
      assertNull(failure.get(), () -> "the gc failed: " + failure.get());
    }
  }

  private static void assertReads(Repository repository, String name, byte[] data) throws IOException {
    try (InputStream in = repository.open(name)) {
      assertArrayEquals(data, in.readAllBytes(), name);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"same", "relative", "symlink"})
  void aGcOfAnotherInstanceWaitsForAPutInProgressThenRuns(String how) throws Exception {
    Path repo = dir.resolve("repo");
    try (Repository a = Repository.init(repo, RepositoryTest.plain()); Repository b = Repository.open(spelled(repo, how))) {
      Gc gc;
      byte[] data;
      try (PutInProgress put = new PutInProgress(a, "in-progress", 17)) {
        data = put.data;
        gc = new Gc(b);
        gc.assertWaitsForTheLock();
        assertNull(put.finish(), "the put failed");
      }
      gc.assertCompletes();
      assertReads(b, "in-progress", data); // the gc kept what the put wrote
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"same", "relative", "symlink"})
  void twoInstancesWriteAtOnce(String how) throws Exception {
    Path repo = dir.resolve("repo");
    try (Repository a = Repository.init(repo, RepositoryTest.plain()); Repository b = Repository.open(spelled(repo, how))) {
      byte[] other = new byte[50_000];
      new Random(18).nextBytes(other);
      try (PutInProgress put = new PutInProgress(a, "slow", 19)) {
        // while a's put holds the repository shared, b's put shares it too
        CompletableFuture.runAsync(() -> b.put("quick", new ByteArrayInputStream(other), PutOptions.defaults()))
            .get(60, TimeUnit.SECONDS);
        assertNull(put.finish(), "the slow put failed");
        assertReads(b, "slow", put.data);
      }
      assertReads(a, "quick", other);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"same", "symlink"})
  void closingOneInstanceLeavesAnothersLockHeld(String how) throws Exception {
    Path repo = dir.resolve("repo");
    try (Repository a = Repository.init(repo, RepositoryTest.plain())) {
      try (PutInProgress put = new PutInProgress(a, "in-progress", 23)) {
        Repository.open(spelled(repo, how)).close();
        // closing a channel drops every lock its process holds on the file (POSIX): b's close must not
        assertTrue(heldForAnotherProcess(repo), "another process's gc would run beside the put");
        try (Repository c = Repository.open(repo)) {
          Gc gc = new Gc(c);
          gc.assertWaitsForTheLock();
          assertNull(put.finish(), "the put failed");
          gc.assertCompletes();
          assertReads(c, "in-progress", put.data);
        }
      }
      assertTrue(!heldForAnotherProcess(repo), "nothing holds the repository once the put is done");
    }
  }

  /**
   * The last instance closed while a thread still holds keeps the lock until that thread lets go;
   * an instance opened afterwards gets a lock of its own, not the closed one.
   */
  @org.junit.jupiter.api.Test
  void theLockOutlivesItsLastInstanceUntilTheLastHoldIsReleased() throws Exception {
    Path repo = dir.resolve("repo");
    Repository.init(repo, RepositoryTest.plain()).close();
    Path file = repo.resolve("meta").resolve("lock");
    RepositoryLock a = new RepositoryLock(file);
    RepositoryLock.Hold shared = a.shared();
    a.close();
    assertTrue(heldForAnotherProcess(repo), "closing the instance let go of a hold still in progress");
    shared.close();
    assertTrue(!heldForAnotherProcess(repo), "the last hold released the lock");
    try (RepositoryLock b = new RepositoryLock(file); RepositoryLock.Hold exclusive = b.exclusive()) {
      assertTrue(heldForAnotherProcess(repo), "a lock opened after the last one closed works");
    }
  }

  /**
   * Instances opened and closed on several threads at once, through two spellings, while holding:
   * gc never overlaps a writer, and no instance gets a lock file another closed meanwhile.
   */
  @org.junit.jupiter.api.Test
  void instancesOpenedAndClosedConcurrentlyExcludeEachOther() throws Exception {
    long seed = Long.getLong("dharmana.seed", System.nanoTime());
    Path repo = dir.resolve("repo");
    Repository.init(repo, RepositoryTest.plain()).close();
    List<Path> files = List.of(repo.resolve("meta/lock"), spelled(repo, "symlink").resolve("meta/lock"));
    AtomicInteger writers = new AtomicInteger();
    AtomicInteger collectors = new AtomicInteger();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      Random random = new Random(seed + t);
      threads[t] = new Thread(() -> {
        try {
          for (int i = 0; i < 300; i++) {
            try (RepositoryLock lock = new RepositoryLock(files.get(random.nextInt(files.size())))) {
              boolean gc = random.nextInt(5) == 0;
              try (RepositoryLock.Hold hold = gc ? lock.exclusive() : lock.shared()) {
                AtomicInteger mine = gc ? collectors : writers;
                mine.incrementAndGet();
                int othersWriting = writers.get() - (gc ? 0 : 1);
                if (collectors.get() > (gc ? 1 : 0) || gc && othersWriting > 0) {
                  failures.add(new AssertionError("a gc overlapped: " + collectors.get() + " gc, " + writers.get() + " writers"));
                }
                Thread.onSpinWait();
                mine.decrementAndGet();
              }
            }
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    assertEquals(List.of(), failures, "seed " + seed);
  }

  /**
   * A writer waits for a gc of another process and runs once the kernel drops that process's lock
   * at its death; an interrupt while it waits fails only that writer, not the lock every instance
   * of this JVM on the repository shares.
   */
  @org.junit.jupiter.api.Test
  void aWriterWaitsForAnotherProcesssGcAndAnInterruptLeavesTheLockWorking() throws Exception {
    Path repo = dir.resolve("repo");
    Repository.init(repo, RepositoryTest.plain()).close();
    Path file = repo.resolve("meta").resolve("lock");
    try (RepositoryLock a = new RepositoryLock(file); RepositoryLock b = new RepositoryLock(file)) {
      Process gc = child("gc", repo);
      try {
        String said = new java.io.BufferedReader(new java.io.InputStreamReader(gc.getInputStream(),
            java.nio.charset.StandardCharsets.UTF_8)).readLine();
        assertEquals("ready", said, "the gc process did not take the lock");
        AtomicReference<Throwable> interrupted = new AtomicReference<>();
        Thread writer = new Thread(() -> {
          try (RepositoryLock.Hold hold = a.shared()) {
            interrupted.set(new AssertionError("the writer ran beside another process's gc"));
          } catch (Throwable t) {
            interrupted.set(t);
          }
        });
        writer.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (writer.isAlive() && System.nanoTime() < deadline && Arrays.stream(writer.getStackTrace())
            .noneMatch(f -> f.getMethodName().equals("lock") && f.getClassName().contains("FileChannel"))) {
          Thread.sleep(5); // until it waits for the other process (an interrupt before that fails it as well)
        }
        writer.interrupt();
        writer.join(TimeUnit.SECONDS.toMillis(60));
        assertTrue(interrupted.get() instanceof java.io.UncheckedIOException
            && interrupted.get().getCause() instanceof java.nio.channels.FileLockInterruptionException,
            () -> "an interrupted writer fails: " + interrupted.get());
        CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> a.shared().close());
        CompletableFuture<Void> alsoWaiting = CompletableFuture.runAsync(() -> b.shared().close());
        gc.destroyForcibly(); // SIGKILL: the kernel drops its lock
        assertTrue(gc.waitFor(60, TimeUnit.SECONDS));
        waiting.get(60, TimeUnit.SECONDS);
        alsoWaiting.get(60, TimeUnit.SECONDS);
      } finally {
        gc.destroyForcibly();
      }
      // a writer interrupted before it asks may give up as well, and leaves the lock working
      CompletableFuture<Void> self = CompletableFuture.runAsync(() -> {
        Thread.currentThread().interrupt();
        try {
          a.shared().close();
        } catch (java.io.UncheckedIOException interrupted) {
          assertTrue(interrupted.getCause() instanceof java.nio.channels.FileLockInterruptionException, interrupted::toString);
        } finally {
          Thread.interrupted();
        }
      });
      self.get(60, TimeUnit.SECONDS);
      try (RepositoryLock.Hold hold = a.shared()) {
        assertTrue(heldForAnotherProcess(repo), "the lock works after writers were interrupted");
      }
    }
  }
}
