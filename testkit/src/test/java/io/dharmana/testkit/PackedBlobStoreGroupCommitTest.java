package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.ForwardingBlobStore;
import io.dharmana.store.PackOptions;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Group commit of {@link PackedBlobStore#flush()}: writers that flush while a flush runs share the
 * next one (one pack for all of them), every blob a returned flush covered is durable (another
 * instance opened on the same directory reads it), and when a shared flush fails every writer
 * waiting for it gets the failure, while a later flush still makes their blobs durable.
 */
class PackedBlobStoreGroupCommitTest {
  @TempDir Path dir;

  /** Counts pack uploads; the first one waits for a release, and uploads fail while told to. */
  static final class GatedStore extends ForwardingBlobStore {
    final AtomicInteger packUploads = new AtomicInteger();
    final CountDownLatch firstUploadStarted = new CountDownLatch(1);
    final CountDownLatch releaseFirst = new CountDownLatch(1);
    volatile boolean failing;

    GatedStore(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public BlobOutput create(String key) {
      if (key.endsWith(".pack")) {
        if (failing) {
          throw new UncheckedIOException(new IOException("injected: cannot upload " + key));
        }
        if (packUploads.incrementAndGet() == 1) {
          firstUploadStarted.countDown();
          try {
            if (!releaseFirst.await(30, TimeUnit.SECONDS)) {
              throw new IllegalStateException("the test never released the first upload");
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
        }
      }
      return super.create(key);
    }
  }

  private PackedBlobStore open(BlobStore objects) {
    return PackedBlobStore.open(objects, PackOptions.defaults(dir.resolve("spool")));
  }

  /** Another instance on the same directory: it sees exactly what was made durable. */
  private PackedBlobStore reopen() {
    return open(Stores.local(dir.resolve("objects"), true));
  }

  private static byte[] bytes(Random random) {
    byte[] b = new byte[1 + random.nextInt(20_000)];
    random.nextBytes(b);
    return b;
  }

  /** Waits until every thread of the pool that flushes is parked in the flush (waiting for the round before). */
  private static void awaitWaiting(List<Thread> threads, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (threads.size() == count && threads.stream().allMatch(t -> t.getState() == Thread.State.WAITING)) {
        return;
      }
      Thread.sleep(5);
    }
    throw new AssertionError("the flushing threads never all waited: " + threads.stream().map(Thread::getState).toList());
  }

  @Test
  void writersThatFlushDuringAFlushShareOnePack() throws Exception {
    long seed = 4101;
    Random random = new Random(seed);
    int writers = 6;
    Map<String, byte[]> written = new ConcurrentHashMap<>();
    GatedStore gated = new GatedStore(Stores.local(dir.resolve("objects"), true));
    List<Thread> flushers = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newCachedThreadPool();
    try (PackedBlobStore store = open(gated)) {
      byte[] first = bytes(random);
      store.write("first", first);
      written.put("first", first);
      Future<?> firstFlush = pool.submit(() -> {
        store.flush();
        return null;
      });
      gated.firstUploadStarted.await(30, TimeUnit.SECONDS);
      List<Future<?>> later = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        String key = "writer-" + w;
        byte[] b = bytes(random);
        later.add(pool.submit(() -> {
          store.write(key, b);
          written.put(key, b);
          flushers.add(Thread.currentThread());
          store.flush();
          return null;
        }));
      }
      awaitWaiting(flushers, writers);
      gated.releaseFirst.countDown();
      firstFlush.get(30, TimeUnit.SECONDS);
      for (Future<?> f : later) {
        f.get(30, TimeUnit.SECONDS);
      }
      assertEquals(2, gated.packUploads.get(), "seed " + seed + ": the waiting writers must share one flush, one pack");
      try (PackedBlobStore other = reopen()) {
        for (Map.Entry<String, byte[]> e : written.entrySet()) {
          assertArrayEquals(e.getValue(), other.read(e.getKey()), "seed " + seed + ": " + e.getKey() + " not durable after its flush");
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aFailedSharedFlushFailsEveryWriterWaitingForIt() throws Exception {
    long seed = 4102;
    Random random = new Random(seed);
    int writers = 5;
    GatedStore gated = new GatedStore(Stores.local(dir.resolve("objects"), true));
    List<Thread> flushers = java.util.Collections.synchronizedList(new ArrayList<>());
    Map<String, byte[]> written = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newCachedThreadPool();
    try (PackedBlobStore store = open(gated)) {
      store.write("first", bytes(random));
      Future<?> firstFlush = pool.submit(() -> {
        store.flush();
        return null;
      });
      gated.firstUploadStarted.await(30, TimeUnit.SECONDS);
      List<Future<Throwable>> later = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        String key = "writer-" + w;
        byte[] b = bytes(random);
        later.add(pool.submit(() -> {
          store.write(key, b);
          written.put(key, b);
          flushers.add(Thread.currentThread());
          try {
            store.flush();
            return null;
          } catch (IOException e) {
            return e;
          }
        }));
      }
      awaitWaiting(flushers, writers);
      gated.failing = true; // the shared round's upload (and its retry) fails
      gated.releaseFirst.countDown();
      firstFlush.get(30, TimeUnit.SECONDS);
      for (Future<Throwable> f : later) {
        Throwable failure = f.get(30, TimeUnit.SECONDS);
        assertInstanceOf(IOException.class, failure, "seed " + seed + ": a writer whose shared flush failed returned normally");
        assertTrue(String.valueOf(failure.getMessage()).contains("injected"), "seed " + seed + ": " + failure);
      }
      try (PackedBlobStore other = reopen()) {
        for (String key : written.keySet()) {
          assertTrue(!other.exists(key), "seed " + seed + ": " + key + " is visible to another instance though its flush failed");
        }
      }
      // the blobs stay readable here, and a later flush makes them durable
      gated.failing = false;
      store.flush();
      try (PackedBlobStore other = reopen()) {
        for (Map.Entry<String, byte[]> e : written.entrySet()) {
          assertArrayEquals(e.getValue(), other.read(e.getKey()), "seed " + seed + ": " + e.getKey());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {4201, 4202, 4203})
  void everyBlobIsDurableOnceItsFlushReturns(long seed) throws Exception {
    Random random = new Random(seed);
    int writers = 8;
    int rounds = 25;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try (PackedBlobStore store = open(Stores.local(dir.resolve("objects"), true))) {
      List<Future<Map<String, byte[]>>> futures = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        long writerSeed = random.nextLong();
        int writer = w;
        futures.add(pool.submit(() -> {
          Random r = new Random(writerSeed);
          Map<String, byte[]> mine = new java.util.LinkedHashMap<>();
          for (int i = 0; i < rounds; i++) {
            String key = "w" + writer + "/" + i;
            byte[] b = bytes(r);
            store.write(key, b);
            store.flush();
            mine.put(key, b);
            // durable the moment flush returned: a fresh instance must already read it
            if (i % 8 == 0) {
              try (PackedBlobStore other = reopen()) {
                assertArrayEquals(b, other.read(key), "seed " + seed + ": " + key);
              }
            }
          }
          return mine;
        }));
      }
      Map<String, byte[]> all = new java.util.HashMap<>();
      for (Future<Map<String, byte[]>> f : futures) {
        all.putAll(f.get(60, TimeUnit.SECONDS));
      }
      try (PackedBlobStore other = reopen()) {
        for (Map.Entry<String, byte[]> e : all.entrySet()) {
          assertArrayEquals(e.getValue(), other.read(e.getKey()), "seed " + seed + ": " + e.getKey());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
