package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {
  @TempDir Path dir;

  static PipelineDescriptor plain() {
    return PipelineDescriptor.of("plain", StorageDescriptor.of(List.of()));
  }

  static PipelineDescriptor zstd() {
    return PipelineDescriptor.of("zstd3", StorageDescriptor.of(List.of(StageSpec.of("zstd", Map.of("level", "3")))));
  }

  static byte[] bytes(Repository r, String name) throws IOException {
    try (InputStream in = r.open(name)) {
      return in.readAllBytes();
    }
  }

  /** A pipeline whose one tier lives at {@code tierPath}, e.g. where a file is in the way. */
  private static PipelineDescriptor tierAt(Path tierPath) {
    return io.dharmana.descriptor.Descriptors.parse(String.join("\n",
        "name: elsewhere",
        "storage:",
        "  stages: []",
        "  tiers:",
        "    - name: fast",
        "      kind: local",
        "      path: " + tierPath,
        ""), "test");
  }

  @Test
  void anInitWhoseTierCannotBeOpenedLeavesNothingThatASecondInitRefuses() throws Exception {
    Path blocker = Files.writeString(dir.resolve("not-a-directory"), "a file where the tier's directory goes");
    Path repo = dir.resolve("repo");
    java.io.UncheckedIOException e =
        assertThrows(java.io.UncheckedIOException.class, () -> Repository.init(repo, tierAt(blocker.resolve("fast"))));
    assertTrue(e.getMessage().startsWith("Cannot open tier fast (" + blocker.resolve("fast") + "): "), e.getMessage());
    assertFalse(Files.exists(repo), "a directory init made is removed again");

    Path empty = Files.createDirectories(dir.resolve("empty"));
    assertThrows(java.io.UncheckedIOException.class, () -> Repository.init(empty, tierAt(blocker.resolve("fast"))));
    try (Stream<Path> left = Files.list(empty)) {
      assertEquals(List.of(), left.toList(), "an empty directory given to init is left empty");
    }

    Files.delete(blocker);
    Repository.init(repo, tierAt(blocker.resolve("fast"))).close();
    try (Repository r = Repository.open(repo)) {
      r.put("x", new ByteArrayInputStream(new byte[] {4, 2}), PutOptions.defaults());
      assertTrue(Files.isDirectory(blocker.resolve("fast")));
    }
  }

  @Test
  void putGetStatListRemove() throws IOException {
    byte[] data = new byte[1_000_003];
    new Random(7).nextBytes(data);
    try (Repository r = Repository.init(dir, zstd())) {
      ObjectInfo info = r.put("a/b.bin", new ByteArrayInputStream(data), PutOptions.defaults());
      assertEquals(data.length, info.size());
      assertEquals(1, info.version());
      assertArrayEquals(data, bytes(r, "a/b.bin"));
      try (InputStream in = r.openRange("a/b.bin", 500_000, 70_000)) {
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 500_000, 570_000), in.readAllBytes());
      }
      r.put("a/empty", new ByteArrayInputStream(new byte[0]), PutOptions.defaults());
      assertEquals(0, bytes(r, "a/empty").length);
      try (Stream<ObjectInfo> all = r.list("a/")) {
        assertEquals(List.of("a/b.bin", "a/empty"), all.map(ObjectInfo::name).toList());
      }
      assertTrue(r.remove("a/empty"));
      assertFalse(r.remove("a/empty"));
      assertThrows(NotFoundException.class, () -> r.open("a/empty"));
    }
    try (Repository r = Repository.open(dir)) {
      assertArrayEquals(data, bytes(r, "a/b.bin"));
      assertEquals("zstd3", r.descriptor().name());
    }
  }

  /** Several objects written without a barrier each, one sync, then their manifests: all readable, also after reopening. */
  @Test
  void objectsWrittenUnderOneBarrierReadBackAfterReopen() throws IOException {
    Random random = new Random(11);
    List<byte[]> data = new java.util.ArrayList<>();
    List<String> ids = new java.util.ArrayList<>();
    try (Repository r = Repository.init(dir, zstd())) {
      List<io.dharmana.manifest.ObjectManifest> pending = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        byte[] d = new byte[random.nextInt(3_000_000)];
        random.nextBytes(d);
        data.add(d);
        // every other object without the original's hash: its chunks alone identify and check it
        PutOptions options = i % 2 == 0 ? PutOptions.defaults() : PutOptions.defaults().withoutOriginalHash();
        pending.add(r.writeChunks(new ByteArrayInputStream(d), options));
      }
      r.sync();
      for (int i = 0; i < pending.size(); i++) {
        assertEquals(data.get(i).length, pending.get(i).size(), "seed 11 object " + i);
        assertEquals(i % 2 == 0 ? 64 : 0, pending.get(i).sha256().length(), "seed 11 object " + i);
        ids.add(r.writeManifest(pending.get(i)));
      }
    }
    try (Repository r = Repository.open(dir)) {
      for (int i = 0; i < ids.size(); i++) {
        try (InputStream in = r.open(r.manifest(ids.get(i)), "object " + i)) {
          assertArrayEquals(data.get(i), in.readAllBytes(), "seed 11 object " + i);
        }
        String name = "named-" + i;
        PutOptions options = i % 2 == 0 ? PutOptions.defaults() : PutOptions.defaults().withoutOriginalHash();
        r.put(name, new ByteArrayInputStream(data.get(i)), options);
        java.io.ByteArrayOutputStream whole = new java.io.ByteArrayOutputStream();
        r.get(name, whole, io.dharmana.runtime.Verification.CHUNKS_AND_ORIGINAL, io.dharmana.runtime.ProgressListener.NONE);
        assertArrayEquals(data.get(i), whole.toByteArray(), "seed 11 object " + i + " read verifying the original where recorded");
      }
    }
  }

  @Test
  void initTwiceAndOpenMissingFailClearly() {
    Repository.init(dir, plain()).close();
    AlreadyExistsException e = assertThrows(AlreadyExistsException.class, () -> Repository.init(dir, plain()));
    assertTrue(e.getMessage().startsWith("Cannot init"), e.getMessage());
    NotFoundException n = assertThrows(NotFoundException.class, () -> Repository.open(dir.resolve("nope")));
    assertTrue(n.getMessage().contains("dharmana init"), n.getMessage());
  }

  @Test
  void versionsMoveByCompareAndSet() {
    try (Repository r = Repository.init(dir, plain())) {
      r.put("x", new ByteArrayInputStream(new byte[] {1}), PutOptions.ifAbsent());
      assertThrows(AlreadyExistsException.class,
          () -> r.put("x", new ByteArrayInputStream(new byte[] {2}), PutOptions.ifAbsent()));
      assertThrows(CommitFailedException.class,
          () -> r.put("x", new ByteArrayInputStream(new byte[] {2}), PutOptions.defaults().withExpectedVersion(7)));
      ObjectInfo v2 = r.put("x", new ByteArrayInputStream(new byte[] {3}), PutOptions.defaults().withExpectedVersion(1));
      assertEquals(2, v2.version());
      assertTrue(r.remove("x"));
      ObjectInfo again = r.put("x", new ByteArrayInputStream(new byte[] {4}), PutOptions.ifAbsent());
      assertEquals(4, again.version(), "if-absent holds for a removed name");
    }
  }

  @Test
  void aFlippedBitInAStoredPackIsDetectedOnRead() throws IOException {
    byte[] data = new byte[300_000];
    new Random(3).nextBytes(data);
    try (Repository r = Repository.init(dir, plain())) {
      r.put("f", new ByteArrayInputStream(data), PutOptions.defaults());
      Path chunk;
      try (Stream<Path> files = Files.walk(dir.resolve("tiers"))) {
        chunk = files.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
      }
      byte[] stored = Files.readAllBytes(chunk);
      stored[stored.length / 2] ^= 0x10;
      chunk.toFile().setWritable(true);
      Files.write(chunk, stored);
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> bytes(r, "f"));
      assertTrue(e.getMessage().startsWith("Cannot read f: chunk "), e.getMessage());
    }
  }

  @Test
  void gcFreesOnlyWhatNoObjectReferences() throws IOException {
    try (Repository r = Repository.init(dir, plain())) {
      r.put("keep", new SyntheticData(1, 3_000_000), PutOptions.defaults());
      r.put("drop", new SyntheticData(2, 3_000_000), PutOptions.defaults());
      long before = r.stats().chunkBytes();
      assertTrue(r.remove("drop"));
      GcResult dry = r.gcDryRun(Duration.ZERO);
      assertTrue(dry.dryRun() && dry.chunksDeleted() > 0, dry.toString());
      assertEquals(before, r.stats().chunkBytes(), "a dry run deletes nothing");
      GcResult young = r.gc(Duration.ofHours(1));
      assertEquals(0, young.chunksDeleted(), "chunks younger than the grace period stay");
      GcResult result = r.gc(Duration.ZERO);
      assertFalse(result.dryRun(), result.toString());
      assertTrue(result.bytesFreed() >= 2_900_000, "freed " + result.bytesFreed());
      try (InputStream in = r.open("keep")) {
        assertTrue(SyntheticData.sameAs(in, 1, 3_000_000));
      }
    }
  }

  /** Records a listener's calls and checks them: done never falls, the last call is done == total. */
  private static final class Calls implements io.dharmana.runtime.ProgressListener {
    final List<long[]> calls = new java.util.ArrayList<>();

    @Override
    public void progress(long done, long total) {
      calls.add(new long[] {done, total});
    }

    void assertRisesTo(long total, String what) {
      assertFalse(calls.isEmpty(), what + ": no report");
      assertEquals(0, calls.get(0)[0], what + ": the first report is 0 of the total");
      long last = 0;
      for (long[] c : calls) {
        assertTrue(c[0] >= last && c[0] <= c[1], what + ": " + c[0] + " of " + c[1] + " after " + last);
        last = c[0];
      }
      long[] end = calls.get(calls.size() - 1);
      assertEquals(total, end[0], what + ": ends at the total");
      assertEquals(total, end[1], what + ": ends at the total");
    }
  }

  @Test
  void gcReportsTheManifestsItMarksAndThenTheChunksItSweeps() {
    long seed = 17;
    Random random = new Random(seed);
    try (Repository r = Repository.init(dir, plain())) {
      for (int i = 0; i < 12; i++) {
        byte[] data = new byte[10_000 + random.nextInt(300_000)];
        random.nextBytes(data);
        r.put("o/" + i, new ByteArrayInputStream(data), PutOptions.defaults());
      }
      for (int i = 0; i < 12; i += 3) {
        r.remove("o/" + i);
      }
      Calls dryMarked = new Calls();
      Calls drySwept = new Calls();
      GcResult dry = r.gcDryRun(Duration.ZERO, dryMarked, drySwept);
      dryMarked.assertRisesTo(dry.liveManifests(), "seed " + seed + " dry run mark");
      drySwept.assertRisesTo(dry.chunksDeleted(), "seed " + seed + " dry run sweep");
      Calls marked = new Calls();
      Calls swept = new Calls();
      StringBuilder phases = new StringBuilder();
      GcResult result = r.gc(Duration.ZERO, (done, total) -> {
        phases.append('m');
        marked.progress(done, total);
      }, (done, total) -> {
        phases.append('s');
        swept.progress(done, total);
      });
      assertTrue(result.chunksDeleted() > 0 && result.liveManifests() > 0, "seed " + seed + ": " + result);
      marked.assertRisesTo(result.liveManifests(), "seed " + seed + " mark");
      swept.assertRisesTo(result.chunksDeleted(), "seed " + seed + " sweep");
      assertTrue(phases.toString().matches("m+s+"), "the mark ends before the sweep starts: " + phases);
      assertEquals(dry.chunksDeleted(), result.chunksDeleted(), "seed " + seed);
    }
  }

  /** The figure: the same 1 GiB stored twice under different names adds < 1% stored bytes. */
  @Test
  void theSameGibibyteTwiceAddsUnderOnePercent() {
    long size = 1L << 30;
    try (Repository r = Repository.init(dir, plain())) {
      r.put("first", new SyntheticData(42, size), PutOptions.defaults());
      long afterFirst = r.stats().chunkBytes();
      r.put("second", new SyntheticData(42, size), PutOptions.defaults());
      long added = r.stats().chunkBytes() - afterFirst;
      assertTrue(added < size / 100, "second copy added " + added + " bytes");
      assertEquals(2, r.stats().objects());
    }
  }

  /** The figure: 100 bytes inserted in the middle of 100 MiB adds < 2 MiB. */
  @Test
  void aHundredBytesInsertedAddUnderTwoMebibytes() {
    long size = 100L << 20;
    byte[] insertion = new byte[100];
    new Random(9).nextBytes(insertion);
    try (Repository r = Repository.init(dir, plain())) {
      r.put("v1", new SyntheticData(5, size), PutOptions.defaults());
      long afterFirst = r.stats().chunkBytes();
      r.put("v2", new SyntheticData(5, size, size / 2 + 12345, insertion), PutOptions.defaults());
      long added = r.stats().chunkBytes() - afterFirst;
      assertTrue(added < 2L << 20, "the edited copy added " + added + " bytes");
      System.out.printf("100 B inserted into 100 MiB: %d bytes added (%.3f%%)%n", added, 100.0 * added / size);
    }
  }

  @Test
  void equalDataDeduplicatesAcrossPipelinesWithEqualStages() {
    try (Repository r = Repository.init(dir, zstd())) {
      r.addPipeline(PipelineDescriptor.of("other", StorageDescriptor.of(List.of(StageSpec.of("zstd", Map.of("level", "3"))))));
      r.put("a", new SyntheticData(8, 2_000_000), PutOptions.defaults());
      long after = r.stats().chunkBytes();
      r.put("b", new SyntheticData(8, 2_000_000), PutOptions.defaults().withPipeline("other"));
      assertEquals(after, r.stats().chunkBytes());
      assertEquals(List.of("zstd3", "other"), r.pipelines());
      assertThrows(NotFoundException.class,
          () -> r.put("c", new ByteArrayInputStream(new byte[1]), PutOptions.defaults().withPipeline("missing")));
    }
  }

  @Test
  void streamsLargerThanMemoryWindowRoundTrip() throws IOException {
    try (Repository r = Repository.init(dir, zstd())) {
      r.put("big", new SyntheticData(77, 64L << 20), PutOptions.defaults());
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      r.get("big", sink, io.dharmana.runtime.ProgressListener.NONE);
      assertTrue(SyntheticData.sameAs(new ByteArrayInputStream(sink.toByteArray()), 77, 64L << 20));
    }
  }

  @Test
  void gcRemovesPacksACrashLeftWithoutAnIndexOnceOlderThanTheGrace() throws IOException {
    byte[] data = new byte[300_000];
    new Random(11).nextBytes(data);
    try (Repository r = Repository.init(dir, zstd())) {
      r.put("kept", new ByteArrayInputStream(data), PutOptions.defaults());
    }
    Path packs = dir.resolve("tiers").resolve("local").resolve("packs");
    // what a crash between writing a pack and its index leaves: one old, one young
    Path old = Files.write(packs.resolve("0000000000001-0000000000000001.pack"), new byte[] {9, 9});
    Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(Duration.ofHours(2))));
    Path young = Files.write(packs.resolve("0000000000002-0000000000000002.pack"), new byte[] {9});
    try (Repository r = Repository.open(dir)) {
      GcResult dry = r.gcDryRun(Duration.ofHours(1));
      assertEquals(0, dry.orphanPacksDeleted());
      assertTrue(Files.exists(old), "a dry run deletes nothing");
      GcResult gc = r.gc(Duration.ofHours(1));
      assertEquals(1, gc.orphanPacksDeleted());
      assertFalse(Files.exists(old));
      assertTrue(Files.exists(young), "younger than the grace: may be a pack being sealed");
      assertArrayEquals(data, bytes(r, "kept"));
    }
    try (Stream<Path> left = Files.list(packs)) {
      assertTrue(left.anyMatch(p -> p.toString().endsWith(".idx")), "the live pack's index stays");
    }
  }

  @Test
  void gcMergesSmallPacksAndAnInstanceOpenedBeforeReadsEveryObject() throws IOException {
    Map<String, byte[]> objects = new java.util.LinkedHashMap<>();
    Random random = new Random(12);
    try (Repository r = Repository.init(dir, zstd())) {
      for (int i = 0; i < 12; i++) { // each put seals a pack of its own
        byte[] data = new byte[2000 + random.nextInt(3000)];
        random.nextBytes(data);
        objects.put("small/" + i, data);
        r.put("small/" + i, new ByteArrayInputStream(data), PutOptions.defaults());
      }
    }
    Path packs = dir.resolve("tiers").resolve("local").resolve("packs");
    try (Repository server = Repository.open(dir)) { // a gateway serving while gc runs elsewhere
      assertArrayEquals(objects.get("small/0"), bytes(server, "small/0"));
      try (Repository gc = Repository.open(dir)) {
        assertEquals(12, gc.gcDryRun(Duration.ZERO).smallPacksMerged(), "a dry run counts the small packs");
        try (Stream<Path> left = Files.list(packs)) {
          assertEquals(12, left.filter(p -> p.toString().endsWith(".pack")).count(), "and merges none");
        }
        assertEquals(12, gc.gc(Duration.ZERO).smallPacksMerged());
      }
      try (Stream<Path> left = Files.list(packs)) {
        assertEquals(1, left.filter(p -> p.toString().endsWith(".pack")).count());
      }
      for (Map.Entry<String, byte[]> e : objects.entrySet()) {
        assertArrayEquals(e.getValue(), bytes(server, e.getKey()), e.getKey());
      }
    }
  }

  /** Hot reads are served from what this instance already parsed; another instance's writes must still show at once. */
  @Test
  void aWriteThroughAnotherInstanceIsSeenByTheNextRead() throws IOException {
    long seed = 5150;
    Random random = new Random(seed);
    Repository.init(dir, zstd()).close();
    try (Repository reader = Repository.open(dir); Repository writer = Repository.open(dir)) {
      byte[] last = null;
      for (int version = 1; version <= 4; version++) {
        byte[] data = new byte[1 + random.nextInt(100_000)];
        random.nextBytes(data);
        ObjectInfo put = writer.put("hot/object", new ByteArrayInputStream(data), io.dharmana.repo.PutOptions.defaults());
        for (int read = 0; read < 3; read++) {
          // chunks another instance packed become readable at its packed tier's next refresh;
          // the name must move at once
          ObjectInfo seen = reader.stat("hot/object").orElseThrow();
          assertEquals(version, seen.version(), "seed " + seed);
          assertEquals(put.manifestId(), seen.manifestId(), "seed " + seed + ", version " + version);
          assertEquals(data.length, seen.size(), "seed " + seed + ", version " + version);
          assertEquals(1, reader.list("hot/").filter(o -> o.manifestId().equals(put.manifestId())).count(), "seed " + seed);
        }
        last = data;
      }
      assertArrayEquals(last, bytes(writer, "hot/object"), "seed " + seed);
      assertTrue(writer.remove("hot/object"));
      assertTrue(reader.stat("hot/object").isEmpty(), "seed " + seed + ": removed by the other instance");
      assertThrows(NotFoundException.class, () -> reader.open("hot/object"));
    }
  }
}
