package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointManagerTest {
  @TempDir Path dir;

  private Repository repo() {
    return Repository.init(dir, PipelineDescriptor.of("test", StorageDescriptor.of(List.of())));
  }

  static byte[] bytes(Tensor t) {
    ByteBuffer b = t.data();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  static void assertSameTensors(List<Tensor> expected, RestoredCheckpoint restored, String message) {
    assertEquals(expected.size(), restored.tensors().size(), message);
    for (Tensor t : expected) {
      Tensor r = restored.tensor(t.name());
      assertEquals(t.dtype(), r.dtype(), message + " " + t.name());
      assertArrayEquals(t.shape(), r.shape(), message + " " + t.name());
      assertArrayEquals(bytes(t), bytes(r), message + ": tensor " + t.name() + " is not byte-identical");
    }
  }

  /** Flips one bit of the largest pack file of the repository at {@code dir}, at 1/{@code part} of its length. */
  static void flipABitOfTheLargestPack(Path dir, int part) throws java.io.IOException {
    Path pack;
    try (Stream<Path> files = Files.walk(dir.resolve("tiers"))) {
      pack = files.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".pack"))
          .max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    byte[] stored = Files.readAllBytes(pack);
    stored[stored.length / part] ^= 0x10;
    pack.toFile().setWritable(true);
    Files.write(pack, stored);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void everyStepRestoresByteIdenticalAndChainsStayShorterThanK(long seed) {
    int k = 3;
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withFullEvery(k).withThreads(2))) {
      for (long step = 0; step < 7; step++) {
        m.save(step * 10, TestStates.state(seed, step, 4, 3000 + (int) seed * 17), Map.of("loss", Double.toString(1.0 / (step + 1))));
      }
      m.awaitSaves();
      assertEquals(OptionalLong.of(60), m.latest(), "seed " + seed);
      boolean sawDelta = false;
      for (long step = 0; step < 7; step++) {
        assertSameTensors(TestStates.state(seed, step, 4, 3000 + (int) seed * 17), m.restore(step * 10), "seed " + seed + " step " + step);
        for (TensorEntry e : m.tensors(step * 10, 0)) {
          assertTrue(e.depth() < k, "seed " + seed + ": " + e + " has a chain of " + e.depth() + " links, K is " + k);
          sawDelta |= e.encoding() == TensorEntry.Encoding.DELTA;
        }
      }
      assertTrue(sawDelta, "seed " + seed + ": no tensor was delta-coded");
      // the frozen tensor is stored once
      for (long step = 1; step < 7; step++) {
        TensorEntry frozen = m.tensors(step * 10, 0).get(0);
        assertEquals(TensorEntry.Encoding.REUSED, frozen.encoding(), "seed " + seed);
        assertEquals(0, frozen.storedBytes(), "seed " + seed);
      }
      assertEquals(7, m.list().size());
      assertEquals(1.0 / 7, Double.parseDouble(m.list().get(6).metadata().get("loss")), 1e-12);
    }
  }

  @Test
  void tensorsChangedAfterSaveReturnsAreNotPersisted() {
    long seed = 11;
    Random random = new Random(seed);
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      for (int round = 0; round < 5; round++) {
        ByteBuffer live = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < live.capacity() / 4; i++) {
          live.putFloat(i * 4, (float) random.nextGaussian());
        }
        byte[] expected = new byte[live.capacity()];
        live.get(0, expected);
        CompletableFuture<CheckpointInfo> f = m.save(round, List.of(Tensor.of("w", DType.F32, new long[] {1 << 18}, live.duplicate())), Map.of());
        // the training step goes on right away and overwrites the weights
        for (int i = 0; i < live.capacity(); i += 4) {
          live.putFloat(i, 42f);
        }
        f.join();
        assertArrayEquals(expected, bytes(m.restore(round).tensor("w")),
            "seed " + seed + " round " + round + ": a change made after save returned leaked into the checkpoint");
      }
    }
  }

  @Test
  void stagingMemoryDoesNotGrowFromSaveToSave() {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withMaxInFlight(2).withThreads(2))) {
      m.save(0, TestStates.state(5, 0, 5, 4000), Map.of());
      m.save(1, TestStates.state(5, 1, 5, 4000), Map.of());
      m.awaitSaves();
      long warm = m.stagingAllocations();
      long warmBytes = m.stagingAllocatedBytes();
      assertTrue(warm <= 10, "two arenas of 5 tensors allocate at most 10 buffers, got " + warm);
      for (int step = 2; step < 22; step++) {
        m.save(step, TestStates.state(5, step, 5, 4000), Map.of());
      }
      m.awaitSaves();
      assertEquals(warm, m.stagingAllocations(), "20 more saves of the same shapes allocated staging buffers");
      assertEquals(warmBytes, m.stagingAllocatedBytes());
      assertEquals(22, m.list().size());
    }
  }

  /** The caller's next save must not wait for a release that merely has not run yet. */
  @Test
  void aSaveHasReturnedItsStagingMemoryWhenItsFutureCompletes() {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withMaxInFlight(1).withThreads(2))) {
      for (int step = 0; step < 10; step++) {
        m.save(step, TestStates.state(13, step, 3, 2000), Map.of()).join();
        assertEquals(1, m.idleStagingArenas(), "seed 13 step " + step + ": the save finished but holds its arena");
      }
      CompletableFuture<CheckpointInfo> failed = m.save(3, TestStates.state(13, 3, 3, 2000), Map.of()); // step exists
      assertThrows(java.util.concurrent.CompletionException.class, failed::join);
      assertEquals(1, m.idleStagingArenas(), "seed 13: a failed save holds its arena");
    }
  }

  @Test
  void saveBlocksWhileMaxInFlightSavesAreStaged() throws Exception {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withMaxInFlight(1).withThreads(1))) {
      // a tensor view whose data() blocks the staging copy of save 0... instead: make save 0 slow to write
      List<Tensor> big = TestStates.state(9, 0, 2, 400_000);
      CompletableFuture<CheckpointInfo> first = m.save(0, big, Map.of());
      CountDownLatch returned = new CountDownLatch(1);
      Thread second = new Thread(() -> {
        m.save(1, TestStates.state(9, 1, 2, 10), Map.of());
        returned.countDown();
      });
      second.start();
      // with one arena, the second save can only stage once the first is written (committed; its
      // future completes a moment after it gave its arena back, so that is not what to look at)
      returned.await(60, TimeUnit.SECONDS);
      assertTrue(m.latest().isPresent(), "the second save returned while the first was still in flight with maxInFlight 1");
      second.join();
      m.awaitSaves();
    }
  }

  /** A progress listener that records every call, and which thread runs a call while another does. */
  private static final class Recorded implements io.dharmana.runtime.ProgressListener {
    final List<long[]> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    final java.util.concurrent.atomic.AtomicInteger inside = new java.util.concurrent.atomic.AtomicInteger();
    volatile boolean overlapped;

    @Override
    public void progress(long done, long total) {
      if (inside.incrementAndGet() > 1) {
        overlapped = true;
      }
      calls.add(new long[] {done, total});
      Thread.onSpinWait();
      inside.decrementAndGet();
    }

    void assertRisesTo(long total, int atMostCalls) {
      assertFalse(overlapped, "calls one at a time");
      assertTrue(!calls.isEmpty() && calls.size() <= atMostCalls, calls.size() + " calls");
      long last = 0;
      for (long[] c : calls) {
        assertEquals(total, c[1]);
        assertTrue(c[0] > last, "rises: " + c[0] + " after " + last);
        last = c[0];
      }
      assertEquals(total, last);
    }

    /** As {@link #assertRisesTo}, after a first call of 0 that gives the total before any work is done. */
    void assertSizedFirstThenRisesTo(long total, int atMostCalls) {
      assertTrue(!calls.isEmpty() && calls.get(0)[0] == 0 && calls.get(0)[1] == total,
          "first call 0 of " + total + ": " + (calls.isEmpty() ? "none" : calls.get(0)[0] + " of " + calls.get(0)[1]));
      calls.remove(0);
      assertRisesTo(total, atMostCalls);
    }
  }

  @Test
  void saveAndRestoreReportProgressOncePerTensorUpToTheirBytes() {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withFullEvery(4))) {
      for (int step = 0; step < 2; step++) { // the second is delta-coded against the first
        List<Tensor> state = TestStates.state(5, step, 6, 4000);
        long bytes = state.stream().mapToLong(Tensor::byteSize).sum();
        Recorded saved = new Recorded();
        m.save(step, state, Map.of(), saved).join();
        saved.assertRisesTo(bytes, state.size());
        Recorded restored = new Recorded();
        assertSameTensors(state, m.restore(step, 0, null, restored), "step " + step);
        restored.assertSizedFirstThenRisesTo(bytes, state.size());
      }
      Recorded one = new Recorded();
      Tensor t = m.restore(1, 0, List.of(TestStates.state(5, 1, 6, 4000).get(2).name()), one).tensors().get(0);
      one.assertSizedFirstThenRisesTo(t.byteSize(), 1);
    }
  }

  @Test
  void identicalTensorCostsNothingWhateverTheChain() {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withFullEvery(4))) {
      List<Tensor> s0 = TestStates.state(21, 0, 3, 5000);
      m.save(0, s0, Map.of()).join();
      m.save(1, TestStates.state(21, 5, 3, 5000), Map.of()).join();
      // step 2 brings back step 0's tensor 1 under another name: stored once already
      Tensor copy = Tensor.of("renamed", s0.get(1).dtype(), s0.get(1).shape(), s0.get(1).data());
      CheckpointInfo info = m.save(2, List.of(copy), Map.of()).join();
      assertEquals(0, info.storedBytes());
      assertEquals(TensorEntry.Encoding.REUSED, m.tensors(2, 0).get(0).encoding());
      assertArrayEquals(bytes(s0.get(1)), bytes(m.restore(2).tensor("renamed")));
    }
    // a new manager (a new process) knows what the run stored
    try (Repository r = Repository.open(dir); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      CheckpointInfo info = m.save(3, TestStates.state(21, 0, 3, 5000), Map.of()).join();
      assertEquals(0, info.storedBytes(), "step 3 equals step 0");
    }
  }

  @Test
  void rawTensorsAreIdentifiedByTheirChunkListWithoutASecondPassAndStillVerified() throws Exception {
    List<Tensor> s0 = TestStates.state(31, 0, 3, 600_000); // 2.4 MB tensors: three 1 MiB chunks each
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "raw", CheckpointOptions.DEFAULT.withRawBytes())) {
      m.save(0, s0, Map.of()).join();
      for (TensorEntry e : m.tensors(0, 0)) {
        assertTrue(e.sha256().startsWith(CheckpointManager.CHUNK_LIST), e.toString());
        assertEquals(CheckpointManager.chunkListHash(r.manifest(e.manifestId())), e.sha256(), e.name());
        assertEquals("", r.manifest(e.manifestId()).sha256(), "the write did not hash the bytes whole: " + e.name());
      }
      // equal bytes, equal hash: a tensor saved again under another name costs nothing
      Tensor copy = Tensor.of("renamed", s0.get(2).dtype(), s0.get(2).shape(), s0.get(2).data());
      CheckpointInfo info = m.save(1, List.of(copy), Map.of()).join();
      assertEquals(0, info.storedBytes());
      assertEquals(TensorEntry.Encoding.REUSED, m.tensors(1, 0).get(0).encoding());
      assertSameTensors(s0, m.restore(0), "raw step 0");
      assertEquals(3, m.verify(0));
      // a tensor differing in one byte of its last chunk hashes differently
      byte[] changed = bytes(s0.get(0));
      changed[changed.length - 1] ^= 1;
      Tensor other = Tensor.of("layer.0.weight", s0.get(0).dtype(), s0.get(0).shape(), ByteBuffer.wrap(changed));
      m.save(2, List.of(other), Map.of()).join();
      assertFalse(m.tensors(2, 0).get(0).sha256().equals(m.tensors(0, 0).get(0).sha256()));
      assertTrue(m.diff(0, 2).stream().filter(d -> d.name().equals("layer.0.weight")).allMatch(CheckpointManager.TensorDiff::changed));
    }
    // damage: a flipped bit in a raw tensor's pack fails restore and verify, naming the tensor
    flipABitOfTheLargestPack(dir, 3);
    try (Repository r = Repository.open(dir); CheckpointManager m = CheckpointManager.open(r, "raw", CheckpointOptions.DEFAULT.withRawBytes())) {
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> m.restore(0));
      assertTrue(e.getMessage().startsWith("Cannot restore checkpoint raw@0: tensor layer."), e.getMessage());
      assertSaysOnce(e.getMessage(), "raw@0");
      CorruptDataException v = assertThrows(CorruptDataException.class, () -> m.verify(0));
      assertTrue(v.getMessage().startsWith("Cannot verify checkpoint raw@0: tensor layer."), v.getMessage());
      assertSaysOnce(v.getMessage(), "raw@0");
    }
  }

  /**
   * A save seals one pack for its tensors' chunks and manifests (one barrier), one for the shard and
   * one for the step: with a barrier per manifest, 40 tensors sealed a dozen or more small packs.
   */
  @Test
  void aSaveSealsAPackForItsTensorsNotOnePerManifest() throws Exception {
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      for (int step = 0; step < 2; step++) { // the second is delta-coded against the first
        long before = packs();
        m.save(step, TestStates.state(37, step, 40, 2000), Map.of()).join();
        assertEquals(3, packs() - before, "seed 37 step " + step + ": packs sealed by one save");
        assertEquals(40, m.verify(step));
      }
    }
  }

  private long packs() throws java.io.IOException {
    try (Stream<Path> files = Files.walk(dir.resolve("tiers"))) {
      return files.filter(p -> p.toString().endsWith(".pack")).count();
    }
  }

  @Test
  void subsetRestoreReadsOnlyWhatItNeeds() {
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      List<Tensor> s = TestStates.state(3, 0, 4, 2000);
      m.save(7, s, Map.of()).join();
      RestoredCheckpoint one = m.restore(7, 0, List.of("layer.1.weight"));
      assertEquals(1, one.tensors().size());
      assertArrayEquals(bytes(s.get(1)), bytes(one.tensor("layer.1.weight")));
      assertThrows(NotFoundException.class, () -> m.restore(7, 0, List.of("nope")));
      assertThrows(NotFoundException.class, () -> m.restore(8));
    }
  }

  @Test
  void damagedChunkIsReportedWithRunStepTensorAndChunk() throws Exception {
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run-7", CheckpointOptions.DEFAULT)) {
      Tensor t = TestStates.state(4, 0, 1, 200_000).get(0);
      m.save(1200, List.of(t), Map.of()).join();
      flipABitOfTheLargestPack(dir, 2);
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> m.restore(1200));
      assertTrue(e.getMessage().startsWith("Cannot restore checkpoint run-7@1200: tensor layer.0.weight: chunk "), e.getMessage());
      assertSaysOnce(e.getMessage(), "run-7@1200");
      CorruptDataException v = assertThrows(CorruptDataException.class, () -> m.verify(1200));
      // one message: which step, tensor and chunk, and what is wrong with the chunk
      assertTrue(v.getMessage().startsWith("Cannot verify checkpoint run-7@1200: tensor layer.0.weight: chunk "), v.getMessage());
      assertTrue(v.getMessage().contains(" is damaged in the store") || v.getMessage().contains(" failed"), v.getMessage());
      assertSaysOnce(v.getMessage(), "run-7@1200");
    }
  }

  /**
   * The message names the step and tensor once: the decode's "Cannot read checkpoint … tensor …" is
   * not wrapped whole (the store's own reason, which names the pack, may follow the chunk).
   */
  private static void assertSaysOnce(String message, String label) {
    assertEquals(message.indexOf(label), message.lastIndexOf(label), "the step named twice: " + message);
    assertEquals(message.indexOf(" tensor "), message.lastIndexOf(" tensor "), "the tensor named twice: " + message);
    assertFalse(message.contains("Cannot read checkpoint"), message);
  }

  @Test
  void multiRankStepIsCompleteOnlyWhenEveryShardIs() {
    try (Repository r = repo()) {
      List<CheckpointManager> ranks = new ArrayList<>();
      for (int rank = 0; rank < 3; rank++) {
        ranks.add(CheckpointManager.open(r, "dist", CheckpointOptions.DEFAULT.withRank(rank, 3)));
      }
      CheckpointInfo a = ranks.get(0).save(5, TestStates.state(rankSeed(0), 0, 2, 1000), Map.of()).join();
      CheckpointInfo b = ranks.get(2).save(5, TestStates.state(rankSeed(2), 0, 2, 1000), Map.of()).join();
      assertFalse(a.complete());
      assertFalse(b.complete());
      assertTrue(ranks.get(0).latest().isEmpty(), "a step with 2 of 3 shards is not visible");
      assertEquals(0, ranks.get(0).list().size());
      assertEquals(1, ranks.get(0).listAll().size());
      CheckpointInfo c = ranks.get(1).save(5, TestStates.state(rankSeed(1), 0, 2, 1000), Map.of()).join();
      assertTrue(c.complete());
      for (int rank = 0; rank < 3; rank++) {
        assertEquals(OptionalLong.of(5), ranks.get(rank).latest());
        assertSameTensors(TestStates.state(rankSeed(rank), 0, 2, 1000), ranks.get(rank).restoreLatest(), "rank " + rank);
      }
      ranks.forEach(CheckpointManager::close);
    }
  }

  private static long rankSeed(int rank) {
    return 100 + rank;
  }

  @Test
  void pruneKeepsPolicyStepsAndTheirChainsAndGcKeepsThemRestorable() {
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withFullEvery(4))) {
      for (long step = 1; step <= 12; step++) {
        m.save(step, TestStates.state(8, step, 3, 2000), Map.of("loss", Double.toString(step == 3 ? 0.01 : 1.0 / step)));
      }
      m.awaitSaves();
      RetentionPolicy policy = RetentionPolicy.keepLast(2).withKeepEvery(5).withKeepBestLowest(1, "loss");
      CheckpointManager.PruneResult plan = m.planPrune(policy, Duration.ZERO);
      assertTrue(plan.kept().containsAll(List.of(3L, 5L, 10L, 11L, 12L)), plan.toString());
      // every kept step's delta bases are kept
      for (long kept : plan.kept()) {
        for (TensorEntry e : m.tensors(kept, 0)) {
          assertTrue(e.baseStep() < 0 || plan.kept().contains(e.baseStep()), plan + " drops " + e.baseStep() + " needed by " + kept);
        }
      }
      assertEquals(12, m.list().size(), "planning changes nothing");
      m.prune(policy, Duration.ZERO);
      assertEquals(plan.kept(), m.list().stream().map(CheckpointInfo::step).toList());
      r.gc(Duration.ZERO);
      for (long step : plan.kept()) {
        assertSameTensors(TestStates.state(8, step, 3, 2000), m.restore(step), "step " + step + " after prune and gc");
      }
      // and saving goes on after a prune (the dedup index forgot pruned tensors)
      m.save(13, TestStates.state(8, 13, 3, 2000), Map.of()).join();
      assertSameTensors(TestStates.state(8, 13, 3, 2000), m.restore(13), "step 13");
      assertTrue(Set.copyOf(CheckpointManager.runs(r)).contains("run"));
    }
  }

  @Test
  void durabilityShowsTheLowerTierOnceTheBackgroundCopyIsDone() {
    StorageDescriptor storage = new StorageDescriptor(null, List.of(),
        List.of(io.dharmana.descriptor.TierSpec.local("nvme", "tiers/nvme"), io.dharmana.descriptor.TierSpec.local("archive", "tiers/archive")),
        new io.dharmana.descriptor.PlacementPolicy("nvme", "back", false), null, null);
    try (Repository r = Repository.init(dir, PipelineDescriptor.of("tiered", storage));
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      m.save(1, TestStates.state(2, 0, 2, 5000), Map.of()).join();
      String early = m.listWithDurability().get(0).durability();
      assertTrue(early.equals("nvme") || early.equals("nvme+archive"), early);
      r.flush();
      assertEquals("nvme+archive", m.listWithDurability().get(0).durability());
    }
  }

  @Test
  void lossyCheckpointsAreMarkedAndClose() {
    long seed = 31;
    try (Repository r = repo();
        CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withLossy("int8"))) {
      List<Tensor> state = TestStates.state(seed, 0, 3, 4096);
      CheckpointInfo info = m.save(1, state, Map.of()).join();
      assertTrue(info.lossy(), "seed " + seed);
      assertTrue(m.list().get(0).lossy());
      RestoredCheckpoint restored = m.restore(1);
      Tensor original = state.get(0);
      java.nio.FloatBuffer a = original.data().asFloatBuffer();
      java.nio.FloatBuffer b = restored.tensor(original.name()).data().asFloatBuffer();
      for (int i = 0; i < a.remaining(); i++) {
        assertEquals(a.get(i), b.get(i), 0.002, "seed " + seed + " element " + i);
      }
      // bf16 tensors stay lossless
      assertArrayEquals(bytes(state.get(2)), bytes(restored.tensor(state.get(2).name())));
      assertTrue(info.storedBytes() < info.logicalBytes() / 2, "int8 stores about a quarter: " + info);
    }
  }

  @Test
  void keepForKeepsRecentSteps() {
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT)) {
      for (long step = 1; step <= 3; step++) {
        m.save(step, TestStates.state(1, step, 1, 100), Map.of());
      }
      m.awaitSaves();
      assertEquals(3, m.planPrune(RetentionPolicy.KEEP_ALL.withKeepFor(Duration.ofHours(1)), Duration.ZERO).kept().size());
      assertEquals(1, m.planPrune(RetentionPolicy.keepLast(1).withKeepFor(Duration.ZERO), Duration.ZERO).kept().size());
    }
  }

  /**
   * What a checkpoint run is reported to save: a float-coded tensor stands for its raw bytes (not
   * for its encoded form, which made the float coding's saving invisible), and the cost counts
   * every kept step's raw tensors once with the stored chunks once (it had added both twice).
   */
  @Test
  void statsAndCostCountEachTensorAsTheRawBytesItStandsFor() throws Exception {
    int tensors = 4;
    int elements = 20_000;
    long perStep = 0;
    // a full save every other step, so that a prune can remove steps no kept one decodes against
    try (Repository r = repo(); CheckpointManager m = CheckpointManager.open(r, "run", CheckpointOptions.DEFAULT.withFullEvery(2))) {
      for (int step = 0; step < 4; step++) {
        List<Tensor> state = TestStates.state(77, step, tensors, elements);
        perStep = state.stream().mapToLong(Tensor::byteSize).sum();
        m.save(step, state, Map.of()).join();
      }
      long frozen = elements * 4L; // tensor 0: one manifest, reused by every step
      io.dharmana.repo.RepositoryStats stats = r.stats();
      assertEquals(frozen + 4 * (perStep - frozen), stats.logicalBytesOf(CheckpointManager.PIPELINE));
      assertTrue(stats.ratio() > 1.3, "float coding and deltas must show in the ratio: " + stats.ratio());
      io.dharmana.report.RepositoryCost cost = io.dharmana.report.RepositoryCost.of(r, io.dharmana.cost.PriceTable.defaults());
      long shardsAndMarkers = stats.logicalBytes() - stats.logicalBytesOf(CheckpointManager.PIPELINE);
      assertEquals(shardsAndMarkers + 4 * perStep, cost.logicalBytes(), cost.toText());
      assertEquals(stats.uniqueStoredBytes(), cost.storedBytes(), cost.toText());

      // two steps pruned: they count no more
      assertEquals(List.of(0L, 1L), m.prune(RetentionPolicy.keepLast(2), Duration.ofDays(1)).removed());
      r.gc(Duration.ZERO);
      stats = r.stats();
      cost = io.dharmana.report.RepositoryCost.of(r, io.dharmana.cost.PriceTable.defaults());
      shardsAndMarkers = stats.logicalBytes() - stats.logicalBytesOf(CheckpointManager.PIPELINE);
      assertEquals(shardsAndMarkers + 2 * perStep, cost.logicalBytes(), cost.toText());
      assertEquals(stats.uniqueStoredBytes(), cost.storedBytes(), cost.toText());
      assertEquals(frozen + 2 * (perStep - frozen), stats.logicalBytesOf(CheckpointManager.PIPELINE));
    }
  }
}
