package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.ConsistencySpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Bounded loopback load: 16 concurrent clients, mixed 4 KiB to 16 MiB PUTs and GETs for a fixed
 * time, every object verified byte for byte, against the gateway and then against S3Proxy
 * (filesystem backend) on the same disk; prints throughput, latency percentiles and the ratio.
 *
 * <p>Runs only when asked: {@code -Ddharmana.load.seconds=60} (see server/scripts/load-test.sh).
 * It asserts zero errors and zero mismatches, never speed; speed is reported.
 */
class GatewayLoadTest {
  static final String ID = "LOADTESTKEY";
  static final String SECRET = "load-test-secret-key";
  static final int CLIENTS = 16;
  static final int MIN_SIZE = 4 << 10;
  static final int MAX_SIZE = 16 << 20;
  static final int HOT_OBJECTS = 64;
  /** Hot objects have their own bucket, so the gateway's per-bucket latency is their server-side time. */
  static final String HOT_BUCKET = "hot";
  /** The mix: percent of PUTs, of 4 KiB hot GETs, the rest GETs of any object written (35/25/40 unless set). */
  static final int PUT_PERCENT = Integer.getInteger("dharmana.load.puts", 35);
  static final int HOT_PERCENT = Integer.getInteger("dharmana.load.hot", 25);

  @TempDir Path dir;


  record Result(String target, double seconds, long ops, long bytes, long errors, long mismatches,
      Histogram put, Histogram get, Histogram hotGet, long processCpuNanos, long clientCpuNanos) {
    /** CPU the process spent outside the load clients per MB moved: the server's, with GC and JIT. */
    double serverCpuMsPerMb() {
      return (processCpuNanos - clientCpuNanos) / 1e6 / (bytes / 1e6);
    }

    double mbPerSecond() {
      return bytes / seconds / 1e6;
    }

    String describe() {
      return String.format(Locale.ROOT,
          "%-9s %6d ops %8.1f MB/s  errors %d  mismatches %d  server CPU %.2f ms/MB (process %.1f s, clients %.1f s)%n"
              + "          PUT  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET 4 KiB hot p50 %6.2f ms p99 %6.2f ms (n=%d)",
          target, ops, mbPerSecond(), errors, mismatches, serverCpuMsPerMb(), processCpuNanos / 1e9, clientCpuNanos / 1e9,
          ms(put, 50), ms(put, 99), put.getTotalCount(), ms(get, 50), ms(get, 99), get.getTotalCount(),
          ms(hotGet, 50), ms(hotGet, 99), hotGet.getTotalCount());
    }

    static double ms(Histogram h, double p) {
      return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(p) / 1e6;
    }
  }

