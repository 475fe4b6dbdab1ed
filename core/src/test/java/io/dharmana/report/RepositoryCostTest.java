package io.dharmana.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.cost.CostReport;
import io.dharmana.cost.PriceTable;
import io.dharmana.cost.TierUsage;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.stage.StageSpec;
import io.dharmana.store.TierStats;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryCostTest {

  /** Compressible bytes: words from a small seeded vocabulary. */
  static byte[] text(Random random, int size) {
    String[] words = {"tensor", "shard", "epoch", "gradient", "chunk", "layer", "weight", "batch", "zstd", "tier"};
    StringBuilder sb = new StringBuilder(size + 16);
    while (sb.length() < size) {
      sb.append(words[random.nextInt(words.length)]).append(random.nextInt(100)).append(' ');
    }
    return sb.substring(0, size).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  @Test
  void tierUsageSplitsLogicalBytesByBytesHeld() {
    // 1,000 logical bytes over tiers holding 100 and 300: 250 and the remaining 750
    RepositoryStats stats = new RepositoryStats(2, 1000, 400, 400, 400, 4,
        List.of(new TierStats("fast", 100, 1, 0, 0, 0, 0, 0, 0), new TierStats("slow", 300, 3, 0, 0, 0, 0, 0, 0)));
    List<TierUsage> usage = RepositoryCost.tierUsage(stats, Map.of(
        "fast", TierSpec.local("fast", "/nvme"), "slow", TierSpec.builder("slow", "local").priceClass("local-hdd").build()), 1000);
    assertEquals(250, usage.get(0).logicalBytes());
    assertEquals(750, usage.get(1).logicalBytes());
    assertEquals("local-hdd", usage.get(1).priceClass());
    assertEquals(null, usage.get(0).priceClass());
  }

  /** A negative saving is worded as what it is, and one that rounds to zero is not "-0.0%". */
  @Test
  void savingsAreWordedByTheirSign() {
    assertEquals("saved 1.00 MiB (50.0% of logical)", RepositoryCost.savedBytesText(1 << 20, 2 << 20));
    assertEquals("saved 0 B (0.0% of logical)", RepositoryCost.savedBytesText(0, 0));
    assertEquals("150 B more stored than logical (0.1% more)", RepositoryCost.savedBytesText(-150, 150_000));
    assertEquals("150 B more stored than logical (0.0% more)", RepositoryCost.savedBytesText(-150, 3_000_000));
    assertEquals("saved 59.0%", RepositoryCost.savedCostText(0.59));
    assertEquals("costs 30.7% more than raw", RepositoryCost.savedCostText(-0.307));
    assertEquals("saved 0.0%", RepositoryCost.savedCostText(-0.0001));
    assertEquals("saved 0.0%", RepositoryCost.savedCostText(0));
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 29})
  void costsFollowStoredBytesPerTierAndPerPipeline(long seed, @TempDir Path dir) {
    Random random = new Random(seed);
    try (Repository repo = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      repo.addPipeline(PipelineDescriptor.of("fast", StorageDescriptor.of(List.of(StageSpec.of("lz4", Map.of())))));
      byte[] shared = text(random, 300_000 + random.nextInt(100_000));
      repo.put("a", new ByteArrayInputStream(shared), PutOptions.defaults());
      repo.put("b", new ByteArrayInputStream(text(random, 200_000)), PutOptions.defaults());
      repo.put("a-copy", new ByteArrayInputStream(shared), PutOptions.defaults());
      repo.put("c", new ByteArrayInputStream(text(random, 250_000)), PutOptions.defaults().withPipeline("fast"));
      repo.flush();

      RepositoryCost cost = RepositoryCost.of(repo, PriceTable.defaults());
      RepositoryStats stats = cost.stats();
      String why = "seed " + seed + "\n" + cost.toText();
      long held = stats.tiers().stream().mapToLong(TierStats::bytesHeld).sum();
      long manifestBytes;
      try (java.util.stream.Stream<io.dharmana.store.BlobInfo> manifests = repo.tiers().list("manifests/")) {
        manifestBytes = manifests.mapToLong(io.dharmana.store.BlobInfo::size).sum();
      }
      assertTrue(manifestBytes > 0, why);
      // nothing to collect: every chunk is live; the tier holds the manifests too (format 3 on)
      assertEquals(stats.uniqueStoredBytes() + manifestBytes, held, why);
      // one local tier, billed as local-nvme at $0.03/GB-month; raw on s3-standard at $0.023/GB-month
      CostReport.Line line = cost.tiers().lines().get(0);
      assertEquals("local-nvme", line.priceClass(), why);
      assertEquals(held / 1e9 * 0.03, line.total(), 1e-12, why);
      assertEquals(stats.logicalBytes() / 1e9 * 0.023, cost.rawMonthly(), 1e-12, why);

      assertEquals(List.of("default", "fast"), cost.pipelines().stream().map(RepositoryCost.PipelineCost::pipeline).toList(), why);
      RepositoryCost.PipelineCost def = cost.pipelines().get(0);
      RepositoryCost.PipelineCost fast = cost.pipelines().get(1);
      assertEquals(3, def.objects(), why);
      assertEquals(2L * shared.length + 200_000, def.logicalBytes(), why);
      assertEquals(stats.uniqueStoredBytes(), def.storedBytes() + fast.storedBytes(), why);
      // the pipelines split what their chunks cost; the manifests the tier holds beside them are the rest
      assertEquals(cost.monthly() * stats.uniqueStoredBytes() / held, def.monthly() + fast.monthly(), 1e-12, why);
      assertEquals(cost.rawMonthly(), def.rawMonthly() + fast.rawMonthly(), 1e-12, why);
      assertTrue(def.savedFraction() > 0, why);
      assertTrue(cost.toText().contains("storage savings: "), why);
    }
  }

  /**
   * Two tiers that each hold every chunk (written through): a pipeline's bytes cost both copies, so
   * a repository of one pipeline costs per pipeline what it costs per tier, but for its manifests.
   */
  @Test
  void aPipelinesCostCountsTheCopiesEveryTierHolds(@TempDir Path dir) {
    Random random = new Random(41);
    StorageDescriptor storage = StorageDescriptor.builder()
        .stage(StageSpec.of("zstd", Map.of()))
        .tier(TierSpec.local("fast", "tiers/fast"))
        .tier(TierSpec.builder("slow", "local").location("tiers/slow").priceClass("local-hdd").build())
        .placement(new io.dharmana.descriptor.PlacementPolicy("fast", "through", true))
        .build();
    try (Repository repo = Repository.init(dir.resolve("repo"), PipelineDescriptor.of("two-tiers", storage))) {
      for (int i = 0; i < 4; i++) {
        repo.put("data/" + i, new ByteArrayInputStream(text(random, 300_000 + random.nextInt(100_000))), PutOptions.defaults());
      }
      repo.flush();
      RepositoryCost cost = RepositoryCost.of(repo, PriceTable.defaults());
      RepositoryStats stats = cost.stats();
      String why = cost.toText();
      long manifestBytes;
      try (java.util.stream.Stream<io.dharmana.store.BlobInfo> manifests = repo.tiers().list("manifests/")) {
        manifestBytes = manifests.mapToLong(io.dharmana.store.BlobInfo::size).sum();
      }
      for (TierStats t : stats.tiers()) {
        assertEquals(stats.uniqueStoredBytes() + manifestBytes, t.bytesHeld(), "each tier holds a copy of everything\n" + why);
      }
      RepositoryCost.PipelineCost only = cost.pipelines().get(0);
      assertEquals(stats.uniqueStoredBytes(), only.storedBytes(), why);
      // $0.03 + $0.01 per GB-month for each stored byte: both copies
      assertEquals(only.storedBytes() / 1e9 * (0.03 + 0.01), only.monthly(), 1e-12, why);
      assertEquals(cost.monthly() * stats.uniqueStoredBytes() / (stats.uniqueStoredBytes() + manifestBytes), only.monthly(), 1e-12, why);
    }
  }
}
