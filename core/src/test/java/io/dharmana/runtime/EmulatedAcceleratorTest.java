package io.dharmana.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EmulatedAcceleratorTest {

  /** A clock that only moves when told to: the sleeper and the fake storage advance it. */
  static final class FakeClock {
    long now;
  }

  /** Items that each take a given time to arrive on the fake clock. */
  static Iterator<Integer> arriving(FakeClock clock, long[] waits) {
    return new Iterator<>() {
      int i;

      @Override
      public boolean hasNext() {
        return i < waits.length;
      }

      @Override
      public Integer next() {
        clock.now += waits[i];
        return i++;
      }
    };
  }

  @Test
  void storageFasterThanComputeGivesFullUtilization() {
    FakeClock clock = new FakeClock();
    EmulatedAccelerator<Integer> gpu = EmulatedAccelerator.of(Duration.ofMillis(10), () -> clock.now, n -> clock.now += n);
    long[] waits = new long[100];
    waits[0] = 5_000_000_000L; // a slow start is excluded
    AcceleratorStats stats = gpu.run(arriving(clock, waits));
    assertEquals(100, stats.items());
    assertEquals(1.0, stats.utilization(), 1e-9, stats.toString());
    assertEquals(99 * 10_000_000L, stats.computeNanos());
    assertEquals(5_000_000_000L, stats.firstWaitNanos());
    assertEquals(0, stats.waitP99Nanos());
  }

  /** Percentiles come from a histogram whose buckets round up: they must still not exceed the max. */
  @Test
  void waitPercentilesNeverExceedTheLongestWait() {
    FakeClock clock = new FakeClock();
    long[] waits = new long[60];
    java.util.Arrays.fill(waits, 1, waits.length, 400_000L);
    waits[30] = 557_001L; // the longest: its bucket (256 ns wide here) reaches 557_055
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(10), () -> clock.now, n -> clock.now += n)
        .run(arriving(clock, waits));
    assertEquals(557_001L, stats.waitMaxNanos());
    assertEquals(557_001L, stats.waitP99Nanos(), stats.toString());
    assertTrue(stats.waitP50Nanos() >= 400_000L && stats.waitP50Nanos() <= stats.waitP99Nanos(), stats.toString());
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void utilizationIsComputeOverWallExcludingTheFirstItem(long seed) {
    Random random = new Random(seed);
    FakeClock clock = new FakeClock();
    long compute = 1_000_000L * (1 + random.nextInt(20));
    long[] waits = IntStream.range(0, 500).mapToLong(i -> random.nextInt(3_000_000)).toArray();
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofNanos(compute), () -> clock.now, n -> clock.now += n)
        .run(arriving(clock, waits));
    long waitSum = 0;
    for (int i = 1; i < waits.length; i++) {
      waitSum += waits[i];
    }
    long computeSum = compute * (waits.length - 1);
    assertEquals(waitSum, stats.waitNanos(), "seed " + seed);
    assertEquals(computeSum + waitSum, stats.wallNanos(), "seed " + seed);
    assertEquals((double) computeSum / (computeSum + waitSum), stats.utilization(), 1e-12, "seed " + seed);
    long[] sorted = java.util.Arrays.stream(waits, 1, waits.length).sorted().toArray();
    long p50 = sorted[sorted.length / 2];
    assertTrue(Math.abs(stats.waitP50Nanos() - p50) <= p50 / 100 + 1000, "seed " + seed + ": p50 " + stats.waitP50Nanos() + " vs " + p50);
    assertTrue(stats.waitP99Nanos() >= stats.waitP50Nanos() && stats.waitMaxNanos() >= stats.waitP99Nanos(), "seed " + seed);
  }

  @Test
  void eachEpochCountsTheWaitThatDelaysIt() {
    FakeClock clock = new FakeClock();
    long[] waits = new long[30];
    waits[0] = 5_000_000_000L; // start-up: excluded, as from the run
    waits[10] = 6_000_000L; // the first batch of epoch 1 is late
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n)
        .byEpoch(i -> i / 10)
        .run(arriving(clock, waits));
    assertEquals(List.of(new AcceleratorStats.Epoch(0, 9, 36_000_000L, 0, 0, 36_000_000L),
        new AcceleratorStats.Epoch(1, 10, 40_000_000L, 0, 6_000_000L, 46_000_000L),
        new AcceleratorStats.Epoch(2, 10, 40_000_000L, 0, 0, 40_000_000L)), stats.epochs());
    assertEquals(40.0 / 46, stats.epochs().get(1).utilization(), 1e-12);
    assertEquals(80.0 / 86, stats.utilizationAfterFirstEpoch(), 1e-12);
    assertTrue(EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n)
        .run(arriving(clock, waits)).epochs().isEmpty(), "no per-epoch account unless asked for");
  }

  @ParameterizedTest
  @ValueSource(longs = {4, 5, 6})
  void epochsAddUpToTheRunInBothLaunches(long seed) {
    for (EmulatedAccelerator.Launch launch : EmulatedAccelerator.Launch.values()) {
      Random random = new Random(seed);
      FakeClock clock = new FakeClock();
      long[] waits = IntStream.range(0, 200).mapToLong(i -> random.nextInt(8_000_000)).toArray();
      int perEpoch = 1 + random.nextInt(40);
      AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(3), () -> clock.now, n -> clock.now += n)
          .launching(launch)
          .byEpoch(i -> i / perEpoch)
          .run(arriving(clock, waits));
      String where = "seed " + seed + ", " + launch + ", " + perEpoch + " items per epoch";
      assertEquals((waits.length + perEpoch - 1) / perEpoch, stats.epochs().size(), where);
      assertEquals(stats.items() - 1, stats.epochs().stream().mapToLong(AcceleratorStats.Epoch::items).sum(), where);
      assertEquals(stats.computeNanos(), stats.epochs().stream().mapToLong(AcceleratorStats.Epoch::computeNanos).sum(), where);
      assertEquals(stats.overrunNanos(), stats.epochs().stream().mapToLong(AcceleratorStats.Epoch::overrunNanos).sum(), where);
      assertEquals(stats.waitNanos(), stats.epochs().stream().mapToLong(AcceleratorStats.Epoch::waitNanos).sum(), where);
      assertEquals(stats.wallNanos(), stats.epochs().stream().mapToLong(AcceleratorStats.Epoch::wallNanos).sum(), where);
    }
  }

  @Test
  void aSleepThatOverrunsComputedLongerAndCountsAsIdleOnlyInTheStrictFigure() {
    FakeClock clock = new FakeClock();
    // every sleep overruns by 1 ms, as a preempted thread's would; item 5 arrives 2 ms late
    long[] waits = new long[11];
    waits[5] = 2_000_000L;
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n + 1_000_000L)
        .byEpoch(i -> i / 6)
        .run(arriving(clock, waits));
    assertEquals(10 * 4_000_000L, stats.computeNanos());
    assertEquals(10 * 1_000_000L, stats.overrunNanos(), stats.toString());
    assertEquals(2_000_000L, stats.waitNanos(), stats.toString());
    assertEquals(10 * 5_000_000L + 2_000_000L, stats.wallNanos());
    // as DLIO measures it, only the wait for storage is idle time
    assertEquals(50.0 / 52, stats.utilization(), 1e-12, stats.toString());
    assertEquals(40.0 / 52, stats.strictUtilization(), 1e-12, stats.toString());
    AcceleratorStats.Epoch first = stats.epochs().get(0);
    assertEquals(new AcceleratorStats.Epoch(0, 5, 20_000_000L, 5_000_000L, 2_000_000L, 27_000_000L), first);
    assertEquals(25.0 / 27, first.utilization(), 1e-12);
    assertEquals(20.0 / 27, first.strictUtilization(), 1e-12);
    assertEquals(1.0, stats.utilizationAfterFirstEpoch(), 1e-12, "epoch 1 waited for nothing: " + stats);
  }

  @Test
  void asynchronousLaunchHidesAThreadThatWakesLateByLessThanAnItem() {
    FakeClock clock = new FakeClock();
    // the same 1 ms overrun per sleep as above: the device has the next item queued meanwhile
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n + 1_000_000L)
        .launching(EmulatedAccelerator.Launch.ASYNCHRONOUS)
        .run(arriving(clock, new long[11]));
    assertEquals(10 * 4_000_000L, stats.computeNanos());
    assertEquals(10 * 4_000_000L, stats.wallNanos(), stats.toString());
    assertEquals(1.0, stats.utilization(), 1e-12, stats.toString());
    assertEquals(1.0, stats.strictUtilization(), 1e-12, "the device computed exactly what it was asked: " + stats);
    assertEquals(0, stats.overrunNanos(), stats.toString());
    assertEquals(0, stats.waitNanos());
    assertTrue(clock.now >= 11 * 4_000_000L, "the run ends when the device does, not before: " + clock.now);
  }

  @Test
  void asynchronousLaunchIdlesTheDeviceForALateItemBeyondTheItemInCompute() {
    FakeClock clock = new FakeClock();
    // item 3 arrives 10 ms after it is asked for; the device computes item 2 for 4 of them
    long[] waits = {0, 0, 0, 10_000_000L, 0, 0};
    AcceleratorStats async = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n)
        .launching(EmulatedAccelerator.Launch.ASYNCHRONOUS)
        .run(arriving(clock, waits));
    assertEquals(5 * 4_000_000L, async.computeNanos());
    assertEquals(6_000_000L, async.waitNanos(), async.toString());
    assertEquals(6_000_000L, async.waitMaxNanos(), async.toString());
    assertEquals(26_000_000L, async.wallNanos(), async.toString());
    assertEquals(0, async.overrunNanos(), async.toString());

    clock.now = 0;
    AcceleratorStats sync = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n)
        .run(arriving(clock, waits));
    assertEquals(10_000_000L, sync.waitNanos(), "synchronously the thread waits the whole 10 ms: " + sync);
    assertTrue(async.utilization() > sync.utilization(), async + " against " + sync);
  }

  @Test
  void asynchronousLaunchOverlapsTakingTheNextItemWithCompute() {
    FakeClock clock = new FakeClock();
    // every item takes 6 ms to arrive and 4 ms to compute: the device idles 2 ms per item, not 6
    long[] waits = new long[21];
    java.util.Arrays.fill(waits, 6_000_000L);
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(4), () -> clock.now, n -> clock.now += n)
        .launching(EmulatedAccelerator.Launch.ASYNCHRONOUS)
        .run(arriving(clock, waits));
    assertEquals(20 * 2_000_000L, stats.waitNanos(), stats.toString());
    assertEquals(2_000_000L, stats.waitP50Nanos(), 2_000_000L / 500, stats.toString());
    assertEquals(4.0 / 6.0, stats.utilization(), 1e-12, stats.toString());
  }

  @Test
  void computeTimeMayDependOnTheItem() {
    FakeClock clock = new FakeClock();
    AcceleratorStats stats = EmulatedAccelerator.<List<Integer>>computing(b -> 1000L * b.size(), () -> clock.now, n -> clock.now += n)
        .run(List.of(List.of(1), List.of(1, 2), List.of(1, 2, 3)).iterator());
    assertEquals(5000, stats.computeNanos());
    assertEquals(1.0, stats.utilization());
  }

  @Test
  void fewerThanTwoItemsHaveNoUtilization() {
    FakeClock clock = new FakeClock();
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(1), () -> clock.now, n -> clock.now += n)
        .run(List.of(1).iterator());
    assertTrue(Double.isNaN(stats.utilization()));
  }

  @Test
  void realClockSanityCheck() {
    // on the real clock only the accounting is certain: how late the thread wakes depends on the machine's load
    AcceleratorStats stats = EmulatedAccelerator.<Integer>of(Duration.ofMillis(2)).run(IntStream.range(0, 20).boxed().iterator());
    assertEquals(19 * 2_000_000L, stats.computeNanos(), stats.toString());
    assertTrue(stats.wallNanos() >= stats.computeNanos() + stats.overrunNanos() + stats.waitNanos(), stats.toString());
    assertTrue(stats.strictUtilization() > 0 && stats.strictUtilization() <= stats.utilization() && stats.utilization() <= 1,
        stats.toString());
  }
}
