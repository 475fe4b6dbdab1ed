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

  @TempDir Path dir;


  record Result(String target, double seconds, long ops, long bytes, long errors, long mismatches,
      Histogram put, Histogram get, Histogram hotGet) {
    double mbPerSecond() {
      return bytes / seconds / 1e6;
    }

    String describe() {
      return String.format(Locale.ROOT,
          "%-9s %6d ops %8.1f MB/s  errors %d  mismatches %d%n"
              + "          PUT  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET  p50 %7.2f ms p99 %8.2f ms (n=%d)%n"
              + "          GET 4 KiB hot p50 %6.2f ms p99 %6.2f ms (n=%d)",
          target, ops, mbPerSecond(), errors, mismatches,
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

    Result gateway;
    try (Repository repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
        Gateway g = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0)
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET))).start()) {
      gateway = run("gateway", g.endpoint(), duration, seed);
    }
    deleteTree(dir.resolve("repo"));
    Result s3proxy;
    S3Proxy proxy = startS3Proxy(dir.resolve("s3proxy"));
    try {
      s3proxy = run("s3proxy", URI.create("http://127.0.0.1:" + proxy.getPort()), duration, seed);
    } finally {
      proxy.stop();
    }
    System.out.println("load seed " + seed + ", " + CLIENTS + " clients, " + duration.toSeconds() + " s each");
    System.out.println(gateway.describe());
    System.out.println(s3proxy.describe());
    System.out.printf(Locale.ROOT, "throughput ratio gateway/s3proxy: %.2f (goal >= 1.5); gateway 4 KiB hot GET p99 %.2f ms (goal < 5)%n",
        gateway.mbPerSecond() / s3proxy.mbPerSecond(), Result.ms(gateway.hotGet(), 99));
    assertEquals(0, gateway.errors(), "seed " + seed + ": gateway errors");
    assertEquals(0, gateway.mismatches(), "seed " + seed + ": gateway returned other bytes");
    assertEquals(0, s3proxy.errors() + s3proxy.mismatches(), "seed " + seed + ": s3proxy errors");
    assertTrue(gateway.ops() > 0, "seed " + seed);
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

  /** Object content is a function of its id, so GETs verify without keeping copies. */
  static void fill(byte[] buf, int size, long id) {
    SplittableRandom r = new SplittableRandom(id);
    int i = 0;
    for (; i + 8 <= size; i += 8) {
      long v = r.nextLong();
      for (int k = 0; k < 8; k++) {
        buf[i + k] = (byte) (v >>> (8 * k));
      }
    }
    long v = r.nextLong();
    for (int k = 0; i < size; i++, k++) {
      buf[i] = (byte) (v >>> (8 * k));
    }
  }

  record Written(String key, int size, long id) {}

  static Result run(String target, URI endpoint, Duration duration, long seed) throws Exception {
    S3Client s3 = S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ID, SECRET)))
        .httpClientBuilder(ApacheHttpClient.builder().maxConnections(CLIENTS * 2)).build();
    try {
      s3.createBucket(b -> b.bucket("load"));
      List<Written> hot = new ArrayList<>();
      byte[] small = new byte[MIN_SIZE];
      for (int i = 0; i < HOT_OBJECTS; i++) {
        long id = seed * 1_000_003L + i;
        fill(small, MIN_SIZE, id);
        String key = "hot/" + i;
        s3.putObject(b -> b.bucket("load").key(key), RequestBody.fromBytes(small));
        hot.add(new Written(key, MIN_SIZE, id));
      }
      List<Written> written = new CopyOnWriteArrayList<>(hot);
      Recorder put = new Recorder(3);
      Recorder get = new Recorder(3);
      Recorder hotGet = new Recorder(3);
      AtomicLong ops = new AtomicLong();
      AtomicLong bytes = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      AtomicLong mismatches = new AtomicLong();
      AtomicLong nextId = new AtomicLong(seed * 1_000_003L + HOT_OBJECTS);
      long start = System.nanoTime();
      long end = start + duration.toNanos();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        SplittableRandom r = new SplittableRandom(seed + c);
        clients.add(pool.submit(() -> {
          byte[] buf = new byte[MAX_SIZE];
          byte[] expected = new byte[MAX_SIZE];
          while (System.nanoTime() < end) {
            int dice = r.nextInt(100);
            long t0 = System.nanoTime();
            try {
              if (dice < 35) {
                int size = (int) Math.round(Math.exp(Math.log(MIN_SIZE) + r.nextDouble() * (Math.log(MAX_SIZE) - Math.log(MIN_SIZE))));
                long id = nextId.getAndIncrement();
                fill(buf, size, id);
                String key = "obj/" + id;
                t0 = System.nanoTime();
                s3.putObject(b -> b.bucket("load").key(key), RequestBody.fromContentProvider(
                    () -> new java.io.ByteArrayInputStream(buf, 0, size), size, "application/octet-stream"));
                put.recordValue(System.nanoTime() - t0);
                written.add(new Written(key, size, id));
                bytes.addAndGet(size);
              } else {
                boolean isHot = dice < 60;
                Written w = isHot ? hot.get(r.nextInt(hot.size())) : written.get(r.nextInt(written.size()));
                try (InputStream in = s3.getObject(b -> b.bucket("load").key(w.key()))) {
                  int n = in.readNBytes(buf, 0, w.size());
                  boolean more = in.read() >= 0;
                  (isHot ? hotGet : get).recordValue(System.nanoTime() - t0);
                  fill(expected, w.size(), w.id());
                  if (n != w.size() || more || !java.util.Arrays.equals(buf, 0, n, expected, 0, n)) {
                    mismatches.incrementAndGet();
                  }
                }
                bytes.addAndGet(w.size());
              }
              ops.incrementAndGet();
            } catch (IOException | RuntimeException e) {
              if (errors.incrementAndGet() <= 5) {
                System.err.println(target + ": " + e);
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : clients) {
        f.get();
      }
      pool.shutdown();
      double seconds = (System.nanoTime() - start) / 1e9;
      return new Result(target, seconds, ops.get(), bytes.get(), errors.get(), mismatches.get(),
          put.getIntervalHistogram(), get.getIntervalHistogram(), hotGet.getIntervalHistogram());
    } finally {
      s3.close();
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
