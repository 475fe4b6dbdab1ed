package io.dharmana.bench;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

/**
 * Encode speed of one stage per CPU second of the encoding thread, on a file cut into chunks.
 * On a shared machine wall-clock throughput swings with other processes' load; CPU time much
 * less, which makes it the fairer way to set a stage beside a command-line tool measured the same
 * way (see {@code bench/scripts/zstd-stage-vs-cli.sh}).
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.dharmana.bench.StageCpuTime FILE CHUNK_BYTES STAGE [KEY=VALUE...]}.
 * Prints {@code <encode MB per CPU second> <decode MB per CPU second> <ratio>}, speeds in bytes
 * of the original data and the best of several passes after warm-up passes.
 */
public final class StageCpuTime {
  private StageCpuTime() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: StageCpuTime FILE CHUNK_BYTES STAGE [KEY=VALUE...]");
      System.exit(2);
    }
    byte[] data = Files.readAllBytes(Path.of(args[0]));
    int chunk = Integer.parseInt(args[1]);
    Map<String, String> params = new java.util.TreeMap<>();
    for (int i = 3; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      params.put(kv[0], kv[1]);
    }
    byte[] key = new byte[32];
    new Random(1).nextBytes(key);
    Stage stage = Stages.create(StageSpec.of(args[2], params),
        StageContext.of(Map.of("DHARMANA_BENCH_KEY", HexFormat.of().formatHex(key))));
    byte[][] chunks = new byte[(data.length + chunk - 1) / chunk][];
    for (int i = 0; i < chunks.length; i++) {
      chunks[i] = Arrays.copyOfRange(data, i * chunk, Math.min(data.length, (i + 1) * chunk));
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    byte[][] encoded = new byte[chunks.length][];
    double bestEncode = 0;
    double bestDecode = 0;
    long stored = 0;
    long checksum = 0;
    for (int pass = 0; pass < 6; pass++) {
      long start = threads.getCurrentThreadCpuTime();
      stored = 0;
      for (int i = 0; i < chunks.length; i++) {
        encoded[i] = stage.encode(chunks[i]);
        stored += encoded[i].length;
      }
      long middle = threads.getCurrentThreadCpuTime();
      for (byte[] e : encoded) {
        checksum += stage.decode(e).length;
      }
      long end = threads.getCurrentThreadCpuTime();
      if (pass >= 2) {
        bestEncode = Math.max(bestEncode, data.length * 1e3 / (middle - start));
        bestDecode = Math.max(bestDecode, data.length * 1e3 / (end - middle));
      }
    }
    if (checksum != 6L * data.length) {
      throw new IllegalStateException("Cannot benchmark " + stage + ": decoding lost bytes");
    }
    System.out.printf("%.1f %.1f %.3f%n", bestEncode, bestDecode, (double) data.length / stored);
  }
}
