package io.dharmana.bench;

import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * What metrics cost: the same put + get workload on a fresh repository (default pipeline: CDC
 * chunking, zstd 3, one local tier with fsync) with metrics on and off, interleaved in one run
 * (on, off, off, on, ...) so drifts of a shared machine hit both alike. Prints each round and the
 * median throughputs; the cost is 1 - median(on) / median(off).
 *
 * <p>Usage: {@code MetricsOverhead [MB per object, default 64] [rounds, default 6] [workdir]}
 */
public final class MetricsOverhead {
  private MetricsOverhead() {}

  public static void main(String[] args) throws IOException {
    int mb = args.length > 0 ? Integer.parseInt(args[0]) : 64;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
    Path work = args.length > 2 ? Path.of(args[2]) : Files.createTempDirectory("dharmana-metrics-overhead");
    long seed = Long.getLong("seed", 20261122L);
    System.out.printf(Locale.ROOT, "metrics overhead: %d MB put + get per round, %d rounds per setting, seed %d, in %s%n",
        mb, rounds, seed, work);
    // one warm-up of each, not counted: JIT and page cache
    run(work, "warm-on", true, data(seed - 1, mb));
    run(work, "warm-off", false, data(seed - 1, mb));
    List<Double> on = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    for (int i = 0; i < rounds; i++) {
      byte[] data = data(seed + i, mb);
      boolean onFirst = i % 2 == 0;
      double a = run(work, "r" + i + (onFirst ? "-on" : "-off"), onFirst, data);
      double b = run(work, "r" + i + (onFirst ? "-off" : "-on"), !onFirst, data);
      double withMetrics = onFirst ? a : b;
      double without = onFirst ? b : a;
      on.add(withMetrics);
      off.add(without);
      System.out.printf(Locale.ROOT, "round %d: metrics on %.1f MB/s, off %.1f MB/s, on/off %.3f%n", i, withMetrics, without,
          withMetrics / without);
    }
    double medOn = median(on);
    double medOff = median(off);
    System.out.printf(Locale.ROOT, "median: metrics on %.1f MB/s, off %.1f MB/s; metrics cost %.2f%% of throughput%n", medOn, medOff,
        (1 - medOn / medOff) * 100);
    // The end-to-end figure is as noisy as the machine; the recorder's own cost per chunk is not.
    // Per 64 KiB chunk (the default average) a put and a get make these recorder calls.
    double nanosPerChunk = recorderNanosPerChunk();
    double chunkMicros = 2 * 65536 / (medOff * 1e6) * 1e6; // put + get time of one average chunk at the metrics-off rate
    System.out.printf(Locale.ROOT, "recorder: %.0f ns per chunk (put + get, %d calls); a 64 KiB chunk takes %.0f µs through put + get"
        + " here, so recording is %.2f%% of it%n", nanosPerChunk, CALLS_PER_CHUNK, chunkMicros, nanosPerChunk / 1e3 / chunkMicros * 100);
    delete(work);
  }

  private static final int CALLS_PER_CHUNK = 10;

  /** What the runtime records per chunk on a put and a get, timed in a loop on one recorder. */
  private static double recorderNanosPerChunk() {
    io.dharmana.metrics.PipelineMetrics m = new io.dharmana.metrics.PipelineMetrics("bench");
    io.dharmana.stage.Stage zstd = io.dharmana.stage.Stages.chain(
        List.of(io.dharmana.stage.StageSpec.of("zstd", java.util.Map.of("level", "3"))),
        io.dharmana.stage.StageContext.system()).stages().get(0);
    long best = Long.MAX_VALUE;
    int n = 200_000;
    for (int round = 0; round < 7; round++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        m.step("sha256-original", "encode", 65536, 65536, 1000);
        m.encoded(0, zstd, 65536, 20000, 1000);
        m.step("sha256-chunk-id", "encode", 20000, 20000, 1000);
        m.step("store-write", "encode", 20000, 20000, 1000);
        m.latency("chunk-write", 50_000);
        m.step("store-read", "decode", 20000, 20000, 1000);
        m.latency("chunk-read", 50_000);
        m.step("sha256-verify", "decode", 20000, 20000, 1000);
        m.decoded(0, zstd, 20000, 65536, 1000);
        m.add("bytes.read", 65536);
      }
      best = Math.min(best, System.nanoTime() - t0);
    }
    return (double) best / n;
  }

  /** Put then get {@code data} in a fresh repository; logical MB/s over both. */
  private static double run(Path work, String name, boolean metrics, byte[] data) throws IOException {
    System.setProperty("dharmana.metrics", metrics ? "on" : "off");
    Path dir = work.resolve(name);
    long start;
    long end;
    try (Repository repo = Repository.init(dir, Repository.defaultPipeline())) {
      start = System.nanoTime();
      repo.put("object", new ByteArrayInputStream(data), PutOptions.defaults());
      repo.get("object", OutputStream.nullOutputStream(), ProgressListener.NONE);
      end = System.nanoTime();
      if (metrics) {
        repo.history().append(repo.metrics(repo.descriptor().name()).snapshot("overhead " + name));
      }
    }
    delete(dir);
    return 2.0 * data.length / 1e6 / ((end - start) / 1e9);
  }

  /** Compressible, not trivially so: words and numbers from a seeded generator (~3-4x with zstd 3). */
  static byte[] data(long seed, int mb) {
    Random random = new Random(seed);
    String[] words = {"tensor", "shard", "epoch", "gradient", "chunk", "layer", "weight", "batch", "optimizer", "loss"};
    StringBuilder sb = new StringBuilder(mb * 1_000_000 + 32);
    while (sb.length() < mb * 1_000_000) {
      sb.append(words[random.nextInt(words.length)]).append(random.nextInt(100_000)).append(random.nextBoolean() ? ' ' : '\n');
    }
    return sb.substring(0, mb * 1_000_000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
