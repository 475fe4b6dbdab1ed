package io.dharmana.cli;

import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.checkpoint.CheckpointOptions;
import io.dharmana.checkpoint.RestoredCheckpoint;
import io.dharmana.checkpoint.RetentionPolicy;
import io.dharmana.cost.Money;
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
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Tensor;
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
 * synthetic data set into shards (content-defined chunks, zstd) on two tiers (a small fast one
 * demoting to a cheaper one), streams it with prefetch to an emulated accelerator (a sleep per
 * step, as MLPerf Storage does), saves asynchronous checkpoints of a small model every N steps
 * through the {@link CheckpointManager} (float coding, deltas against the previous save, dedup of
 * unchanged tensors), prunes by retention, restores the latest and verifies it, then prints the
 * summary and writes {@code report.html} next to the repository. Every figure printed comes from
 * the repository's statistics and metrics history, as {@code stat}, {@code cost} and {@code
 * report} show them.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    header = "Run an emulated training job on an embedded repository (no server, no setup).",
    description = "Packs a data set, streams it with prefetch to an emulated accelerator, saves asynchronous checkpoints with "
        + "dedup, prunes, restores and verifies them, and prints utilization, bytes saved, cost per month against raw and the "
        + "bottleneck; writes report.html.")
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

  @Option(names = "--seed", paramLabel = "SEED", defaultValue = "7", description = "Seed of the synthetic data and model (default: ${DEFAULT-VALUE}).")
  long seed;

  private static final String MARKER = ".dharmana-demo";
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
    ExecutorService loader = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "demo-prefetch");
      t.setDaemon(true);
      return t;
    });
    try (Repository repo = Repository.init(dir, data)) {
      Files.writeString(dir.resolve(MARKER), "an embedded repository made by 'dharmana demo'; the next demo replaces it\n");
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
      out.printf(Locale.ROOT, "packed       %d shard%s, %s in %.1f s%n", shards, shards == 1 ? "" : "s", Output.bytes((long) shards * SHARD_BYTES),
          (System.nanoTime() - packStart) / 1e9);

      // 2. train: stream batches with prefetch to an emulated accelerator, checkpoint asynchronously
      List<ByteBuffer> model = initialModel(random, modelMb * (1 << 20) / 4);
      CheckpointManager checkpointer = CheckpointManager.open(repo, "demo",
          CheckpointOptions.DEFAULT.withFullEvery(keep)); // a full save every `keep` saves, so retention can drop old chains
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
      List<CompletableFuture<CheckpointInfo>> saves = new ArrayList<>();
      List<byte[]> lastSaved = List.of();
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
        compute(model, random, step, stepMillis);
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
          // blocks only while the tensors are copied into staging buffers; encoding and writing run behind
          saves.add(checkpointer.save(step, tensors(model), Map.of("step", Integer.toString(step))));
          blockedNanos += System.nanoTime() - b0;
          if (step == steps) {
            lastSaved = model.stream().map(DemoCommand::copy).toList();
          }
        }
      }
      checkpointer.awaitSaves();
      long checkpointLogical = 0;
      long checkpointStored = 0;
      for (CompletableFuture<CheckpointInfo> f : saves) {
        checkpointLogical += f.join().logicalBytes();
        checkpointStored += f.join().storedBytes();
      }
      train.add("checkpoint.blocked.nanos", blockedNanos);
      double utilization = (double) computeNanos / (computeNanos + waitNanos);
      out.printf(Locale.ROOT, "trained      %d steps of %d ms: accelerator utilization %.1f%% (waited %.2f s for data,"
              + " prefetch %d); %d checkpoints saved asynchronously, training blocked %.0f ms in total for snapshots%n",
          steps, stepMillis, utilization * 100, waitNanos / 1e9, PREFETCH, saves.size(), blockedNanos / 1e6);
      out.printf(Locale.ROOT, "checkpoints  %s of model states written as %s new bytes (float coding, deltas against the previous"
          + " save, dedup of frozen layers)%n", mib(checkpointLogical), mib(checkpointStored));

      // 3. retention: keep the latest N, collect what nothing references any more
      CheckpointManager.PruneResult pruned = checkpointer.prune(RetentionPolicy.keepLast(keep), Duration.ofHours(1));
      GcResult gc = repo.gc(Duration.ZERO);
      out.printf(Locale.ROOT, "retention    kept steps %s, pruned %s; gc freed %s in %s (delta chains the kept steps need stay)%n",
          pruned.kept(), pruned.removed(), mib(gc.bytesFreed()), Output.count(gc.chunksDeleted(), "chunk"));

      // 4. restore the latest and verify it against what training held
      RestoredCheckpoint restored = checkpointer.restoreLatest();
      long restoredBytes = 0;
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (int i = 0; i < model.size(); i++) {
        ByteBuffer got = restored.tensor(layerName(i)).data();
        byte[] bytes = new byte[got.remaining()];
        got.get(bytes);
        if (!Arrays.equals(bytes, lastSaved.get(i))) {
          throw new io.dharmana.CorruptDataException("Cannot verify the restored checkpoint of step " + restored.step()
              + ": tensor " + layerName(i) + " differs from the model the training saved");
        }
        digest.update(bytes);
        restoredBytes += bytes.length;
      }
      out.printf("restored     step %d: %d tensors, %s, SHA-256 %s, identical to the saved model%n", restored.step(),
          restored.tensors().size(), mib(restoredBytes), HexFormat.of().formatHex(digest.digest()).substring(0, 16));
      checkpointer.close();
      MetricsSnapshot ckptRun = repo.metrics(CheckpointManager.PIPELINE).snapshot("demo checkpoints");
      repo.history().append(ckptRun);
      MetricsSnapshot trainRun = train.snapshot("demo train");
      repo.history().append(trainRun);

      // 5. summary and report
      repo.flush();
      repo.tiers().maintain();
      RepositoryReport report = RepositoryReport.of(repo, null, PriceTable.defaults(), Bottleneck.Demand.NONE);
      RepositoryStats stats = report.stats();
      Path html = dir.resolve("report.html");
      OutputFile.writeAtomically(html, report.toHtml());
      out.println();
      out.printf(Locale.ROOT, "accelerator  utilization %.1f%%%n", utilization * 100);
      var totals = report.cost();
      out.printf(Locale.ROOT, "bytes        %s logical (data set + kept checkpoints) stored as %s: %s%n",
          mib(totals.logicalBytes()), mib(totals.storedBytes()), totals.savedBytesText());
      out.printf(Locale.ROOT, "tiers        %s%n", String.join(", ", stats.tiers().stream()
          .map(t -> t.name() + " " + mib(t.bytesHeld()) + " (" + t.objects() + " chunks, " + t.demotions() + " demoted)").toList()));
      out.printf(Locale.ROOT, "cost         %s per month vs %s raw on %s (%s)%n", Money.usd(totals.monthly()),
          Money.usd(totals.rawMonthly()), totals.tiers().raw().priceClass(), totals.savedCostText());
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
      loader.shutdownNow();
    }
    return Main.OK;
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
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

  private static List<ByteBuffer> initialModel(Random random, int floats) {
    List<ByteBuffer> layers = new ArrayList<>();
    for (int from = 0; from < floats; from += LAYER_FLOATS) {
      int n = Math.min(LAYER_FLOATS, floats - from);
      ByteBuffer layer = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        layer.putFloat(i * 4, (float) (random.nextGaussian() * 0.02));
      }
      layers.add(layer);
    }
    return layers;
  }

  private static String layerName(int i) {
    return String.format(Locale.ROOT, "layers.%03d.weight", i);
  }

  private static List<Tensor> tensors(List<ByteBuffer> model) {
    List<Tensor> tensors = new ArrayList<>(model.size());
    for (int i = 0; i < model.size(); i++) {
      ByteBuffer layer = model.get(i);
      tensors.add(Tensor.of(layerName(i), DType.F32, new long[] {layer.capacity() / 4},
          layer.duplicate().position(0).order(ByteOrder.LITTLE_ENDIAN)));
    }
    return tensors;
  }

  private static byte[] copy(ByteBuffer layer) {
    byte[] bytes = new byte[layer.capacity()];
    layer.duplicate().position(0).get(bytes);
    return bytes;
  }

  /**
   * One emulated step: the accelerator is busy for {@code millis}. The odd layers are frozen (as in
   * fine-tuning), so checkpoints share them unchanged; each step updates one of the even layers in
   * turn by a small step, so those code as deltas against the previous save.
   */
  private static void compute(List<ByteBuffer> model, Random random, int step, int millis) throws InterruptedException {
    int tuned = (model.size() + 1) / 2;
    ByteBuffer layer = model.get(2 * (step % tuned));
    for (int i = 0; i < layer.capacity(); i += 4) {
      layer.putFloat(i, layer.getFloat(i) + (random.nextFloat() - 0.5f) * 2e-4f);
    }
    Thread.sleep(millis);
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
    if (!Files.isRegularFile(dir.resolve(Repository.DESCRIPTOR_FILE)) || !Files.isRegularFile(dir.resolve(MARKER))) {
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
