package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CommitFailedException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RefStoreTest {
  @TempDir Path dir;

  @Test
  void movesOnlyFromTheExpectedVersion() {
    try (BlobStore store = Stores.local(dir, false)) {
      RefStore refs = new RefStore(store, Clock.systemUTC());
      assertTrue(refs.read("a/b").isEmpty());
      Ref v1 = refs.compareAndSet("a/b", 0, "m1");
      assertEquals(1, v1.version());
      assertThrows(CommitFailedException.class, () -> refs.compareAndSet("a/b", 0, "m2"));
      refs.compareAndSet("a/b", 1, "m2");
      assertEquals("m2", refs.read("a/b").orElseThrow().target());
      refs.compareAndSet("a/b", 2, null);
      assertTrue(refs.read("a/b").isEmpty());
      refs.compareAndSet("a/b/c", 0, "m3");
      refs.compareAndSet("a-b", 0, "m4");
      assertEquals(List.of("a-b", "a/b/c"), refs.list("").stream().map(Ref::name).toList());
    }
  }

  @Test
  void ofRacingWritersExactlyOneWins() throws Exception {
    try (BlobStore store = Stores.local(dir, false)) {
      RefStore refs = new RefStore(store, Clock.systemUTC());
      for (int round = 0; round < 20; round++) {
        long base = refs.head("race").map(Ref::version).orElse(0L);
        int writers = 8;
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger wins = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          String target = "m" + round + "-" + w;
          futures.add(pool.submit(() -> {
            go.await();
            try {
              refs.compareAndSet("race", base, target);
              wins.incrementAndGet();
            } catch (CommitFailedException lost) {
              assertTrue(lost.getMessage().startsWith("Cannot commit race"), lost.getMessage());
            }
            return null;
          }));
        }
        go.countDown();
        for (Future<?> f : futures) {
          f.get();
        }
        pool.shutdown();
        assertEquals(1, wins.get(), "round " + round);
        assertEquals(base + 1, refs.head("race").orElseThrow().version());
      }
    }
  }

  @Test
  void aWriterWhoseBaseWasPrunedCannotCommitBelowTheHead() {
    try (BlobStore store = Stores.local(dir, false)) {
      RefStore refs = new RefStore(store, Clock.systemUTC());
      for (int v = 0; v < 5; v++) {
        refs.compareAndSet("r", v, "m" + v);
      }
      assertEquals(4, refs.prune(1));
      assertThrows(CommitFailedException.class, () -> refs.compareAndSet("r", 2, "stale"));
      assertEquals("m4", refs.read("r").orElseThrow().target());
      assertEquals(5, refs.head("r").orElseThrow().version());
    }
  }

  @Test
  void refusesBadNames() {
    for (String bad : new String[] {"", "a//b", "../x", "a/./b", "a/@v/1", "x\u0000y", "a\\b"}) {
      assertThrows(IllegalArgumentException.class, () -> RefStore.checkName(bad), bad);
    }
  }

  /** Each instance keeps what it parsed; what another instance (or process) commits must still be seen at once. */
  @Test
  void aCommitThroughAnotherInstanceIsSeenAtOnce() {
    try (BlobStore a = Stores.local(dir, false); BlobStore b = Stores.local(dir, false)) {
      RefStore mine = new RefStore(a, Clock.systemUTC());
      RefStore theirs = new RefStore(b, Clock.systemUTC());
      mine.compareAndSet("objects/k", 0, "m1");
      for (int i = 0; i < 3; i++) {
        assertEquals("m1", mine.read("objects/k").orElseThrow().target());
        assertEquals(1, mine.list("objects/").size());
      }
      theirs.compareAndSet("objects/k", 1, "m2");
      assertEquals("m2", mine.read("objects/k").orElseThrow().target());
      assertEquals("m2", mine.list("objects/").get(0).target());
      theirs.compareAndSet("objects/k", 2, null);
      assertTrue(mine.read("objects/k").isEmpty());
      assertTrue(mine.list("objects/").isEmpty());
      assertEquals(3, mine.head("objects/k").orElseThrow().version());
    }
  }

  /** A version key can come back with other bytes only if every version of the ref was deleted; it must not be served from memory. */
  @Test
  void aVersionDeletedAndCreatedAnewIsReadAnew() throws Exception {
    try (BlobStore a = Stores.local(dir, false); BlobStore b = Stores.local(dir, false)) {
      RefStore mine = new RefStore(a, Clock.systemUTC());
      RefStore theirs = new RefStore(b, Clock.systemUTC());
      mine.compareAndSet("objects/k", 0, "first-target");
      assertEquals("first-target", mine.read("objects/k").orElseThrow().target());
      theirs.prune(0);
      assertTrue(mine.read("objects/k").isEmpty());
      theirs.compareAndSet("objects/k", 0, "second");
      assertEquals("second", mine.read("objects/k").orElseThrow().target());
    }
  }

  /** A new ref's first version is a file beside its name: committing it creates no directory. */
  @Test
  void aFirstVersionCreatesNoDirectory() throws Exception {
    try (BlobStore store = Stores.local(dir, false)) {
      RefStore refs = new RefStore(store, Clock.systemUTC());
      refs.compareAndSet("objects/b/k1", 0, "m0"); // creates objects/b once
      refs.compareAndSet("objects/b/k2", 0, "m1");
      try (java.util.stream.Stream<Path> all = java.nio.file.Files.walk(dir.resolve("refs"))) {
        assertEquals(List.of("objects", "objects/b"), all.filter(java.nio.file.Files::isDirectory)
            .map(p -> dir.resolve("refs").relativize(p).toString()).filter(p -> !p.isEmpty()).sorted().toList());
      }
      refs.compareAndSet("objects/b/k2", 1, "m2");
      refs.compareAndSet("objects/b/k2/sub", 0, "m3");
      refs.compareAndSet("objects/b/k10", 0, "m4");
      assertEquals("m2", refs.read("objects/b/k2").orElseThrow().target());
      assertEquals(2, refs.head("objects/b/k2").orElseThrow().version());
      assertEquals(List.of("objects/b/k1:m0", "objects/b/k10:m4", "objects/b/k2:m2", "objects/b/k2/sub:m3"),
          refs.list("objects/b/k").stream().map(r -> r.name() + ":" + r.target()).toList());
      assertEquals(List.of("objects/b/k1", "objects/b/k10"), refs.list("objects/b/k1").stream().map(Ref::name).toList());
      assertEquals(1, refs.prune(1)); // k2's first version
      assertEquals("m2", refs.read("objects/b/k2").orElseThrow().target());
      assertThrows(CommitFailedException.class, () -> refs.compareAndSet("objects/b/k2", 0, "stale"));
      assertEquals(2, refs.head("objects/b/k2").orElseThrow().version());
      assertEquals(4, refs.list("").size());
    }
  }

  /** Repositories written before first versions moved beside their names keep every version under the name. */
  @Test
  void readsAndMovesRefsWrittenWithTheFirstVersionUnderTheName() throws Exception {
    Path log = dir.resolve("refs/objects/old/@v");
    java.nio.file.Files.createDirectories(log);
    java.nio.file.Files.writeString(log.resolve(String.format("%020d", 1)), "{\"target\":\"m1\",\"updated\":\"2026-01-01T00:00:00Z\"}");
    try (BlobStore store = Stores.local(dir, false)) {
      RefStore refs = new RefStore(store, Clock.systemUTC());
      assertEquals("m1", refs.read("objects/old").orElseThrow().target());
      assertEquals(List.of("objects/old"), refs.list("objects/").stream().map(Ref::name).toList());
      assertThrows(CommitFailedException.class, () -> refs.compareAndSet("objects/old", 0, "again"));
      refs.compareAndSet("objects/old", 1, "m2");
      assertEquals("m2", refs.read("objects/old").orElseThrow().target());
      assertEquals(1, refs.prune(1));
      assertEquals(2, refs.head("objects/old").orElseThrow().version());
    }
  }
}
