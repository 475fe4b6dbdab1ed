package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.descriptor.CacheSpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Read-ahead across ranged GETs (ReadAhead), through a real gateway, repository and AWS SDK v2
 * client, configured per pipeline from the descriptors' storage.cache as {@code dharmana serve}
 * does.
 */
class GatewayReadAheadTest {
  private static final int MIB = 1 << 20;
  @TempDir Path dir;
  Repository repository;
  Gateway gateway;
  S3Client s3;

  @AfterEach
  void stop() {
    if (s3 != null) {
      s3.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (repository != null) {
      repository.close();
    }
  }

  /**
   * A gateway over a fresh repository with buckets "data" (the default pipeline, default cache
   * settings) and "small" (a pipeline whose read-ahead may hold {@code smallMemory} bytes);
   * {@code wrap} may put a fault-injecting backend between the gateway and the repository.
   */
  void start(long smallMemory, java.util.function.UnaryOperator<ObjectBackend> wrap) {
    repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
    StorageDescriptor s = repository.descriptor().storage();
    repository.addPipeline(PipelineDescriptor.of("small", new StorageDescriptor(s.chunking(), s.stages(), s.tiers(), s.placement(),
        new CacheSpec(8, 2, smallMemory), s.consistency())));
    repository.addPipeline(PipelineDescriptor.of("off", new StorageDescriptor(s.chunking(), s.stages(), s.tiers(), s.placement(),
        new CacheSpec(8, 2, 0), s.consistency())));
    gateway = Gateway.builder(wrap.apply(new RepositoryBackend(repository)), dir.resolve("repo/gateway")).port(0)
        .bind("data", repository.descriptor().name()).bind("small", "small").bind("off", "off")
        .readAhead(p -> repository.pipeline(p).map(d -> d.storage().cache()))
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey("readahead", "readahead-secret"))).start();
    s3 = S3Client.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("readahead", "readahead-secret")))
        .forcePathStyle(true).build();
  }

  static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  byte[] get(String bucket, String key, long from, long length) {
    return s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=" + from + "-" + (from + length - 1))).asByteArray();
  }

  /** Reads {@code data} as the object {@code bucket/key} in ranges of {@code range} bytes, in order, comparing each. */
  void readSequentially(String bucket, String key, byte[] data, int range) {
    for (int from = 0; from < data.length; from += range) {
      int n = Math.min(range, data.length - from);
      assertArrayEquals(Arrays.copyOfRange(data, from, from + n), get(bucket, key, from, n), key + " at " + from);
    }
  }

  String scrape() throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(gateway.endpoint() + "/metrics").toURL().openConnection();
    try (InputStream in = c.getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** A read-ahead figure of a pipeline from /metrics, as the Prometheus text gives it. */
  double metric(String name, String pipeline) throws IOException {
    String text = scrape();
    Matcher m = Pattern.compile("(?m)^dharmana_gateway_readahead_" + name + "\\{[^}]*pipeline=\"" + Pattern.quote(pipeline)
        + "\"[^}]*\\} (\\S+)").matcher(text);
    assertTrue(m.find(), "no dharmana_gateway_readahead_" + name + " of pipeline " + pipeline + " in /metrics:\n" + text);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void sequentialRangedReadsAreServedFromReadAhead() throws Exception {
    start(64L * MIB, b -> b);
    byte[] data = random(11, 24 * MIB + 12345);
    s3.putObject(b -> b.bucket("data").key("shard-0"), RequestBody.fromBytes(data));
    int range = MIB;
    readSequentially("data", "shard-0", data, range);
    int ranges = (data.length + range - 1) / range;
    double hits = metric("hits_total", "default");
    double misses = metric("misses_total", "default");
    // the first range starts no sequence and the second finds nothing read ahead yet; of the rest,
    // one can miss only when its read-ahead had not started when it was asked for
    assertEquals(ranges - 1, hits + misses, "every range after the first continues the sequence");
    assertTrue(hits >= ranges / 2, "hits " + hits + " of " + ranges + " ranges");
    assertTrue(metric("served_bytes_total", "default") >= (hits - 1) * range, "bytes served from read-ahead (the last range is short)");
    assertEquals(0, metric("fallbacks_total", "default"));
    // a whole-object GET and a pipeline with memory 0 are not read ahead
    assertArrayEquals(data, s3.getObjectAsBytes(b -> b.bucket("data").key("shard-0")).asByteArray());
    s3.putObject(b -> b.bucket("off").key("shard-0"), RequestBody.fromBytes(data));
    readSequentially("off", "shard-0", data, range);
    assertEquals(hits, metric("hits_total", "default"));
    assertTrue(scrape().lines().noneMatch(l -> l.startsWith("dharmana_gateway_readahead_") && l.contains("pipeline=\"off\"")),
        "no read-ahead for a pipeline with memory 0");
  }

  /**
   * Tensor-coded {@code .safetensors} objects are served from the backend's cache of decoded files
   * on disk: read-ahead leaves them alone (before, it held a second copy of their ranges in memory).
   * An object of the same pipeline stored as it came is still read ahead.
   */
  @Test
  void tensorCodedObjectsServedFromDecodedFilesAreNotReadAhead() throws Exception {
    start(64L * MIB, b -> b);
    repository.addPipeline(PipelineDescriptor.of("floats", StorageDescriptor.builder().stage("float-split", java.util.Map.of()).build()));
    s3.createBucket(b -> b.bucket("floats"));
    byte[] step1 = GatewayTensorObjectsTest.checkpoint(7, 1);
    byte[] step2 = GatewayTensorObjectsTest.checkpoint(7, 2);
    s3.putObject(b -> b.bucket("floats").key("run/step-1.safetensors"), RequestBody.fromBytes(step1));
    s3.putObject(b -> b.bucket("floats").key("run/step-2.safetensors"), RequestBody.fromBytes(step2));
    StoredObject coded;
    try (RepositoryBackend backend = new RepositoryBackend(repository)) {
      coded = backend.stat("floats/run/step-2.safetensors").orElseThrow();
    }
    assertEquals(StoredObject.Reads.FROM_LOCAL_FILE, coded.reads(), "stored tensor-coded, in pipeline " + coded.pipeline());
    readSequentially("floats", "run/step-2.safetensors", step2, MIB);
    readSequentially("floats", "run/step-1.safetensors", step1, MIB);
    String pipeline = "pipeline=\"" + coded.pipeline() + "\"";
    assertTrue(scrape().lines().noneMatch(l -> l.startsWith("dharmana_gateway_readahead_") && l.contains(pipeline)),
        "no read-ahead of tensor-coded objects:\n" + scrape());
    assertEquals("floats", coded.pipeline(), "named by the pipeline it was put to");
    // the same bucket's objects stored as they came (not safetensors) are read ahead as before
    byte[] plain = random(71, 8 * MIB);
    s3.putObject(b -> b.bucket("floats").key("plain.bin"), RequestBody.fromBytes(plain));
    readSequentially("floats", "plain.bin", plain, MIB);
    assertTrue(metric("read_bytes_total", "floats") > 0, "read ahead in pipeline floats");
  }

  @Test
  void rangesInRandomOrderAndInterleavedSequencesAreCorrect() throws Exception {
    start(64L * MIB, b -> b);
    long seed = 23;
    Random r = new Random(seed);
    byte[] a = random(seed, 9 * MIB + 7);
    byte[] b = random(seed + 1, 5 * MIB + 3);
    s3.putObject(p -> p.bucket("data").key("a"), RequestBody.fromBytes(a));
    s3.putObject(p -> p.bucket("data").key("b"), RequestBody.fromBytes(b));
    // two readers of a and one of b, interleaved, with different range lengths; then random ranges
    long[] next = {0, 3 * MIB, 0};
    int[] lengths = {MIB, 700_000, 512 * 1024};
    byte[][] objects = {a, a, b};
    String[] keys = {"a", "a", "b"};
    for (int step = 0; step < 40; step++) {
      int i = r.nextInt(3);
      byte[] data = objects[i];
      if (next[i] >= data.length) {
        continue;
      }
      int from = (int) next[i];
      int n = Math.min(lengths[i], data.length - from);
      assertArrayEquals(Arrays.copyOfRange(data, from, from + n), get("data", keys[i], from, n), "seed " + seed + " step " + step);
      next[i] += n;
    }
    for (int step = 0; step < 60; step++) {
      byte[] data = r.nextBoolean() ? a : b;
      String key = data == a ? "a" : "b";
      int from = r.nextInt(data.length);
      int n = 1 + r.nextInt(Math.min(2 * MIB, data.length - from));
      assertArrayEquals(Arrays.copyOfRange(data, from, from + n), get("data", key, from, n), "seed " + seed + " random " + step);
    }
    assertTrue(metric("hits_total", "default") > 0, "the interleaved sequences were read ahead");
  }

  @Test
  void anObjectOverwrittenMidSequenceNeverMixesVersions() throws Exception {
    start(64L * MIB, b -> b);
    byte[] v1 = random(31, 12 * MIB);
    byte[] v2 = random(32, 12 * MIB);
    s3.putObject(b -> b.bucket("data").key("shard"), RequestBody.fromBytes(v1));
    for (int i = 0; i < 4; i++) { // read-ahead of v1's next ranges is under way or done
      assertArrayEquals(Arrays.copyOfRange(v1, i * MIB, (i + 1) * MIB), get("data", "shard", (long) i * MIB, MIB));
    }
    double hitsOfV1 = metric("hits_total", "default");
    s3.putObject(b -> b.bucket("data").key("shard"), RequestBody.fromBytes(v2));
    for (int i = 4; i < 12; i++) {
      assertArrayEquals(Arrays.copyOfRange(v2, i * MIB, (i + 1) * MIB), get("data", "shard", (long) i * MIB, MIB), "range " + i);
    }
    // v2's own sequence (from range 5 on) was read ahead, and served
    assertTrue(metric("hits_total", "default") > hitsOfV1, "v2's sequence served from read-ahead");
  }

  @Test
  void memoryIsBoundedAcrossConcurrentReaders() throws Exception {
    start(4L * MIB, b -> b);
    int readers = 3;
    List<byte[]> objects = new ArrayList<>();
    for (int i = 0; i < readers; i++) {
      byte[] data = random(40 + i, 10 * MIB);
      objects.add(data);
      String key = "shard-" + i;
      s3.putObject(b -> b.bucket("small").key(key), RequestBody.fromBytes(data));
    }
    ExecutorService clients = Executors.newFixedThreadPool(readers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < readers; i++) {
        int n = i;
        done.add(clients.submit(() -> readSequentially("small", "shard-" + n, objects.get(n), 512 * 1024)));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      clients.shutdownNow();
    }
    double peak = metric("peak_bytes", "small");
    assertTrue(peak > 0 && peak <= 4L * MIB, "peak " + peak + " within the pipeline's 4 MiB");
    assertTrue(metric("hits_total", "small") > 0);
    // a range longer than half the memory is not read ahead: it would leave no room for the next
    double hits = metric("hits_total", "small");
    double read = metric("read_bytes_total", "small");
    readSequentially("small", "shard-0", objects.get(0), 3 * MIB);
    assertEquals(hits, metric("hits_total", "small"));
    assertEquals(read, metric("read_bytes_total", "small"));
  }

  @Test
  void aFailingBackgroundReadFallsBackToThePipeline() throws Exception {
    // the repository's reads fail on the read-ahead threads only: every GET must still be served, from the pipeline
    start(64L * MIB, backend -> new FailingOnThreads(backend, "dharmana-gateway-read-ahead-"));
    byte[] data = random(51, 8 * MIB + 1);
    s3.putObject(b -> b.bucket("data").key("shard"), RequestBody.fromBytes(data));
    readSequentially("data", "shard", data, MIB);
    assertEquals(0, metric("hits_total", "default"));
    assertTrue(metric("fallbacks_total", "default") + metric("misses_total", "default") >= 7, "every range after the first");
    assertTrue(metric("fallbacks_total", "default") > 0, "some ranges waited on a read-ahead that failed");
  }

  @Test
  void readersThatWentAwayAreDropped() throws Exception {
    repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
    RepositoryBackend backend = new RepositoryBackend(repository);
    long[] now = {0};
    List<ReadAhead.Stats> stats = new ArrayList<>();
    try (ReadAhead readAhead = new ReadAhead(backend, p -> Optional.of(new CacheSpec(4, 1, 64L * MIB)), () -> now[0])) {
      readAhead.onPipeline((p, s) -> stats.add(s));
      byte[] data = random(61, 8 * MIB);
      StoredObject a = readAhead.put("a", new java.io.ByteArrayInputStream(data), PutRequest.unconditional(null, java.util.Map.of()));
      StoredObject b = readAhead.put("b", new java.io.ByteArrayInputStream(data), PutRequest.unconditional(null, java.util.Map.of()));
      readAhead.open(a, 0, MIB).close();
      readAhead.open(a, MIB, MIB).close(); // a sequence: one range ahead reserved (more as it is served)
      assertEquals(MIB, stats.get(0).heldBytes);
      for (int wait = 0; wait < 6000 && stats.get(0).readBytes.sum() < MIB; wait++) {
        Thread.sleep(10); // until it was read: one not yet started is read by the asking request itself
      }
      readAhead.open(a, 2 * MIB, MIB).close(); // served from it: two ahead now
      assertEquals(2L * MIB, stats.get(0).heldBytes);
      now[0] += ReadAhead.IDLE_NANOS;
      readAhead.open(b, 0, MIB).close(); // a's reader went away: its ranges are dropped
      assertEquals(0, stats.get(0).heldBytes);
      try (InputStream in = readAhead.open(a, 3 * MIB, MIB)) {
        assertArrayEquals(Arrays.copyOfRange(data, 3 * MIB, 4 * MIB), in.readAllBytes());
      }
    }
  }

  /** Fault injection: the backend's reads fail on threads whose name starts with a prefix. */
  static final class FailingOnThreads extends ForwardingObjectBackend {
    private final String threadPrefix;

    FailingOnThreads(ObjectBackend backend, String threadPrefix) {
      super(backend);
      this.threadPrefix = threadPrefix;
    }

    @Override
    public InputStream open(StoredObject object, long offset, long length) {
      if (Thread.currentThread().getName().startsWith(threadPrefix)) {
        throw new CorruptDataException("Cannot read " + object.name() + ": injected fault on " + Thread.currentThread().getName());
      }
      return super.open(object, offset, length);
    }
  }
}