  @Test
  void mixedLoadAgainstGatewayAndS3Proxy() throws Exception {
    String secondsProperty = System.getProperty("dharmana.load.seconds");
    Assumptions.assumeTrue(secondsProperty != null, "load test runs only with -Ddharmana.load.seconds=N");
    long seed = Long.getLong("dharmana.load.seed", System.nanoTime());
    Duration duration = Duration.ofSeconds(Long.parseLong(secondsProperty));
    String content = System.getProperty("dharmana.load.content", "random");
    // both servers run side by side and take turns (g s s g ...), so drifting load from other
    // processes on the machine falls on both alike
    int rounds = Integer.getInteger("dharmana.load.rounds", 2);
    boolean withProxy = !"gateway".equals(System.getProperty("dharmana.load.targets"));
    Duration slice = duration.dividedBy(rounds);

    S3Proxy proxy = withProxy ? startS3Proxy(dir.resolve("s3proxy")) : null;
    PipelineDescriptor pipeline = pipeline(System.getProperty("dharmana.load.pipeline", "default"),
        Boolean.parseBoolean(System.getProperty("dharmana.load.fsync", "true")));
    try (Repository repository = Repository.init(dir.resolve("repo"), pipeline);
        Gateway g = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0)
            .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET))).start();
        Target gateway = new Target("gateway", g.endpoint(), seed, content);
        Target s3proxy = withProxy ? new Target("s3proxy", URI.create("http://127.0.0.1:" + proxy.getPort()), seed, content) : null) {
      // warm-up, not measured: JIT-compiles the client and each server before its first slice counts
      Duration warmup = Duration.ofSeconds(Long.getLong("dharmana.load.warmup", 5));
      if (!warmup.isZero()) {
        gateway.run(warmup);
        gateway.reset();
        if (s3proxy != null) {
          s3proxy.run(warmup);
          s3proxy.reset();
        }
      }
      for (int round = 0; round < rounds; round++) {
        if (s3proxy != null && round % 2 == 1) {
          s3proxy.run(slice);
        }
        gateway.run(slice);
        if (s3proxy != null && round % 2 == 0) {
          s3proxy.run(slice);
        }
      }
      System.out.println("load seed " + seed + ", " + CLIENTS + " clients, content " + content + ", gateway pipeline "
          + pipeline.storage().chunking() + " " + pipeline.storage().stages() + " fsync " + pipeline.storage().consistency().fsync() + " codec threads " + pipeline.storage().cache().effectiveThreads() + ", "
          + duration.toSeconds() + " s each in " + rounds + " alternating slices");
      System.out.println(gateway.result().describe());
      System.out.println("          CPU by thread group, whole run: " + cpuByThreadGroup());
      for (io.dharmana.metrics.StageStats st : repository.metrics("default").snapshot("load").stages()) {
        System.out.printf(Locale.ROOT, "          step %-16s %-6s %8.2f s  %8.1f MB in  %6.2f ms/MB%n", st.stage(), st.direction(),
            st.seconds(), st.bytesIn() / 1e6, st.seconds() * 1e3 / Math.max(1e-9, st.bytesIn() / 1e6));
      }
      System.out.println("          gateway-side (request handling only, last minute): "
          + serverSide(g.endpoint(), HOT_BUCKET) + "; " + serverSide(g.endpoint(), "load"));
      if (s3proxy != null) {
        System.out.println(s3proxy.result().describe());
        System.out.printf(Locale.ROOT, "throughput ratio gateway/s3proxy: %.2f (goal >= 1.5); server CPU per MB gateway/s3proxy: %.2f; ",
            gateway.result().mbPerSecond() / s3proxy.result().mbPerSecond(),
            gateway.result().serverCpuMsPerMb() / s3proxy.result().serverCpuMsPerMb());
      }
      System.out.printf(Locale.ROOT, "gateway 4 KiB hot GET p99 %.2f ms (goal < 5)%n", Result.ms(gateway.result().hotGet(), 99));
      assertEquals(0, gateway.errors.get(), "seed " + seed + ": gateway errors");
      assertEquals(0, gateway.mismatches.get(), "seed " + seed + ": gateway returned other bytes");
      if (s3proxy != null) {
        assertEquals(0, s3proxy.errors.get() + s3proxy.mismatches.get(), "seed " + seed + ": s3proxy errors");
      }
      assertTrue(gateway.ops.get() > 0, "seed " + seed);
    } finally {
      if (proxy != null) {
        proxy.stop();
      }
    }
  }

  /**
   * The repository's default pipeline (what a bucket gets when bound to nothing else): {@code
   * default} is {@link Repository#defaultPipeline()} (content-defined chunks, zstd level 3);
   * {@code lz4} swaps zstd for lz4, {@code fixed-lz4} also cuts fixed 1 MiB chunks. fsync off
   * skips the commit barrier's flush to the device (S3Proxy's filesystem backend does not fsync).
   */
  static PipelineDescriptor pipeline(String name, boolean fsync) {
    StorageDescriptor.Builder b = StorageDescriptor.builder().consistency(new ConsistencySpec(fsync));
    int threads = Integer.getInteger("dharmana.load.threads", 0);
    if (threads > 0) {
      b.cache(new io.dharmana.descriptor.CacheSpec(8, threads, 256L << 20));
    }
    switch (name) {
      case "default" -> b.stage("zstd", java.util.Map.of("level", "3"));
      case "lz4" -> b.stage("lz4", java.util.Map.of());
      case "fixed-lz4" -> b.chunking(new ChunkingSpec("fixed", 1 << 20, 1 << 20, 1 << 20, 1)).stage("lz4", java.util.Map.of());
      default -> throw new IllegalArgumentException("Invalid dharmana.load.pipeline '" + name + "': use default, lz4 or fixed-lz4");
    }
    return PipelineDescriptor.of("default", b.build());
  }

  /** The gateway's own read latency of one bucket, from its dashboard data. */
  static String serverSide(URI endpoint, String bucket) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    String body = http.send(java.net.http.HttpRequest.newBuilder(endpoint.resolve("/dashboard/data.json")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    var rows = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).get("buckets");
    for (var row : rows) {
      if (row.get("bucket").asText().equals(bucket)) {
        return String.format(Locale.ROOT, "%s read p50 %.2f ms p99 %.2f ms, write p50 %.2f ms p99 %.2f ms", bucket,
            row.get("readP50Ms").asDouble(), row.get("readP99Ms").asDouble(), row.get("writeP50Ms").asDouble(),
            row.get("writeP99Ms").asDouble());
      }
    }
    return bucket + " not found";
  }

  static S3Proxy startS3Proxy(Path directory) throws Exception {
    Files.createDirectories(directory);
    Properties p = new Properties();
    p.setProperty("jclouds.provider", "filesystem");
    p.setProperty("jclouds.filesystem.basedir", directory.toString());
    p.setProperty("jclouds.identity", ID);
    p.setProperty("jclouds.credential", SECRET);
    p.setProperty("s3proxy.endpoint", "http://127.0.0.1:0");
    p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    p.setProperty("s3proxy.identity", ID);
    p.setProperty("s3proxy.credential", SECRET);
    p.setProperty("s3proxy.ignore-unknown-headers", "true");
    S3Proxy proxy = S3Proxy.Builder.fromProperties(p).blobStore(BlobStores.create("filesystem", p)).build();
    proxy.start();
    for (int i = 0; i < 1000 && !"STARTED".equals(proxy.getState()); i++) {
      Thread.sleep(10);
    }
    return proxy;
  }

  /**
   * Object content is a function of its id, so GETs verify without keeping copies. {@code random}
   * is incompressible (as JPEG shards or encrypted blobs); {@code ml} mixes what ML storage holds:
   * half float32 weights (small values around zero: the sign/exponent bytes compress, the mantissas
   * do not), a quarter int32 token ids below 50,257 (text datasets: two of every four bytes are
   * zero) and a quarter random bytes (already-compressed media).
   */
  static void fill(byte[] buf, int size, long id, String content) {
    SplittableRandom r = new SplittableRandom(id);
    int kind = content.equals("ml") ? Math.floorMod(Long.hashCode(id * 0x9E3779B97F4A7C15L), 4) : 3;
    int i = 0;
    switch (kind) {
      case 0, 1 -> {
        for (; i + 4 <= size; i += 4) {
          INT.set(buf, i, Float.floatToRawIntBits((float) (r.nextDouble(-1, 1) * r.nextDouble() * 0.05)));
        }
      }
      case 2 -> {
        for (; i + 4 <= size; i += 4) {
          INT.set(buf, i, r.nextInt(50_257));
        }
      }
      default -> {
        for (; i + 8 <= size; i += 8) {
          LONG.set(buf, i, r.nextLong());
        }
      }
    }
    long v = r.nextLong();
    for (int k = 0; i < size; i++, k++) {
      buf[i] = (byte) (v >>> (8 * k));
    }
  }

  private static final java.lang.invoke.VarHandle LONG =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.invoke.VarHandle INT =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  record Written(String key, int size, long id) {}

  static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * CPU seconds of the live threads grouped by name (numbers stripped): where the gateway's CPU
   * goes. Threads that ended are missing; GC and JIT threads are not Java threads and show as the
   * rest of the process.
   */
  static String cpuByThreadGroup() {
    java.util.Map<String, Long> groups = new java.util.TreeMap<>();
    long sum = 0;
    for (java.lang.management.ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info == null) {
        continue;
      }
      long cpu = THREADS.getThreadCpuTime(info.getThreadId());
      if (cpu > 0) {
        groups.merge(info.getThreadName().replaceAll("[0-9]+", "#"), cpu, Long::sum);
        sum += cpu;
      }
    }
    StringBuilder b = new StringBuilder();
    groups.entrySet().stream().filter(e -> e.getValue() > 100_000_000L).sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> b.append(String.format(Locale.ROOT, "%s %.1f s, ", e.getKey(), e.getValue() / 1e9)));
    return b.append(String.format(Locale.ROOT, "rest of process (GC, JIT, ended threads) %.1f s", (processCpuNanos() - sum) / 1e9)).toString();
  }

  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** One server under load: its client, the objects written so far and the figures so far. */
  static final class Target implements AutoCloseable {
    final String name;
    final String content;
    final S3Client s3;
    final List<Written> hot = new ArrayList<>();
    final List<Written> written = new CopyOnWriteArrayList<>();
    final Histogram put = new Histogram(3);
    final Histogram get = new Histogram(3);
    final Histogram hotGet = new Histogram(3);
    final AtomicLong ops = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong mismatches = new AtomicLong();
    final AtomicLong nextId;
    final long seed;
    long nanos;
    long processCpu;
    final AtomicLong clientCpu = new AtomicLong();
    int slices;

    Target(String name, URI endpoint, long seed, String content) {
      this.name = name;
      this.seed = seed;
      this.content = content;
      this.s3 = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
          .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ID, SECRET)))
          .httpClientBuilder(ApacheHttpClient.builder().maxConnections(CLIENTS * 2)).build();
      s3.createBucket(b -> b.bucket("load"));
      s3.createBucket(b -> b.bucket(HOT_BUCKET));
      byte[] small = new byte[MIN_SIZE];
      for (int i = 0; i < HOT_OBJECTS; i++) {
        long id = seed * 1_000_003L + i;
        fill(small, MIN_SIZE, id, content);
        String key = "hot/" + i;
        s3.putObject(b -> b.bucket(HOT_BUCKET).key(key), RequestBody.fromBytes(small));
        hot.add(new Written(key, MIN_SIZE, id));
      }

      nextId = new AtomicLong(seed * 1_000_003L + HOT_OBJECTS);
    }

    /**
     * Forgets the speed figures so far (after a warm-up); errors and mismatches are kept, and
     * objects written stay readable.
     */
    void reset() {
      put.reset();
      get.reset();
      hotGet.reset();
      ops.set(0);
      bytes.set(0);
      nanos = 0;
      processCpu = 0;
      clientCpu.set(0);
    }

    Result result() {
      return new Result(name, nanos / 1e9, ops.get(), bytes.get(), errors.get(), mismatches.get(), put, get, hotGet,
          processCpu, clientCpu.get());
    }

    /** Runs the load for {@code duration}, adding to the figures. */
    void run(Duration duration) throws Exception {
      Recorder putRec = new Recorder(3);
      Recorder getRec = new Recorder(3);
      Recorder hotRec = new Recorder(3);
      int slice = slices++;
      long start = System.nanoTime();
      long cpuStart = processCpuNanos();
      long end = start + duration.toNanos();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        SplittableRandom r = new SplittableRandom(seed + 1_000L * slice + c);
        byte[] buf = CLIENT_BUFFERS.of(2 * c);
        byte[] expected = CLIENT_BUFFERS.of(2 * c + 1);
        clients.add(pool.submit(() -> {
          long threadCpu = THREADS.getCurrentThreadCpuTime();
          while (System.nanoTime() < end) {
            int dice = r.nextInt(100);
            long t0 = System.nanoTime();
            try {
              if (dice < PUT_PERCENT) {
                int size = (int) Math.round(Math.exp(Math.log(MIN_SIZE) + r.nextDouble() * (Math.log(MAX_SIZE) - Math.log(MIN_SIZE))));
                long id = nextId.getAndIncrement();
                fill(buf, size, id, content);
                String key = "obj/" + id;
                t0 = System.nanoTime();
                s3.putObject(b -> b.bucket("load").key(key), RequestBody.fromContentProvider(
                    () -> new java.io.ByteArrayInputStream(buf, 0, size), size, "application/octet-stream"));
                putRec.recordValue(System.nanoTime() - t0);
                written.add(new Written(key, size, id));
                bytes.addAndGet(size);
              } else {
                boolean isHot = dice < PUT_PERCENT + HOT_PERCENT;
                if (!isHot && written.isEmpty()) {
                  continue;
                }
                Written w = isHot ? hot.get(r.nextInt(hot.size())) : written.get(r.nextInt(written.size()));
                try (InputStream in = s3.getObject(b -> b.bucket(isHot ? HOT_BUCKET : "load").key(w.key()))) {
                  int n = in.readNBytes(buf, 0, w.size());
                  boolean more = in.read() >= 0;
                  (isHot ? hotRec : getRec).recordValue(System.nanoTime() - t0);
                  fill(expected, w.size(), w.id(), content);
                  if (n != w.size() || more || !java.util.Arrays.equals(buf, 0, n, expected, 0, n)) {
                    mismatches.incrementAndGet();
                  }
                }
                bytes.addAndGet(w.size());
              }
              ops.incrementAndGet();
            } catch (IOException | RuntimeException e) {
              if (errors.incrementAndGet() <= 5) {
                System.err.println(name + ": " + e);
              }
            }
          }
          clientCpu.addAndGet(THREADS.getCurrentThreadCpuTime() - threadCpu);
          return null;
        }));
      }
      for (Future<?> f : clients) {
        f.get();
      }
      pool.shutdown();
      nanos += System.nanoTime() - start;
      processCpu += processCpuNanos() - cpuStart;
      put.add(putRec.getIntervalHistogram());
      get.add(getRec.getIntervalHistogram());
      hotGet.add(hotRec.getIntervalHistogram());
    }

    @Override
    public void close() {
      s3.close();
    }
  }

  /**
   * The clients' 16 MiB buffers, allocated once for the whole run: the targets take turns and
   * never run at once, so they share them. Allocated per slice, they were 512 MiB of humongous
   * allocations at every slice's start, whose collector pauses (40-225 ms) stopped both servers
   * in this JVM and set the latency percentiles of whichever target ran next.
   */
  static final ClientBuffers CLIENT_BUFFERS = new ClientBuffers(2 * CLIENTS);

  static final class ClientBuffers {
    private final byte[][] buffers;

    ClientBuffers(int count) {
      buffers = new byte[count][];
    }

    synchronized byte[] of(int index) {
      if (buffers[index] == null) {
        buffers[index] = new byte[MAX_SIZE];
      }
      return buffers[index];
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var files = Files.walk(root)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

}
