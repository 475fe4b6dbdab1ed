package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.ForwardingBlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.Tier;
import io.dharmana.store.TierStats;
import io.dharmana.store.TieredStore;
import io.dharmana.testkit.FaultInjectingStore.Operation;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TieredStoreTest {
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  private static TierSpec bounded(String name, long capacity, double high, double low) {
    return new TierSpec(name, "memory", null, capacity, high, low, null, null, null);
  }

  private static TierSpec aged(String name, Duration maxAge) {
    return new TierSpec(name, "memory", null, 0, 0.9, 0.7, maxAge, null, null);
  }

  private static TierStats stats(TieredStore store, String tier) {
    return store.stats().stream().filter(s -> s.name().equals(tier)).findFirst().orElseThrow();
  }

  private static byte[] bytes(Random random, int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }

  @Test
  void writeThroughCommitsOnTheNextTierBeforeCloseReturns() {
    FaultInjectingStore cold = new FaultInjectingStore(Stores.memory(), 11);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "through", false))
        .build()) {
      store.write("a", new byte[] {1, 2, 3});
      assertEquals(List.of("hot", "cold"), store.tiersHolding("a"));
      assertArrayEquals(new byte[] {1, 2, 3}, cold.read("a"));

      cold.failureProbability(1).failOn(Operation.CLOSE);
      assertThrows(UncheckedIOException.class, () -> store.write("b", new byte[] {4}));
      assertEquals(List.of(), store.tiersHolding("b"), "a failed write-through must leave nothing on any tier");
      assertFalse(store.exists("b"));

      cold.failureProbability(0);
      store.write("b", new byte[] {5});
      assertEquals(List.of("hot", "cold"), store.tiersHolding("b"));
      assertEquals(2, stats(store, "cold").objects());
      assertEquals(4, stats(store, "cold").bytesHeld());
    }
  }

  /** A store whose commits wait until the test lets them through. */
  private static final class GatedStore extends ForwardingBlobStore {
    final CountDownLatch gate = new CountDownLatch(1);

    GatedStore(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public BlobOutput create(String key) {
      try {
        if (!gate.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("Cannot create " + key + ": the gate was never opened");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return super.create(key);
    }
  }

  @Test
  void writeBackCommitsOnTheWriteTierAndCopiesDownInTheBackground() {
    GatedStore cold = new GatedStore(Stores.memory());
    try (TieredStore store = writeBack(Stores.memory(), cold)) {
      store.write("a", new byte[] {1, 2, 3}); // returns although the copy below cannot start yet
      assertEquals(List.of("hot"), store.tiersHolding("a"));
      assertArrayEquals(new byte[] {1, 2, 3}, store.read("a"));
      cold.gate.countDown();
      store.flush();
      assertEquals(List.of("hot", "cold"), store.tiersHolding("a"));
      assertEquals(1, stats(store, "cold").objects());
    }
  }

  @Test
  void theFirstMaintenancePassDoesNotTakeCopiesUnderWayForCopiesLeftUndone() {
    GatedStore cold = new GatedStore(Stores.memory());
    try (TieredStore store = writeBack(Stores.memory(), cold)) {
      store.write("a", new byte[] {1, 2, 3}); // its copy down waits at the gate
      try {
        store.maintain(); // the catch-up compares the tiers: "a" is missing below, but on its way
        assertEquals(0, store.pendingCopies(), "a copy under way is not one an earlier process left undone");
      } finally {
        cold.gate.countDown();
      }
      store.flush();
      assertEquals(List.of("hot", "cold"), store.tiersHolding("a"));
    }
  }

  @Test
  void failedWriteBackCopiesAreReportedByFlushAndRetried() {
    FaultInjectingStore cold = new FaultInjectingStore(Stores.memory(), 3).failureProbability(1);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .build()) {
      store.write("a", new byte[] {7});
      UncheckedIOException e = assertThrows(UncheckedIOException.class, store::flush);
      assertTrue(e.getMessage().startsWith("Cannot flush: 1 blobs could not be copied from tier hot to tier cold"), e.getMessage());
      assertEquals(List.of("hot"), store.tiersHolding("a"));
      assertArrayEquals(new byte[] {7}, store.read("a"));
      cold.failureProbability(0);
      store.flush();
      assertEquals(List.of("hot", "cold"), store.tiersHolding("a"));
    }
  }

  @Test
  void closeFinishesQueuedWriteBackCopies(@TempDir Path dir) {
    TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(Stores.local(dir, false), TierSpec.local("disk", null)))
        .build();
    for (int i = 0; i < 50; i++) {
      store.write("k" + i, new byte[] {(byte) i});
    }
    store.close();
    store.close();
    assertThrows(IllegalStateException.class, () -> store.write("late", new byte[1]));
    try (BlobStore disk = Stores.local(dir, false)) {
      for (int i = 0; i < 50; i++) {
        assertArrayEquals(new byte[] {(byte) i}, disk.read("k" + i));
      }
    }
  }

  @Test
  void createFailsWhenALowerTierHoldsTheKey() {
    BlobStore cold = Stores.memory();
    cold.write("old", new byte[] {1});
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .build()) {
      assertThrows(AlreadyExistsException.class, () -> store.write("old", new byte[] {2}));
      assertEquals(List.of("cold"), store.tiersHolding("old"));
      assertArrayEquals(new byte[] {1}, store.read("old"));
    }
  }

  @Test
  void readsRecordHitsAndMissesAndPromoteIntoTheWriteTier() {
    BlobStore cold = Stores.memory();
    cold.write("small", new byte[100]);
    cold.write("huge", new byte[2000]);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), bounded("hot", 1000, 0.9, 0.5)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "back", true))
        .build()) {
      assertEquals(2, stats(store, "cold").objects(), "the index is built by listing at open");
      assertEquals(2100, stats(store, "cold").bytesHeld());

      store.read("small");
      assertEquals(new TierStats("hot", 100, 1, 0, 1, 1, 0, 100, 0), stats(store, "hot"));
      assertEquals(new TierStats("cold", 2100, 2, 1, 0, 0, 0, 0, 0), stats(store, "cold"));
      assertEquals(List.of("hot", "cold"), store.tiersHolding("small"));

      store.read("small"); // now served by the write tier
      assertEquals(1, stats(store, "hot").hits());
      assertEquals(1, stats(store, "cold").hits());

      store.read("huge"); // larger than the hot tier's high watermark: served, not promoted
      assertEquals(List.of("cold"), store.tiersHolding("huge"));
      assertEquals(1, stats(store, "hot").promotions());
      assertEquals(2, stats(store, "hot").misses());

      assertThrows(NotFoundException.class, () -> store.open("none"));
      assertEquals(3, stats(store, "hot").misses());
      assertEquals(1, stats(store, "cold").misses());
      assertEquals(2.0 / 3, stats(store, "cold").hitRate(), 1e-9);
    }
  }

  /** The buffer a reader of mapped packs takes is counted, and promoted, as a read is. */
  @Test
  void readBufferCountsHitsMissesAndPromotionsAsReadDoes() {
    List<List<TierStats>> stats = new ArrayList<>();
    for (boolean buffers : new boolean[] {false, true}) {
      byte[] small = new byte[100];
      new Random(9).nextBytes(small);
      BlobStore hot = Stores.memory();
      BlobStore cold = Stores.memory();
      cold.write("small", small);
      cold.write("huge", new byte[2000]);
      try (TieredStore store = TieredStore.builder()
          .addTier(Tier.of(hot, bounded("hot", 1000, 0.9, 0.5)))
          .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
          .placement(new PlacementPolicy("hot", "back", true))
          .build()) {
        for (String key : List.of("small", "small", "huge")) {
          byte[] got;
          if (buffers) {
            ByteBuffer buffer = store.readBuffer(key);
            got = new byte[buffer.remaining()];
            buffer.duplicate().get(got);
          } else {
            got = store.read(key);
          }
          assertArrayEquals(cold.read(key), got, key + (buffers ? " as a buffer" : ""));
        }
        assertThrows(NotFoundException.class, () -> {
          if (buffers) {
            store.readBuffer("none");
          } else {
            store.read("none");
          }
        });
        assertArrayEquals(small, hot.read("small"), "promoted bytes" + (buffers ? " from a buffer" : ""));
        stats.add(List.of(stats(store, "hot"), stats(store, "cold")));
      }
    }
    assertEquals(stats.get(0), stats.get(1), "tier stats after read vs after readBuffer");
  }

  @Test
  void withoutPromoteOnReadBlobsStayBelow() {
    BlobStore cold = Stores.memory();
    cold.write("k", new byte[10]);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "back", false))
        .build()) {
      store.read("k");
      store.read("k");
      assertEquals(List.of("cold"), store.tiersHolding("k"));
      assertEquals(2, stats(store, "cold").hits());
      assertEquals(0, stats(store, "hot").promotions());
    }
  }

  @Test
  void demotionAboveTheHighWatermarkEvictsLeastRecentlyUsedFirst() {
    MutableClock clock = new MutableClock(START);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), bounded("hot", 1000, 0.9, 0.5)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "through", false))
        .clock(clock)
        .build()) {
      for (int i = 0; i < 9; i++) {
        store.write("k" + i, new byte[100]);
        clock.advance(Duration.ofSeconds(1));
      }
      store.maintain(); // 900 bytes is not above 0.9 x 1000: nothing moves
      assertEquals(9, stats(store, "hot").objects());
      store.read("k0");
      clock.advance(Duration.ofSeconds(1));
      store.read("k1");
      clock.advance(Duration.ofSeconds(1));
      store.write("k9", new byte[100]);
      store.maintain(); // 1000 > 900: evict down to 500, oldest access first
      List<String> hot = new ArrayList<>();
      List<String> coldOnly = new ArrayList<>();
      for (int i = 0; i <= 9; i++) {
        (store.tiersHolding("k" + i).contains("hot") ? hot : coldOnly).add("k" + i);
      }
      assertEquals(List.of("k0", "k1", "k7", "k8", "k9"), hot);
      assertEquals(List.of("k2", "k3", "k4", "k5", "k6"), coldOnly);
      TierStats stats = stats(store, "hot");
      assertEquals(500, stats.bytesHeld());
      assertEquals(5, stats.demotions());
      assertEquals(500, stats.bytesDemoted());
      assertEquals(10, stats(store, "cold").objects(), "the lowest tier never evicts");
    }
  }

  @Test
  void keptBlobsStayOnTheWriteTierAndComeBackUpWhenReadFromBelow() {
    MutableClock clock = new MutableClock(START);
    BlobStore cold = Stores.memory();
    cold.write("manifests/old", new byte[] {7}); // as a demotion before they were kept left it
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), aged("hot", Duration.ofDays(1))))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "through", false))
        .keepOnWriteTier("manifests/")
        .clock(clock)
        .build()) {
      store.write("manifests/m", new byte[] {1});
      store.write("chunks/c", new byte[100]);
      clock.advance(Duration.ofDays(2));
      store.maintain();
      assertEquals(List.of("hot", "cold"), store.tiersHolding("manifests/m"));
      assertEquals(List.of("cold"), store.tiersHolding("chunks/c"));
      assertArrayEquals(new byte[] {7}, store.read("manifests/old"));
      assertEquals(List.of("hot", "cold"), store.tiersHolding("manifests/old"), "promoted though the policy does not promote");
      store.read("chunks/c");
      assertEquals(List.of("cold"), store.tiersHolding("chunks/c"));
    }
    assertThrows(IllegalArgumentException.class, () -> TieredStore.builder().keepOnWriteTier(""));
  }

  @Test
  void catchUpWhenWritingCopiesWhatAnEarlierProcessLeftWithTheFirstWriteBack() {
    BlobStore hot = Stores.memory();
    BlobStore cold = Stores.memory();
    hot.write("left", new byte[] {1}); // an earlier process's write whose copy down failed
    try (TieredStore store = writeBack(hot, cold)) {
      store.read("left");
      store.flush();
      assertFalse(cold.exists("left"), "without a maintenance pass nothing compares the tiers");
    }
    try (TieredStore store = writeBack(hot, cold)) {
      store.catchUpWhenWriting();
      store.read("left");
      store.flush();
      assertFalse(cold.exists("left"), "a store that only reads does not catch up");
      assertFalse(store.caughtUp());
      store.write("new", new byte[] {2});
      store.flush();
      assertTrue(store.caughtUp());
      assertTrue(cold.exists("left"));
      assertTrue(cold.exists("new"));
      assertEquals(0, store.pendingCopies());
    }
  }

  @Test
  void writeBackCopiesWaitingInAnOpenPackAreSealedByMaintenanceOnceAged(@TempDir Path dir) throws Exception {
    MutableClock clock = new MutableClock(START);
    BlobStore objects = Stores.local(dir.resolve("objects"), false);
    io.dharmana.store.PackedBlobStore packed = io.dharmana.store.PackedBlobStore.open(objects,
        io.dharmana.store.PackOptions.defaults(dir.resolve("spool")));
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 0)))
        .addTier(Tier.of(packed, TierSpec.memory("packed", 0)))
        .placement(new PlacementPolicy("hot", "back", false))
        .clock(clock)
        .build()) {
      store.write("a", new byte[1000]);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!packed.exists("a") && System.nanoTime() < deadline) {
        Thread.sleep(5); // the copy runs on the store's copier thread
      }
      assertTrue(packed.exists("a"), "the write-back copy did not reach the packed tier");
      assertEquals(List.of(), packFiles(objects), "the copy waits in the open pack, not stored yet");
      clock.advance(TieredStore.SEAL_COPIES_AFTER.minusSeconds(1));
      store.maintain();
      assertEquals(List.of(), packFiles(objects), "younger than SEAL_COPIES_AFTER: not sealed yet");
      // well past: the copier thread marks the copy's time just after the blob shows, maybe after the advance above
      clock.advance(TieredStore.SEAL_COPIES_AFTER.multipliedBy(2));
      store.maintain();
      assertEquals(1, packFiles(objects).size(), "an aged copy must be sealed by maintenance: " + packFiles(objects));
      store.maintain();
      assertEquals(1, packFiles(objects).size(), "nothing new to seal: no second pack");
    }
  }

  private static List<String> packFiles(BlobStore objects) {
    try (Stream<BlobInfo> all = ((io.dharmana.store.SupportsListing) objects).list("")) {
      return all.map(BlobInfo::key).filter(k -> k.endsWith(".pack")).toList();
    }
  }

  private static TieredStore writeBack(BlobStore hot, BlobStore cold) {
    BlobStore keptOpen = new ForwardingBlobStore(cold) {
      @Override
      public void close() {} // the test's stores outlive each tiered store
    };
    BlobStore hotKeptOpen = new ForwardingBlobStore(hot) {
      @Override
      public void close() {}
    };
    return TieredStore.builder()
        .addTier(Tier.of(hotKeptOpen, TierSpec.memory("hot", 0)))
        .addTier(Tier.of(keptOpen, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "back", false))
        .build();
  }

  @Test
  void demotionByAgeCascadesThroughTheTiers() {
    MutableClock clock = new MutableClock(START);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), aged("hot", Duration.ofDays(7))))
        .addTier(Tier.of(Stores.memory(), aged("warm", Duration.ofDays(30))))
        .addTier(Tier.of(Stores.memory(), aged("cold", Duration.ofDays(1))))
        .placement(new PlacementPolicy("hot", "back", false))
        .clock(clock)
        .build()) {
      store.write("a", new byte[] {1});
      store.write("b", new byte[] {2});
      store.flush();
      clock.advance(Duration.ofDays(3));
      store.read("a");
      clock.advance(Duration.ofDays(5)); // b last accessed 8 days ago, a 5 days ago
      store.maintain();
      assertEquals(List.of("hot", "warm"), store.tiersHolding("a"));
      assertEquals(List.of("warm"), store.tiersHolding("b"));
      clock.advance(Duration.ofDays(3)); // a: 8 days
      store.maintain();
      assertEquals(List.of("warm"), store.tiersHolding("a"));
      clock.advance(Duration.ofDays(30)); // both older than warm's 30 days; cold is the lowest tier
      store.maintain();
      assertEquals(List.of("cold"), store.tiersHolding("a"));
      assertEquals(List.of("cold"), store.tiersHolding("b"));
      clock.advance(Duration.ofDays(365));
      store.maintain();
      assertEquals(List.of("cold"), store.tiersHolding("a"), "the lowest tier never evicts, whatever its age rule");
      assertEquals(2, stats(store, "hot").demotions());
      assertEquals(2, stats(store, "warm").demotions());
      assertArrayEquals(new byte[] {1}, store.read("a"));
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void aBlobIsNeverLostWhenTheLowerTierCopyFails(long seed) {
    Random random = new Random(seed);
    FaultInjectingStore cold = new FaultInjectingStore(Stores.memory(), seed).failureProbability(0.5);
    MutableClock clock = new MutableClock(START);
    Map<String, byte[]> written = new LinkedHashMap<>();
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), bounded("hot", 10_000, 0.8, 0.4)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "back", true))
        .clock(clock)
        .build()) {
      for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 5; i++) {
          String key = "r" + round + "/" + i;
          byte[] bytes = bytes(random, 1 + random.nextInt(1500));
          store.write(key, bytes);
          written.put(key, bytes);
          clock.advance(Duration.ofSeconds(1));
        }
        store.maintain();
        for (var e : written.entrySet()) {
          // Reads may fail on injected open/read faults of the cold tier, but the blob is there.
          assertFalse(store.tiersHolding(e.getKey()).isEmpty(), "seed " + seed + ": lost " + e.getKey());
        }
      }
      assertTrue(cold.injectedFailures() > 0, "seed " + seed);
      cold.failureProbability(0);
      store.flush();
      store.maintain();
      assertTrue(stats(store, "hot").bytesHeld() <= 8000, "seed " + seed + " " + stats(store, "hot"));
      for (var e : written.entrySet()) {
        assertTrue(store.tiersHolding(e.getKey()).contains("cold"), "seed " + seed + " key " + e.getKey());
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "seed " + seed + " key " + e.getKey());
      }
    }
  }

  @Test
  void deleteExistsAndListSpanAllTiers() {
    BlobStore cold = Stores.memory();
    cold.write("c/1", new byte[3]);
    cold.write("both", new byte[5]);
    BlobStore hot = Stores.memory();
    hot.write("both", new byte[5]);
    hot.write("h/1", new byte[1]);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(hot, TierSpec.memory("hot", 0)))
        .addTier(Tier.of(cold, TierSpec.memory("cold", 0)))
        .build()) {
      try (Stream<BlobInfo> infos = store.list("")) {
        assertEquals(List.of("both", "c/1", "h/1"), infos.map(BlobInfo::key).collect(Collectors.toList()));
      }
      assertTrue(store.exists("c/1"));
      assertTrue(store.touch("c/1"));
      assertTrue(store.delete("both"));
      assertFalse(store.exists("both"));
      assertFalse(hot.exists("both"));
      assertFalse(cold.exists("both"));
      assertFalse(store.delete("both"));
      assertEquals(0, stats(store, "cold").bytesHeld() - 3);
    }
  }

  @Test
  void openFromADescriptorCreatesEachTierThroughItsFactory(@TempDir Path root) {
    StorageDescriptor descriptor = new StorageDescriptor(
        null,
        null,
        List.of(TierSpec.memory("ram", 1 << 20), TierSpec.local("nvme", null), TierSpec.local("hdd", "disks/hdd")),
        new PlacementPolicy("ram", "through", true),
        null,
        null);
    try (TieredStore store = TieredStore.open(descriptor, root)) {
      assertEquals(List.of("ram", "nvme", "hdd"), store.tierNames());
      store.write("x/y", new byte[] {1, 2});
      store.sync();
      // local tiers pack small blobs: the blob lives in a sealed pack with its index
      assertTrue(Files.isDirectory(root.resolve("tiers/nvme/packs")));
      assertArrayEquals(new byte[] {1, 2}, store.read("x/y"));
      assertTrue(Files.isDirectory(root.resolve("disks/hdd")));
      assertTrue(store.durable());
    }
  }

  @Test
  void anUnregisteredKindNamesTheTierTheKindAndTheRegisteredKinds(@TempDir Path root) {
    StorageDescriptor descriptor = new StorageDescriptor(
        null,
        null,
        List.of(TierSpec.local("nvme", null), new TierSpec("archive", "s3", "s3://bucket/p", 0, 0.9, 0.7, null, null, null)),
        null,
        null,
        null);
    InvalidDescriptorException e =
        assertThrows(InvalidDescriptorException.class, () -> TieredStore.open(descriptor, root));
    assertTrue(e.getMessage().contains("archive") && e.getMessage().contains("'s3'")
        && e.getMessage().contains("[local, memory]"), e.getMessage());
  }

  @Test
  void builderRejectsAnUnknownWriteTierAndDuplicateNames() {
    assertThrows(InvalidDescriptorException.class, () -> TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("a", 0)))
        .placement(new PlacementPolicy("b", "back", true))
        .build());
    assertThrows(InvalidDescriptorException.class, () -> TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("a", 0)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("a", 0))));
    assertThrows(InvalidDescriptorException.class, () -> TieredStore.builder().build());
    assertThrows(IllegalStateException.class, () -> TieredStore.builder().clock(java.time.Clock.systemUTC()).clock(java.time.Clock.systemUTC()));
  }

  @Test
  void backgroundMaintenanceRunsAfterAWritePassesTheHighWatermark() throws InterruptedException {
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), bounded("hot", 1000, 0.9, 0.5)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("cold", 0)))
        .maintenanceInterval(Duration.ofHours(1)) // the periodic run never comes within this test
        .build()) {
      for (int i = 0; i < 10; i++) {
        store.write("k" + i, new byte[100]);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (stats(store, "hot").bytesHeld() > 500 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(stats(store, "hot").bytesHeld() <= 500, stats(store, "hot").toString());
      for (int i = 0; i < 10; i++) {
        assertArrayEquals(new byte[100], store.read("k" + i));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void concurrentWritersAndReadersWhileBlobsMove(long seed, @TempDir Path dir) throws Exception {
    ConcurrentHashMap<String, byte[]> written = new ConcurrentHashMap<>();
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), bounded("ram", 64 << 10, 0.8, 0.3)))
        .addTier(Tier.of(Stores.local(dir.resolve("ssd"), false), new TierSpec("ssd", "local", null, 256 << 10, 0.8, 0.3, null, null, null)))
        .addTier(Tier.of(Stores.local(dir.resolve("hdd"), false), TierSpec.local("hdd", null)))
        .placement(new PlacementPolicy("ram", "back", true))
        .maintenanceInterval(Duration.ofMillis(5))
        .build()) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          int id = t;
          futures.add(pool.submit(() -> {
            Random random = new Random(seed * 31 + id);
            List<String> mine = new ArrayList<>();
            for (int i = 0; i < 150; i++) {
              if (mine.isEmpty() || random.nextInt(3) == 0) {
                String key = "t" + id + "/" + i;
                byte[] bytes = bytes(random, random.nextInt(8000));
                store.write(key, bytes);
                written.put(key, bytes);
                mine.add(key);
              } else {
                String key = mine.get(random.nextInt(mine.size()));
                assertArrayEquals(written.get(key), store.read(key), "seed " + seed + " key " + key);
              }
            }
            return null;
          }));
        }
        for (Future<?> f : futures) {
          f.get(120, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      store.flush();
      store.maintain();
      assertTrue(stats(store, "ram").bytesHeld() <= 0.8 * (64 << 10), "seed " + seed + " " + stats(store, "ram"));
      assertTrue(stats(store, "ssd").bytesHeld() <= 0.8 * (256 << 10), "seed " + seed + " " + stats(store, "ssd"));
      Map<String, long[]> held = new LinkedHashMap<>();
      for (String tier : store.tierNames()) {
        held.put(tier, new long[2]);
      }
      for (var e : written.entrySet()) {
        List<String> tiers = store.tiersHolding(e.getKey());
        // Write-back copied every blob below the memory tier; demotion only moved it further down.
        assertTrue(tiers.contains("ssd") || tiers.contains("hdd"), "seed " + seed + " key " + e.getKey() + " on " + tiers);
        for (String tier : tiers) {
          held.get(tier)[0]++;
          held.get(tier)[1] += e.getValue().length;
        }
      }
      // The in-memory index agrees with what the tiers really hold.
      for (TierStats stats : store.stats()) {
        assertEquals(held.get(stats.name())[0], stats.objects(), "seed " + seed + " " + stats);
        assertEquals(held.get(stats.name())[1], stats.bytesHeld(), "seed " + seed + " " + stats);
      }
      for (var e : written.entrySet()) {
        assertArrayEquals(e.getValue(), store.read(e.getKey()), "seed " + seed + " key " + e.getKey());
      }
    }
  }

  @Test
  void aFailingTierDoesNotHideACopyBelowIt() {
    FaultInjectingStore hot = new FaultInjectingStore(Stores.memory(), 5);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(hot, TierSpec.memory("hot", 0)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "through", false))
        .build()) {
      store.write("k", new byte[] {4, 2});
      hot.failureProbability(1).failOn(Operation.OPEN);
      assertArrayEquals(new byte[] {4, 2}, store.read("k"));
      assertEquals(1, stats(store, "hot").misses());
      assertEquals(1, stats(store, "cold").hits());
      store.delete("k");
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.open("k"));
      assertTrue(e.getMessage().startsWith("Cannot open k: no tier served it"), e.getMessage());
    }
  }

  @Test
  void touchRefreshesTheLastAccessThatAgeRulesUse() {
    MutableClock clock = new MutableClock(START);
    try (TieredStore store = TieredStore.builder()
        .addTier(Tier.of(Stores.memory(clock), aged("hot", Duration.ofDays(7))))
        .addTier(Tier.of(Stores.memory(clock), TierSpec.memory("cold", 0)))
        .placement(new PlacementPolicy("hot", "through", false))
        .clock(clock)
        .build()) {
      store.write("kept", new byte[] {1});
      store.write("aged", new byte[] {2});
      clock.advance(Duration.ofDays(6));
      assertTrue(store.touch("kept"));
      clock.advance(Duration.ofDays(3));
      store.maintain();
      assertEquals(List.of("hot", "cold"), store.tiersHolding("kept"));
      assertEquals(List.of("cold"), store.tiersHolding("aged"));
    }
  }
}
