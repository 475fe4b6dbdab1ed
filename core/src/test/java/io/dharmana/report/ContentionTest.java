package io.dharmana.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ContentionTest {
  static Contention.Load load(String bucket, long ops, long bytes, double p99) {
    return new Contention.Load(bucket + "-pipeline", bucket, ops, bytes, 10, p99 / 2, p99);
  }

  @Test
  void namesThePipelineWhoseP99GrewMostWithItsNumbers() {
    Contention c = Contention.analyze(
        List.of(load("ckpt", 20, 200_000_000, 400), load("data", 100, 400_000_000, 30), load("samples", 5000, 20_000_000, 2)),
        List.of(load("ckpt", 12, 120_000_000, 900), load("data", 60, 240_000_000, 120), load("samples", 900, 3_600_000, 60)));
    assertEquals("samples", c.suffering().bucket());
    assertEquals(30, c.suffering().latencyFactor(), 1e-9);
    assertEquals(0.18, c.suffering().throughputFactor(), 1e-9);
    assertEquals(List.of("samples", "data", "ckpt"), c.pipelines().stream().map(Contention.Impact::bucket).toList());
    assertTrue(c.verdict().startsWith("Pipeline samples-pipeline (bucket samples) suffers most"), c.verdict());
    assertTrue(c.verdict().contains("x30.0") && c.verdict().contains("2.00 ms alone, 60.00 ms together"), c.verdict());
    assertTrue(c.verdict().contains("next is data-pipeline (p99 x4.0)"), c.verdict());
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void theVerdictIsTheLargestFactorWhateverTheOrder(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Contention.Load> alone = new ArrayList<>();
    List<Contention.Load> together = new ArrayList<>();
    double worst = 0;
    String worstBucket = null;
    for (int i = 0; i < 6; i++) {
      double a = 0.1 + r.nextDouble() * 100;
      double t = a * (0.5 + r.nextDouble() * 20);
      alone.add(load("b" + i, 1 + r.nextInt(100), r.nextLong(1L << 30), a));
      together.add(load("b" + i, 1 + r.nextInt(100), r.nextLong(1L << 30), t));
      if (t / a > worst) {
        worst = t / a;
        worstBucket = "b" + i;
      }
    }
    Collections.shuffle(together, new java.util.Random(seed));
    Contention c = Contention.analyze(alone, together);
    assertEquals(worstBucket, c.suffering().bucket(), "seed " + seed);
    assertEquals(6, c.pipelines().size(), "seed " + seed);
  }

  @Test
  void bucketsMeasuredOnlyOnceAreLeftOutAndNoneInCommonIsRefused() {
    Contention c = Contention.analyze(List.of(load("a", 1, 1, 1), load("b", 1, 1, 1)), List.of(load("a", 1, 1, 3), load("c", 1, 1, 9)));
    assertEquals(List.of("a"), c.pipelines().stream().map(Contention.Impact::bucket).toList());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Contention.analyze(List.of(load("a", 1, 1, 1)), List.of(load("b", 1, 1, 1))));
    assertTrue(e.getMessage().startsWith("Invalid contention runs"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Contention.analyze(List.of(load("a", 0, 1, 1)), List.of(load("a", 1, 1, 1))));
    assertThrows(IllegalArgumentException.class, () -> new Contention.Load("p", "b", 1, 1, 0, 1, 1));
  }
}
