package io.dharmana.cli;

import io.dharmana.cost.PriceTable;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.GcResult;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.report.Bottleneck;
import io.dharmana.report.RepositoryReport;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana demo}: an emulated training job on an embedded repository, end to end. Packs a
 * synthetic data set into shards (content-defined chunks, zstd), streams it with prefetch to an
 * emulated accelerator (a sleep per step, as MLPerf Storage does), saves asynchronous checkpoints
 * of a small model every N steps through a checkpoint pipeline (byte planes + zstd, deduplicated
 * against earlier checkpoints), prunes by retention, restores the latest and verifies it, then
 * prints the summary and writes {@code report.html} next to the repository.
 *
 * <p>The checkpoint and dataset runtimes of their own packages take over these steps when they
 * are merged; the figures (utilization, stored vs logical bytes, cost, bottleneck) come from the
 * same repository statistics and metrics history either way.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run an emulated training job on an embedded repository (no server, no setup): pack a data set,",
        "stream it with prefetch to an emulated accelerator, save async checkpoints with dedup, prune, restore,",
        "verify, and print utilization, bytes saved, cost per month vs raw and the bottleneck; writes report.html."})
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--dir", defaultValue = "dharmana-demo", paramLabel = "DIR",
      description = "Where the demo repository goes (default: ./${DEFAULT-VALUE}); replaced if it holds an earlier demo.")
  Path dir;

  @Option(names = "--dataset-mb", defaultValue = "48", paramLabel = "MB", description = "Synthetic data set size (default: ${DEFAULT-VALUE}).")
  int datasetMb;

  @Option(names = "--model-mb", defaultValue = "8", paramLabel = "MB", description = "Model (checkpoint) size (default: ${DEFAULT-VALUE}).")
  int modelMb;

  @Option(names = "--nvme-mb", defaultValue = "16", paramLabel = "MB",
      description = "Capacity of the fast tier; beyond it data moves to the hdd tier (default: ${DEFAULT-VALUE}).")
  int nvmeMb;

  @Option(names = "--steps", defaultValue = "240", paramLabel = "N", description = "Training steps (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--step-ms", defaultValue = "12", paramLabel = "MS", description = "Emulated compute per step (default: ${DEFAULT-VALUE}).")
  int stepMillis;

  @Option(names = "--checkpoint-every", defaultValue = "40", paramLabel = "N", description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(names = "--keep", defaultValue = "3", paramLabel = "N", description = "Checkpoints retained (default: ${DEFAULT-VALUE}).")
  int keep;

  @Option(names = "--seed", defaultValue = "7", description = "Seed of the synthetic data and model (default: ${DEFAULT-VALUE}).")
  long seed;

  private static final int SHARD_BYTES = 4 << 20;
  private static final int BATCH_BYTES = 256 << 10;
  private static final int PREFETCH = 4;
  private static final int LAYER_FLOATS = 64 << 10; // 256 KiB per layer

  @Override
  public Integer call() throws Exception {
    if (datasetMb < 1 || modelMb < 1 || nvmeMb < 1 || steps < 1 || stepMillis < 0 || checkpointEvery < 1 || keep < 1) {
      throw new IllegalArgumentException("Invalid demo settings: sizes, steps, --checkpoint-every and --keep must be >= 1,"
          + " --step-ms >= 0");
    }
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    prepare(dir);
    out.printf("dharmana demo in %s (seed %d)%n", dir.toAbsolutePath(), seed);
    // two tiers: a small fast one new data lands on, demoted by LRU to a cheaper one when it fills
    List<TierSpec> tiers = List.of(
        TierSpec.builder("nvme", "local").capacity((long) nvmeMb << 20).watermarks(0.9, 0.7).priceClass("local-nvme").build(),
        TierSpec.builder("hdd", "local").priceClass("local-hdd").build());
    PipelineDescriptor data = PipelineDescriptor.of("data", new StorageDescriptor(ChunkingSpec.DEFAULT,
        List.of(StageSpec.of("zstd", Map.of("level", "3"))), tiers, null, null, null));
    PipelineDescriptor ckpt = PipelineDescriptor.of("ckpt", new StorageDescriptor(ChunkingSpec.DEFAULT,
        List.of(StageSpec.of("byte-planes", Map.of("width", "4")), StageSpec.of("zstd", Map.of("level", "3"))), null, null, null, null));
    ExecutorService saver = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "demo-checkpoint-save");
      t.setDaemon(true);
      return t;
    });
    ExecutorService loader = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "demo-prefetch");
      t.setDaemon(true);
      return t;
    });
    try (Repository repo = Repository.init(dir, data)) {
      repo.addPipeline(ckpt);
      Random random = new Random(seed);

      // 1. pack the data set into shards
      int shards = Math.max(1, datasetMb * 1_000_000 / SHARD_BYTES);
      long packStart = System.nanoTime();
      for (int s = 0; s < shards; s++) {
        repo.put(shardName(s), new ByteArrayInputStream(samples(random, SHARD_BYTES)), PutOptions.defaults());
      }
      repo.history().append(repo.metrics("data").snapshot("demo pack dataset"));
      repo.flush();
      repo.tiers().maintain();
      out.printf(Locale.ROOT, "packed       %d shards, %s in %.1f s%n", shards, Output.bytes((long) shards * SHARD_BYTES),
          (System.nanoTime() - packStart) / 1e9);

      // 2. train: stream batches with prefetch to an emulated accelerator, checkpoint asynchronously
      float[] model = initialModel(random, modelMb * (1 << 20) / 4);
      PipelineMetrics train = repo.metrics("data");
      ArrayDeque<CompletableFuture<byte[]>> prefetched = new ArrayDeque<>();
      int batchesPerShard = SHARD_BYTES / BATCH_BYTES;
      int nextBatch = 0;
      long computeNanos = 0;
      long waitNanos = 0;
      long blockedNanos = 0;
      long markCompute = 0;
      long markWait = 0;
      int markStep = 0;
      CompletableFuture<Void> saving = CompletableFuture.completedFuture(null);
      List<String> checkpoints = new ArrayList<>();
      byte[] lastSaved = null;
      for (int step = 1; step <= steps; step++) {
        while (prefetched.size() < PREFETCH) {
          int b = nextBatch++ % (shards * batchesPerShard);
          prefetched.add(CompletableFuture.supplyAsync(() -> readBatch(repo, b / batchesPerShard, b % batchesPerShard), loader));
        }
        long w0 = System.nanoTime();
        byte[] batch = prefetched.poll().join();
        long w1 = System.nanoTime();
        if (step > 1) { // the first batch has nothing to overlap with, as MLPerf Storage counts it
          waitNanos += w1 - w0;
        }
        compute(model, batch, random, step, stepMillis);
        computeNanos += System.nanoTime() - w1;
        if (step % checkpointEvery == 0 || step == steps) {
          // one utilization point per checkpoint interval, so the report can draw it over time
          PipelineMetrics interval = new PipelineMetrics("data");
          interval.add(RepositoryReport.ACCELERATOR_COMPUTE_NANOS, computeNanos - markCompute);
          interval.add(RepositoryReport.ACCELERATOR_WAIT_NANOS, waitNanos - markWait);
          repo.history().append(interval.snapshot(String.format(Locale.ROOT, "demo train steps %d-%d", markStep + 1, step)));
          markCompute = computeNanos;
          markWait = waitNanos;
          markStep = step;
        }
        if (step % checkpointEvery == 0 || step == steps) {
          long b0 = System.nanoTime();
          saving.join(); // the previous save must be done before its buffer is reused
          byte[] snapshot = toBytes(model); // training is blocked only for this copy
          blockedNanos += System.nanoTime() - b0;
          String name = String.format(Locale.ROOT, "ckpt/step-%06d", step);
          checkpoints.add(name);
          lastSaved = snapshot;
          saving = CompletableFuture.runAsync(() -> repo.put(name, new ByteArrayInputStream(snapshot), PutOptions.defaults()
              .withPipeline("ckpt")), saver);
        }
      }
      saving.join();
      train.add("checkpoint.blocked.nanos", blockedNanos);
      double utilization = (double) computeNanos / (computeNanos + waitNanos);
      out.printf(Locale.ROOT, "trained      %d steps of %d ms: accelerator utilization %.1f%% (waited %.2f s for data,"
              + " prefetch %d); %d checkpoints saved asynchronously, training blocked %.0f ms in total for snapshots%n",
          steps, stepMillis, utilization * 100, waitNanos / 1e9, PREFETCH, checkpoints.size(), blockedNanos / 1e6);

      // 3. retention: keep the latest N, collect what nothing references any more
      int pruned = 0;
      for (int i = 0; i < checkpoints.size() - keep; i++) {
        if (repo.remove(checkpoints.get(i))) {
          pruned++;
        }
      }
      GcResult gc = repo.gc(Duration.ZERO, false);
      out.printf(Locale.ROOT, "retention    kept the latest %d checkpoints, pruned %d; gc freed %s in %d chunks%n", Math.min(keep,
          checkpoints.size()), pruned, Output.bytes(gc.bytesFreed()), gc.chunksDeleted());

      // 4. restore the latest and verify it against what training held
      String latest = checkpoints.get(checkpoints.size() - 1);
      ByteArrayOutputStream restored = new ByteArrayOutputStream(lastSaved.length);
      repo.get(latest, restored, ProgressListener.NONE);
      boolean same = Arrays.equals(restored.toByteArray(), lastSaved);
      if (!same) {
        throw new io.dharmana.CorruptDataException("Cannot verify the restored checkpoint " + latest
            + ": its bytes differ from the model the training saved");
      }
      out.printf("restored     %s: %s, SHA-256 %s, identical to the saved model%n", latest, Output.bytes(lastSaved.length),
          sha256(lastSaved).substring(0, 16));
      MetricsSnapshot ckptRun = repo.metrics("ckpt").snapshot("demo checkpoints");
      repo.history().append(ckptRun);
      MetricsSnapshot trainRun = train.snapshot("demo train");
      repo.history().append(trainRun);

      // 5. summary and report
      repo.flush();
      repo.tiers().maintain();
      RepositoryReport report = RepositoryReport.of(repo, null, PriceTable.defaults(), Bottleneck.Demand.NONE);
      RepositoryStats stats = report.stats();
      Path html = dir.resolve("report.html");
      ReportCommand.write(html, report.toHtml());
      out.println();
      out.printf(Locale.ROOT, "accelerator  utilization %.1f%%%n", utilization * 100);
      out.printf(Locale.ROOT, "bytes        %s logical stored as %s: saved %s (%d bytes, %.1f%%; dedup %s)%n",
          mib(stats.logicalBytes()), mib(stats.uniqueStoredBytes()), mib(stats.savedBytes()),
          stats.savedBytes(), stats.logicalBytes() == 0 ? 0 : 100.0 * stats.savedBytes() / stats.logicalBytes(),
          mib(stats.dedupSavedBytes()));
      out.printf(Locale.ROOT, "tiers        %s%n", String.join(", ", stats.tiers().stream()
          .map(t -> t.name() + " " + mib(t.bytesHeld()) + " (" + t.objects() + " chunks, " + t.demotions() + " demoted)").toList()));
      out.printf(Locale.ROOT, "cost         %s per month vs %s raw on %s (saved %.1f%%)%n", usd(report.cost().monthly()),
          usd(report.cost().rawMonthly()), report.cost().tiers().raw().priceClass(), report.cost().tiers().savedFraction() * 100);
      for (Bottleneck b : Bottleneck.analyze(ckptRun, Bottleneck.Demand.NONE, List.of())) {
        out.printf("bottleneck   checkpoint %s: %s%n", b.path().equals("write") ? "save" : "restore", b.verdict());
      }
      for (Bottleneck b : Bottleneck.analyze(trainRun, Bottleneck.Demand.NONE, List.of())) {
        if (b.direction().equals("decode")) {
          out.printf("bottleneck   data loading: %s%n", b.verdict());
        }
      }
      out.printf("report       %s%n", html.toAbsolutePath());
      out.printf(Locale.ROOT, "done in %.1f s%n%n", (System.nanoTime() - started) / 1e9);
      out.println("try next:");
      String[][] next = {
          {"dharmana stat " + dir, "what the repository holds, per tier, and the recorded runs"},
          {"dharmana cost " + dir, "cost per tier and per pipeline against raw"},
          {"dharmana report " + dir + " -o report.html", "the report again, e.g. after your own 'dharmana put'"},
          {"dharmana demo --step-ms 2", "a faster accelerator: watch utilization and the bottleneck move"}};
      int width = Arrays.stream(next).mapToInt(n -> n[0].length()).max().orElse(0);
      for (String[] n : next) {
        out.printf(Locale.ROOT, "  %-" + width + "s   %s%n", n[0], n[1]);
      }
      out.flush();
    } finally {
      saver.shutdownNow();
      loader.shutdownNow();
    }
    return Main.OK;
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
  }

  private static String usd(double v) {
    return v != 0 && Math.abs(v) < 0.01 ? String.format(Locale.ROOT, "$%.6f", v) : String.format(Locale.ROOT, "$%,.2f", v);
  }

  private static String shardName(int s) {
    return String.format(Locale.ROOT, "dataset/shard-%05d", s);
  }

  private static byte[] readBatch(Repository repo, int shard, int batch) {
    try (InputStream in = repo.openRange(shardName(shard), (long) batch * BATCH_BYTES, BATCH_BYTES)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** JSON-lines samples: ids, labels, short token lists; compressible as real metadata is. */
  private static byte[] samples(Random random, int size) {
    String[] words = {"the", "cat", "sat", "on", "a", "mat", "model", "token", "image", "label", "train", "val"};
    StringBuilder sb = new StringBuilder(size + 256);
    while (sb.length() < size) {
      sb.append("{\"id\":").append(random.nextInt(1 << 30)).append(",\"label\":").append(random.nextInt(1000)).append(",\"text\":\"");
      for (int i = 0, n = 8 + random.nextInt(24); i < n; i++) {
        sb.append(words[random.nextInt(words.length)]).append(' ');
      }
      sb.append("\",\"pixels\":\"");
      for (int i = 0; i < 48; i++) {
        sb.append((char) ('A' + random.nextInt(26)));
      }
      sb.append("\"}\n");
    }
    return sb.substring(0, size).getBytes(StandardCharsets.US_ASCII);
  }

  private static float[] initialModel(Random random, int floats) {
    float[] w = new float[floats];
    for (int i = 0; i < floats; i++) {
      w[i] = (float) (random.nextGaussian() * 0.02);
    }
    return w;
  }

  /**
   * One emulated step: the accelerator is busy for {@code millis}; the model changes in a few
   * layers, as fine-tuning a subset of layers does, so later checkpoints share chunks.
   */
  private static void compute(float[] model, byte[] batch, Random random, int step, int millis) throws InterruptedException {
    int layers = Math.max(1, model.length / LAYER_FLOATS);
    int layer = (batch.length + step) % layers;
    if (step % 8 == 0) {
      int from = layer * LAYER_FLOATS;
      for (int i = from; i < Math.min(model.length, from + LAYER_FLOATS); i++) {
        model[i] += (float) (random.nextGaussian() * 1e-4);
      }
    }
    Thread.sleep(millis);
  }

  private static byte[] toBytes(float[] model) {
    ByteBuffer b = ByteBuffer.allocate(model.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(model);
    return b.array();
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  /** Empties {@code dir} if it holds an earlier demo; refuses anything else that is not empty. */
  private static void prepare(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    boolean empty;
    try (Stream<Path> entries = Files.list(dir)) {
      empty = entries.findAny().isEmpty();
    }
    if (empty) {
      Files.delete(dir);
      return;
    }
    if (!Files.isRegularFile(dir.resolve(Repository.DESCRIPTOR_FILE))
        || !Files.isRegularFile(dir.resolve("pipelines").resolve("ckpt.yaml"))) {
      throw new IllegalArgumentException("Cannot run the demo in " + dir + ": it exists and does not hold an earlier demo;"
          + " pass --dir with a new or empty directory");
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
