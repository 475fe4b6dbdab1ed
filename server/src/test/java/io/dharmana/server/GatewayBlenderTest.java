package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.report.Contention;
import io.dharmana.repo.Repository;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The "IO blender": three pipelines, each a bucket bound to its own descriptor, against one
 * gateway: checkpoint writes (float32 tensors through byte planes and zstd), dataset streaming
 * reads (whole shards through lz4) and small random reads (4 KiB samples, the gateway's small
 * object cache off so they reach the pipeline). Each runs alone, then all three at once; the
 * figures come from the gateway's own metrics, and {@link Contention} names the pipeline that
 * suffers.
 *
 * <p>Bounded: {@code -Ddharmana.blender.seconds=N} per phase (default 3, four phases), so it
 * runs in CI; server/scripts/blender.sh runs a longer one. It checks that every pipeline has its
 * own series in {@code /metrics} and rows on the dashboard, that every byte read is right, and
 * that the verdict names the pipeline whose p99 grew most; it never asserts speed.
 */
class GatewayBlenderTest {
  static final String ID = "BLENDERKEY";
  static final String SECRET = "blender-secret-key";
  static final int CHECKPOINT_BYTES = 4 << 20;
  static final int SHARD_BYTES = 2 << 20;
  static final int SHARDS = 4;
  static final int SAMPLE_BYTES = 4 << 10;
  static final int SAMPLES = 128;
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** One of the three workloads: a bucket, its pipeline, and what its clients do. */
  record Workload(String bucket, String pipeline, int clients, Client client) {}

  interface Client {
    /** One request; returns false if the bytes read back were not the bytes written. */
    boolean step(S3Client s3, SplittableRandom random, byte[] buf) throws Exception;
  }

