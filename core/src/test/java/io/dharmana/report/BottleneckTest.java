package io.dharmana.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.StageStats;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BottleneckTest {
  private static final long MB = 1_000_000;

  static MetricsSnapshot run(String pipeline, List<StageStats> stages, Map<String, Long> counters) {
    return new MetricsSnapshot(pipeline, "put x", Instant.EPOCH, Instant.EPOCH.plusSeconds(12), stages, List.of(), counters);
  }

  static StageStats enc(int index, String name, long in, long out, double seconds) {
    return new StageStats(index, name, "encode", 10, in, out, (long) (seconds * 1e9));
  }

  @Test
  void namesTheStageWithTheLargestShareAndWhatRemovingItChanges() {
    MetricsSnapshot snap = run("zstd19", List.of(
        enc(0, "zstd", 100 * MB, 50 * MB, 7.1),
        enc(-1, "store-write", 50 * MB, 50 * MB, 2.0),
        enc(-1, "sha256-chunk-id", 50 * MB, 50 * MB, 0.9)), Map.of("bytes.logical", 100 * MB, "bytes.stored", 50 * MB));
    List<Bottleneck> all = Bottleneck.analyze(snap, Bottleneck.Demand.NONE, List.of());
    assertEquals(1, all.size(), all.toString());
    Bottleneck b = all.get(0);
    assertEquals("write", b.path());
    assertEquals("zstd", b.limiting().name());
    assertEquals(0.71, b.limiting().share(), 1e-9);
    assertEquals(10.0, b.totalSeconds(), 1e-9);
    // 10 s total, 2.9 s without zstd: 3.45x; zstd's 50 MB out would be its 100 MB in
    assertEquals("Stage zstd takes 71% of write time (7.10 s of 10.00 s, 14.1 MB/s per thread)", b.verdict());
    assertTrue(b.whatIf().contains("write time 3.45× shorter (10.00 s → 2.90 s)"), b.whatIf());
    assertTrue(b.whatIf().contains("2.00× would be lost: up to 47.7 MiB more stored (its 47.7 MiB out would be 95.4 MiB)"), b.whatIf());
  }

  /** The checkpoint path codes tensors ahead of the chain (a step by index) and has no stages of its own. */
  @Test
  void theCheckpointPathsFloatCodecIsJudgedAsTheCodingItIs() {
    MetricsSnapshot save = run("checkpoint", List.of(
        enc(-1, "float-codec", 12 * MB, 10 * MB, 3.0),
        enc(-1, "chunking", 10 * MB, 10 * MB, 0.5),
        enc(-1, "store-write", 10 * MB, 10 * MB, 1.5)), Map.of());
    Bottleneck b = Bottleneck.analyze(save, Bottleneck.Demand.NONE, List.of()).get(0);
    assertTrue(b.limiting().stage());
    assertTrue(b.verdict().startsWith("Stage float-codec takes 60% of write time"), b.verdict());
    assertTrue(b.whatIf().contains("but its 1.20× would be lost: up to 1.91 MiB more stored"), b.whatIf());

    MetricsSnapshot slowDisk = run("checkpoint", List.of(
        enc(-1, "float-codec", 12 * MB, 10 * MB, 1.0),
        enc(-1, "store-write", 10 * MB, 10 * MB, 3.0)), Map.of());
    Bottleneck disk = Bottleneck.analyze(slowDisk, Bottleneck.Demand.NONE, List.of()).get(0);
    assertTrue(disk.whatIf().endsWith("Pipeline stages take 25% of write time: changing them can save at most that."), disk.whatIf());
  }

  @Test
  void demandPicksTheSlowestEntryBelowIt() {
    List<StageStats> stages = List.of(
        new StageStats(0, "zstd", "decode", 10, 50 * MB, 100 * MB, 500_000_000L), // 100 MB/s, largest share
        new StageStats(-1, "store-read", "decode", 10, 20 * MB, 20 * MB, 400_000_000L), // 50 MB/s
        new StageStats(-1, "sha256-verify", "decode", 10, 50 * MB, 50 * MB, 100_000_000L)); // 500 MB/s
    MetricsSnapshot snap = new MetricsSnapshot("p", "get x", Instant.EPOCH, Instant.EPOCH.plusSeconds(1), stages, List.of(),
        Map.of("bytes.read", 100 * MB));
    Bottleneck b = Bottleneck.analyze(snap, new Bottleneck.Demand(200 * MB, 0), List.of()).get(0);
    assertEquals("read", b.path());
    assertEquals("store-read", b.limiting().name());
    assertTrue(b.verdict().startsWith("Step store-read runs at 50.0 MB/s per thread, below the 200.0 MB/s"), b.verdict());
    assertTrue(b.whatIf().startsWith("The tier's I/O limits this path"), b.whatIf());
    assertTrue(b.whatIf().contains("Pipeline stages take 50% of read time"), b.whatIf());

    Bottleneck met = Bottleneck.analyze(snap, new Bottleneck.Demand(10 * MB, 0), List.of()).get(0);
    assertEquals("zstd", met.limiting().name());
    assertTrue(met.verdict().endsWith("every stage keeps up with the 10.0 MB/s needed"), met.verdict());
  }

  @Test
  void comparesOtherPipelinesOverTheSameBytes() {
    MetricsSnapshot slow = run("zstd19", List.of(enc(0, "zstd", 100 * MB, 50 * MB, 9.0), enc(-1, "store-write", 50 * MB, 50 * MB, 1.0)),
        Map.of("bytes.logical", 100 * MB, "bytes.stored", 50 * MB));
    MetricsSnapshot fast = run("zstd3", List.of(enc(0, "zstd", 100 * MB, 51 * MB, 2.2), enc(-1, "store-write", 51 * MB, 51 * MB, 1.0)),
        Map.of("bytes.logical", 100 * MB, "bytes.stored", 51 * MB));
    MetricsSnapshot other = run("lz4", List.of(enc(0, "lz4", 7 * MB, 5 * MB, 0.1)), Map.of("bytes.logical", 7 * MB));
    Bottleneck b = Bottleneck.analyze(slow, Bottleneck.Demand.NONE, List.of(other, fast, slow)).get(0);
    assertEquals(List.of("pipeline zstd3 on the same 95.4 MiB: write time 3.20 s vs 10.00 s here (3.13× faster), stored 48.6 MiB vs 47.7 MiB (+2.0%)"),
        b.alternatives());
  }

  @Test
  void aPathWithoutTimeIsLeftOut() {
    MetricsSnapshot snap = run("p", List.of(), Map.of());
    assertTrue(Bottleneck.analyze(snap, Bottleneck.Demand.NONE, List.of()).isEmpty());
  }

  @ParameterizedTest
  @ValueSource(longs = {3, 5, 8, 13, 21})
  void sharesSumToOneAndTheLargestLimitsWithoutDemand(long seed) {
    Random random = new Random(seed);
    List<StageStats> stages = new ArrayList<>();
    int n = 1 + random.nextInt(6);
    for (int i = 0; i < n; i++) {
      long in = 1 + random.nextInt(1 << 30);
      stages.add(new StageStats(i - 1, "s" + i, random.nextBoolean() ? "encode" : "decode", 1, in, 1 + random.nextInt(1 << 30),
          1 + random.nextInt(1_000_000_000)));
    }
    MetricsSnapshot snap = run("p", stages, Map.of());
    for (Bottleneck b : Bottleneck.analyze(snap, Bottleneck.Demand.NONE, List.of())) {
      double sum = b.shares().stream().mapToDouble(Bottleneck.Share::share).sum();
      assertEquals(1.0, sum, 1e-9, "seed " + seed);
      double max = b.shares().stream().mapToDouble(Bottleneck.Share::share).max().orElseThrow();
      assertEquals(max, b.limiting().share(), 0, "seed " + seed);
      assertTrue(b.verdict().contains(b.limiting().name()), "seed " + seed + ": " + b.verdict());
    }
  }
}
