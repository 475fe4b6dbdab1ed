package io.dharmana.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.ComputationDescriptor;
import io.dharmana.descriptor.Descriptors;
import java.time.Duration;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PlannerTest {
  private static final double TIB = Math.pow(2, 40);

  /** 1,000 GPUs at 10 ms per batch of 32 samples of 115 KB: 1000 × 32 × 115,000 B / 0.01 s = 3.68e11 B/s. */
  @Test
  void resnet50OnAThousandGpus() {
    ComputationDescriptor c = Descriptors.parseComputation("""
        computation:
          modelKind: vision
          accelerators: 1000
          stepTime: 10ms
          batchSize: 32
          sampleBytes: 115KB
          datasetBytes: 147GB
          parameters: 25.6M
          checkpointInterval: 30m
        """, "resnet.yaml");
    StoragePlan plan = Planner.plan(c);
    StoragePlan.Figure read = plan.figure(StoragePlan.READ_BANDWIDTH).orElseThrow();
    assertEquals(3.68e11, read.value(), 1);
    assertEquals("1000 × 32 × 115 KB / 10 ms = 368 GB/s", read.arithmetic());
    // checkpoint estimated: 25.6e6 × 16 B = 409.6 MB; capacity 147 GB + 3 × 409.6 MB = 148.2288 GB
    assertEquals(409.6e6, plan.figure(StoragePlan.CHECKPOINT_SIZE).orElseThrow().value(), 1e-3);
    assertEquals(148.2288e9, plan.figure(StoragePlan.CAPACITY).orElseThrow().value(), 1);
    assertEquals("147 GB + 3 × 410 MB = 148 GB", plan.figure(StoragePlan.CAPACITY).orElseThrow().arithmetic());
    // train: 368 GB/s cannot come from a 148 GB Lustre file system (125 MB/s per TiB): 368e9 / 125e6 = 2,944 TiB
    StoragePlan.StageAdvice train = plan.stage("train").orElseThrow();
    assertEquals("local-nvme", train.recommended());
    assertTrue(train.reason().contains("2,940 TiB for bandwidth alone"), train.reason());
    StoragePlan.Option lustre = train.options().stream().filter(o -> o.priceClass().equals("fsx-lustre")).findFirst().orElseThrow();
    assertTrue(lustre.note().contains("sized for 368 GB/s: 2,940 TiB = $" ), lustre.note());
    assertEquals(2944 * TIB / 1e9 * 0.14, Double.parseDouble(lustre.note().replaceAll(".*\\$([0-9,.]+)/month", "$1").replace(",", "")), 0.01);
    // prepare: 147 GB × $0.023 = $3.381
    StoragePlan.Option prepare = plan.stage("prepare").orElseThrow().options().get(0);
    assertEquals("s3-standard", prepare.priceClass());
    assertEquals(3.381, prepare.monthly(), 1e-9);
    assertEquals("147 GB × $0.023/GB-month = $3.38", prepare.arithmetic());
  }

  /** 175B parameters × 16 B = 2.8 TB every 30 minutes. */
  @Test
  void llm175bCheckpoints() {
    StoragePlan plan = Planner.plan(ComputationDescriptor.builder()
        .modelKind("llm").accelerators(1024).stepTime(Duration.ofSeconds(12)).batchSize(4).sampleBytes(8192)
        .datasetBytes(1_200_000_000_000L).epochs(1).parameters(175_000_000_000L).checkpointInterval(Duration.ofMinutes(30))
        .build());
    assertEquals(2.8e12, plan.figure(StoragePlan.CHECKPOINT_SIZE).orElseThrow().value(), 1);
    assertEquals("175B parameters × 16 B = 2.8 TB", plan.figure(StoragePlan.CHECKPOINT_SIZE).orElseThrow().arithmetic());
    // blocking save within 5% of 1,800 s = 90 s: 2.8e12 / 90 = 31.1 GB/s
    StoragePlan.Figure sync = plan.figure(StoragePlan.CHECKPOINT_WRITE_SYNC).orElseThrow();
    assertEquals(2.8e12 / 90, sync.value(), 1);
    assertEquals("2.8 TB / (5% × 30 min = 90 s) = 31.1 GB/s", sync.arithmetic());
    // async: 2.8e12 / 1,800 s = 1.56 GB/s
    StoragePlan.Figure async = plan.figure(StoragePlan.CHECKPOINT_WRITE_ASYNC).orElseThrow();
    assertEquals(2.8e12 / 1800, async.value(), 1);
    assertEquals("2.8 TB / 30 min (1,800 s) = 1.56 GB/s", async.arithmetic());
    // reading is tiny by comparison: 1024 × 4 × 8,192 B / 12 s = 2.80 MB/s
    assertEquals(1024.0 * 4 * 8192 / 12, plan.figure(StoragePlan.READ_BANDWIDTH).orElseThrow().value(), 1e-6);
    // run: 1.2e12 / 2,796,202.67 B/s = 429,153 s (4.97 d); ⌊429,153 / 1,800⌋ = 238 checkpoints × 2.8 TB = 666.4 TB
    assertEquals(1.2e12 / (1024.0 * 4 * 8192 / 12), plan.figure(StoragePlan.RUN_DURATION).orElseThrow().value(), 1e-3);
    assertEquals(238 * 2.8e12, plan.figure(StoragePlan.CHECKPOINTS_WRITTEN).orElseThrow().value(), 1);
    // capacity: 1.2 TB + 3 × 2.8 TB = 9.6 TB
    assertEquals(9.6e12, plan.figure(StoragePlan.CAPACITY).orElseThrow().value(), 1);
    StoragePlan.StageAdvice train = plan.stage("train").orElseThrow();
    assertEquals("local-nvme", train.recommended(), "9.6 TB of Lustre gives ~1.09 GB/s < 31.1 GB/s");
    // archive: (2.8 + 1.2) TB = 4,000 GB × $0.00099 = $3.96
    StoragePlan.Option deep = plan.stage("archive").orElseThrow().options().get(0);
    assertEquals("s3-deep-archive", deep.priceClass());
    assertEquals(3.96, deep.monthly(), 1e-9);
    // serve: 175e9 × 2 B = 350 GB × $0.023 = $8.05
    assertEquals(8.05, plan.stage("serve").orElseThrow().options().get(0).monthly(), 1e-9);
    String text = plan.toText();
    assertTrue(text.contains("2.8 TB / (5% × 30 min = 90 s) = 31.1 GB/s") && text.contains("16 bytes per parameter"), text);
  }

  @Test
  void examplesPlanTheWorkedCases() {
    java.nio.file.Path examples = null;
    for (java.nio.file.Path d = java.nio.file.Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (java.nio.file.Files.isDirectory(d.resolve("examples"))) {
        examples = d.resolve("examples");
        break;
      }
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(examples != null, "no examples/ directory above the working directory");
    StoragePlan resnet = Planner.plan(Descriptors.loadComputation(examples.resolve("plan-resnet50-1000gpu.yaml")));
    assertEquals("1000 × 32 × 115 KB / 10 ms = 368 GB/s", resnet.figure(StoragePlan.READ_BANDWIDTH).orElseThrow().arithmetic());
    StoragePlan llm = Planner.plan(Descriptors.loadComputation(examples.resolve("plan-llm-175b.yaml")));
    assertEquals("2.8 TB / (5% × 30 min = 90 s) = 31.1 GB/s", llm.figure(StoragePlan.CHECKPOINT_WRITE_SYNC).orElseThrow().arithmetic());
  }

  @Test
  void statesNothingItCannotCompute() {
    StoragePlan plan = Planner.plan(ComputationDescriptor.builder().accelerators(8).build());
    assertTrue(plan.figures().isEmpty(), plan.toText());
    assertTrue(plan.stages().isEmpty(), plan.toText());
    assertTrue(plan.toText().contains("nothing"), plan.toText());
  }

  static LongStream seeds() {
    return LongStream.range(0, 20).map(i -> 0x91a0_0000L + i);
  }

  /** Properties over random computations: bandwidths follow their formulas, async ≤ blocking, costs are non-negative. */
  @ParameterizedTest
  @MethodSource("seeds")
  void figuresFollowTheirFormulas(long seed) {
    Random r = new Random(seed);
    ComputationDescriptor c = ComputationDescriptor.builder()
        .accelerators(1 + r.nextInt(10_000)).stepTime(Duration.ofMillis(1 + r.nextInt(60_000))).batchSize(1 + r.nextInt(512))
        .sampleBytes(1 + r.nextInt(10_000_000)).datasetBytes(1 + (r.nextLong() & 0xff_ffff_ffffL)).epochs(1 + r.nextInt(100))
        .parameters(1 + (r.nextLong() & 0xff_ffff_ffffL)).checkpointInterval(Duration.ofSeconds(1 + r.nextInt(86_400)))
        .build();
    PlanAssumptions a = PlanAssumptions.DEFAULT.withStallFraction(0.01 + r.nextDouble() * 0.99);
    StoragePlan plan = Planner.plan(c, PriceTable.defaults(), a);
    double read = plan.figure(StoragePlan.READ_BANDWIDTH).orElseThrow().value();
    double expected = (double) c.accelerators() * c.batchSize() * c.sampleBytes() / (c.stepTime().toMillis() / 1000.0);
    assertEquals(expected, read, expected * 1e-12, "seed " + seed);
    double size = plan.figure(StoragePlan.CHECKPOINT_SIZE).orElseThrow().value();
    double sync = plan.figure(StoragePlan.CHECKPOINT_WRITE_SYNC).orElseThrow().value();
    double async = plan.figure(StoragePlan.CHECKPOINT_WRITE_ASYNC).orElseThrow().value();
    assertEquals(size / (a.stallFraction() * c.checkpointInterval().getSeconds()), sync, sync * 1e-12, "seed " + seed);
    assertTrue(async <= sync, "seed " + seed + ": async " + async + " > sync " + sync);
    assertEquals(c.datasetBytes() + 3 * size, plan.figure(StoragePlan.CAPACITY).orElseThrow().value(), 1, "seed " + seed);
    plan.stages().forEach(s -> s.options().forEach(o -> assertTrue(o.monthly() >= 0, "seed " + seed)));
    assertEquals(4, plan.stages().size(), "seed " + seed);
  }
}