  @Test
  void threePipelinesOnOneGatewayEachMeasuredAndTheOneThatSuffersNamed() throws Exception {
    long seed = Long.getLong("dharmana.blender.seed", System.nanoTime());
    Duration phase = Duration.ofSeconds(Long.getLong("dharmana.blender.seconds", 3));
    try (Repository repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      repository.addPipeline(PipelineDescriptor.of("checkpoints", StorageDescriptor.builder()
          .chunking(new ChunkingSpec("cdc", 256 << 10, 1 << 20, 4 << 20, 4))
          .stage("byte-planes", Map.of("width", "4")).stage("zstd", Map.of("level", "3")).build()));
      repository.addPipeline(PipelineDescriptor.of("datasets", StorageDescriptor.builder()
          .chunking(new ChunkingSpec("cdc", 64 << 10, 256 << 10, 1 << 20, 1)).stage("lz4", Map.of()).build()));
      repository.addPipeline(PipelineDescriptor.of("samples", StorageDescriptor.builder()
          .chunking(new ChunkingSpec("cdc", 16 << 10, 64 << 10, 256 << 10, 1)).stage("lz4", Map.of()).build()));
      try (Gateway gateway = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0)
          .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET)))
          .bind("ckpt", "checkpoints").bind("data", "datasets").bind("samples", "samples")
          .smallObjectCache(0, 0).contentionInterval(phase.dividedBy(2)).start();
          S3Client s3 = S3Client.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1).forcePathStyle(true)
              .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ID, SECRET)))
              .httpClientBuilder(ApacheHttpClient.builder().maxConnections(16)).build()) {
        byte[] buf = new byte[CHECKPOINT_BYTES];
        for (int i = 0; i < SHARDS; i++) {
          LoadGenerator.fill(buf, SHARD_BYTES, shardId(seed, i), "ml");
          String key = "shard-" + i;
          s3.putObject(b -> b.bucket("data").key(key), RequestBody.fromBytes(Arrays.copyOf(buf, SHARD_BYTES)));
        }
        for (int i = 0; i < SAMPLES; i++) {
          LoadGenerator.fill(buf, SAMPLE_BYTES, sampleId(seed, i), "ml");
          String key = "sample-" + i;
          s3.putObject(b -> b.bucket("samples").key(key), RequestBody.fromBytes(Arrays.copyOf(buf, SAMPLE_BYTES)));
        }
        AtomicLong checkpointIds = new AtomicLong(seed);
        List<Workload> workloads = List.of(
            new Workload("ckpt", "checkpoints", 2, (c, r, b) -> {
              long id = checkpointIds.getAndIncrement();
              LoadGenerator.fill(b, CHECKPOINT_BYTES, id, "ml");
              c.putObject(p -> p.bucket("ckpt").key("step-" + id), RequestBody.fromContentProvider(
                  () -> new java.io.ByteArrayInputStream(b, 0, CHECKPOINT_BYTES), CHECKPOINT_BYTES, "application/octet-stream"));
              return true;
            }),
            new Workload("data", "datasets", 2, (c, r, b) -> {
              int i = r.nextInt(SHARDS);
              return readBack(c, "data", "shard-" + i, b, SHARD_BYTES, shardId(seed, i));
            }),
            new Workload("samples", "samples", 2, (c, r, b) -> {
              int i = r.nextInt(SAMPLES);
              return readBack(c, "samples", "sample-" + i, b, SAMPLE_BYTES, sampleId(seed, i));
            }));

        GatewayMetrics metrics = gateway.metrics();
        List<Contention.Load> alone = new ArrayList<>();
        long mismatches = 0;
        // the dashboard's contention view rolls an interval per poll: poll at every phase's end
        get(gateway.endpoint(), "/dashboard/data.json");
        for (Workload w : workloads) {
          long start = System.nanoTime();
          Map<String, GatewayMetrics.Totals> before = metrics.totals();
          mismatches += run(s3, List.of(w), phase, seed);
          settle(metrics);
          alone.add(load(metrics.totals().get(w.bucket()), before.get(w.bucket()), w, start));
          get(gateway.endpoint(), "/dashboard/data.json");
        }
        long start = System.nanoTime();
        Map<String, GatewayMetrics.Totals> before = metrics.totals();
        mismatches += run(s3, workloads, phase, seed);
        settle(metrics);
        Map<String, GatewayMetrics.Totals> after = metrics.totals();
        List<Contention.Load> together = workloads.stream().map(w -> load(after.get(w.bucket()), before.get(w.bucket()), w, start)).toList();
        assertEquals(0, mismatches, "seed " + seed + ": bytes read back differ from those written");

        Contention contention = Contention.analyze(alone, together);
        System.out.println("IO blender, seed " + seed + ", " + phase.toSeconds() + " s per phase:");
        contention.pipelines().forEach(i -> System.out.println("  " + i.describe()));
        System.out.println("  " + contention.verdict());
        assertEquals(3, contention.pipelines().size(), "seed " + seed);
        double worst = contention.pipelines().stream().mapToDouble(Contention.Impact::latencyFactor).max().orElseThrow();
        assertEquals(worst, contention.suffering().latencyFactor(), "seed " + seed + ": " + contention.verdict());
        assertTrue(contention.verdict().contains(contention.suffering().pipeline()), contention.verdict());

        // /metrics: each pipeline's throughput (bytes counters) and latency (per bucket timer) series
        String prometheus = get(gateway.endpoint(), "/metrics");
        for (Workload w : workloads) {
          String tags = "bucket=\"" + w.bucket() + "\",";
          String kind = w.bucket().equals("ckpt") ? "write" : "read";
          String bytes = w.bucket().equals("ckpt") ? "dharmana_gateway_bytes_in_bytes_total" : "dharmana_gateway_bytes_out_bytes_total";
          assertTrue(prometheus.lines().anyMatch(l -> l.startsWith(bytes + "{") && l.contains(tags) && l.contains("pipeline=\"" + w.pipeline() + "\"")),
              "no " + bytes + " series for " + w.bucket());
          assertTrue(prometheus.lines().anyMatch(l -> l.startsWith("dharmana_gateway_latency_seconds{") && l.contains(tags)
              && l.contains("kind=\"" + kind + "\"") && l.contains("quantile=\"0.99\"")), "no p99 latency series for " + w.bucket());
        }

        // the dashboard: a row per pipeline, and its contention view once two intervals passed
        JsonNode data = JSON.readTree(get(gateway.endpoint(), "/dashboard/data.json"));
        for (Workload w : workloads) {
          boolean found = false;
          for (JsonNode row : data.get("buckets")) {
            if (row.get("bucket").asText().equals(w.bucket())) {
              found = true;
              assertEquals(w.pipeline(), row.get("pipeline").asText());
              assertTrue(row.get("requests").asLong() > 0, w.bucket());
            }
          }
          assertTrue(found, "dashboard has no row for " + w.bucket());
        }
        JsonNode view = data.get("contention");
        System.out.println("  dashboard: " + view.get("verdict").asText());
        assertTrue(List.of("ckpt", "data", "samples").contains(view.get("suffering").asText()), view.toString());
        assertEquals(3, view.get("buckets").size(), view.toString());
        assertTrue(get(gateway.endpoint(), "/dashboard").contains("Contention"));
      }
    }
  }

  /** Waits until the gateway recorded every request a client saw answered (it records after responding). */
  static void settle(GatewayMetrics metrics) throws InterruptedException {
    for (int i = 0; i < 500 && metrics.inFlight() > 0; i++) {
      Thread.sleep(10);
    }
  }

  static long shardId(long seed, int i) {
    return seed * 31 + 1_000_000 + i;
  }

  static long sampleId(long seed, int i) {
    return seed * 31 + 2_000_000 + i;
  }

  static boolean readBack(S3Client s3, String bucket, String key, byte[] buf, int size, long id) throws Exception {
    try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(key))) {
      int n = in.readNBytes(buf, 0, size);
      boolean more = in.read() >= 0;
      byte[] expected = new byte[size];
      LoadGenerator.fill(expected, size, id, "ml");
      return n == size && !more && Arrays.equals(buf, 0, n, expected, 0, n);
    }
  }

  static Contention.Load load(GatewayMetrics.Totals after, GatewayMetrics.Totals before, Workload w, long startNanos) {
    assertNotNull(after, "gateway metrics have nothing for bucket " + w.bucket());
    GatewayMetrics.Totals start = before != null ? before : GatewayMetrics.none(w.bucket(), w.pipeline(), startNanos);
    return after.since(start).orElseThrow(() -> new AssertionError("no request of " + w.bucket() + " in the interval"));
  }

  /** Runs the workloads' clients for {@code duration}; returns how many reads gave other bytes. */
  static long run(S3Client s3, List<Workload> workloads, Duration duration, long seed) throws Exception {
    int threads = workloads.stream().mapToInt(Workload::clients).sum();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long end = System.nanoTime() + duration.toNanos();
      AtomicLong mismatches = new AtomicLong();
      List<Future<?>> futures = new ArrayList<>();
      int n = 0;
      for (Workload w : workloads) {
        for (int c = 0; c < w.clients(); c++) {
          SplittableRandom random = new SplittableRandom(seed + 7919L * n++);
          futures.add(pool.submit(() -> {
            byte[] buf = new byte[CHECKPOINT_BYTES];
            do {
              if (!w.client().step(s3, random, buf)) {
                mismatches.incrementAndGet();
              }
            } while (System.nanoTime() < end);
            return null;
          }));
        }
      }
      for (Future<?> f : futures) {
        f.get();
      }
      return mismatches.get();
    } finally {
      pool.shutdownNow();
    }
  }

  static String get(URI endpoint, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(endpoint.resolve(path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
