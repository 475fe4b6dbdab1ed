package io.dharmana.s3;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.store.TierStats;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Times write-back from a local write tier to a packed S3 tier, and beside it the same bytes PUT
 * straight to the same server with the AWS SDK, so the ratio says how far the copier is from what
 * the server takes. Not a test: run by {@code bench/scripts/s3-write-back.sh}, which starts the
 * server once ({@code serve}) and runs the client modes against it, with the Dharmana classes of
 * two builds in turn.
 *
 * <ul>
 *   <li>{@code serve DIR}: S3Proxy (filesystem backend in DIR) on an ephemeral loopback port;
 *       prints {@code ENDPOINT <uri>} and serves until killed.
 *   <li>{@code dharmana ENDPOINT LABEL OBJECTS SIZE_MIB}: a fresh repository with tiers [nvme (local),
 *       bucket (S3, packed)] and placement nvme write-back; puts OBJECTS objects of SIZE_MIB
 *       seeded random bytes each, then closes it, which waits for every write-back copy and seals
 *       the S3 tier's pack. Prints the put time, the time until the copies were done, and blobs/s
 *       and MB/s over the latter.
 *   <li>{@code commands ENDPOINT LABEL PUTS SIZE_KIB}: as a command line runs, PUTS times: the
 *       repository opened, one object of SIZE_KIB put, closed; prints the median times.
 *   <li>{@code command ENDPOINT ROOT SIZE_KIB I}: one such command in this JVM (made on first use).
 *   <li>{@code sdk ENDPOINT LABEL OBJECTS SIZE_MIB THREADS}: the same objects' bytes PUT as one
 *       object each with the AWS SDK, on THREADS threads.
 * </ul>
 */
public final class WriteBackMeasurement {
  static final String BUCKET = "writeback";

  private WriteBackMeasurement() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "serve" -> serve(Path.of(args[1]));
      case "dharmana" -> dharmana(URI.create(args[1]), args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "commands" -> commands(URI.create(args[1]), args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "command" -> command(URI.create(args[1]), Path.of(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "sdk" -> sdk(URI.create(args[1]), args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          Integer.parseInt(args[5]));
      default -> throw new IllegalArgumentException("Invalid mode '" + args[0] + "': allowed are serve, dharmana, commands, command, sdk");
    }
  }

  private static void serve(Path directory) throws Exception {
    S3ProxyServer server = S3ProxyServer.start(directory);
    server.createBucket(BUCKET);
    System.out.println("ENDPOINT " + server.endpoint());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  static byte[] object(int i, int sizeMiB) {
    byte[] bytes = new byte[sizeMiB << 20];
    new Random(1000L + i).nextBytes(bytes); // incompressible, and no chunk shared between objects
    return bytes;
  }

  /** Tiers [nvme (local), bucket (S3, packed)], nvme written back, under a fresh prefix. */
  private static PipelineDescriptor pipeline(URI endpoint, String label) {
    String prefix = label + "-" + System.nanoTime();
    TierSpec nvme = TierSpec.local("nvme", "tiers/nvme");
    Map<String, String> options = new java.util.HashMap<>(Map.of("endpoint", endpoint.toString(), "pathStyle", "true",
        "accessKeyEnv", "DHARMANA_TEST_S3_ACCESS", "secretKeyEnv", "DHARMANA_TEST_S3_SECRET"));
    String packSize = System.getProperty("dharmana.measure.packSize"); // the S3 tier's, when given
    if (packSize != null) {
      options.put("packSize", packSize);
    }
    TierSpec bucket = new TierSpec("bucket", "s3", "s3://" + BUCKET + "/" + prefix, 0, 0.9, 0.7, null, "s3-standard", options);
    return PipelineDescriptor.of("wb", StorageDescriptor.builder()
        .tier(nvme).tier(bucket).placement(new PlacementPolicy("nvme", "back", true)).build());
  }

  private static void dharmana(URI endpoint, String label, int objects, int sizeMiB) throws Exception {
    List<byte[]> data = new ArrayList<>();
    for (int i = 0; i < objects; i++) {
      data.add(object(i, sizeMiB));
    }
    Path root = Files.createTempDirectory("dharmana-wb-");
    PipelineDescriptor pipeline = pipeline(endpoint, label);
    long blobs;
    long bytes;
    long t0;
    long tPut;
    long tDone;
    try (Repository repo = Repository.init(root, pipeline)) {
      repo.flush(); // the init's own blobs, if any, are not measured
      t0 = System.nanoTime();
      for (int i = 0; i < objects; i++) {
        repo.put("o" + i, new ByteArrayInputStream(data.get(i)), PutOptions.defaults());
      }
      tPut = System.nanoTime();
      TierStats write = repo.tiers().stats().get(0);
      blobs = write.objects();
      bytes = write.bytesHeld();
      repo.close(); // waits for the write-back copies and seals the S3 tier's pack
      tDone = System.nanoTime();
    }
    io.dharmana.store.Stores.deleteTreeQuietly(root, false);
    double done = (tDone - t0) / 1e9;
    System.out.printf("RESULT dharmana %s blobs=%d bytes=%d put_s=%.3f tail_s=%.3f done_s=%.3f blobs_per_s=%.0f MBps=%.1f%n",
        label, blobs, bytes, (tPut - t0) / 1e9, (tDone - tPut) / 1e9, done, blobs / done, bytes / done / 1e6);
  }

  /**
   * As a command line would: the repository opened, one object of SIZE_KIB put, closed (which
   * waits for the copies), PUTS times; prints each put's open, put and close times.
   */
  private static void commands(URI endpoint, String label, int puts, int sizeKiB) throws Exception {
    Path root = Files.createTempDirectory("dharmana-wb-");
    try (Repository repo = Repository.init(root, pipeline(endpoint, label))) {
      repo.flush();
    }
    double[] open = new double[puts];
    double[] put = new double[puts];
    double[] close = new double[puts];
    for (int i = 0; i < puts; i++) {
      double[] times = oneCommand(root, sizeKiB, i);
      open[i] = times[0];
      put[i] = times[1];
      close[i] = times[2];
    }
    io.dharmana.store.Stores.deleteTreeQuietly(root, false);
    System.out.printf("RESULT commands %s puts=%d open_s=%.4f put_s=%.4f close_s=%.4f first_close_s=%.4f last_open_s=%.4f%n",
        label, puts, median(open), median(put), median(close), close[0], open[puts - 1]);
  }

  /**
   * One command in this JVM, as {@code dharmana put} runs: the repository at ROOT opened (made on
   * first use), one object of SIZE_KIB put, closed (which waits for the copies).
   */
  private static void command(URI endpoint, Path root, int sizeKiB, int i) throws Exception {
    if (!Files.exists(root)) {
      Repository.init(root, pipeline(endpoint, "command")).close();
    }
    double[] times = oneCommand(root, sizeKiB, i);
    System.out.printf("RESULT command %d open_s=%.3f put_s=%.3f close_s=%.3f%n", i, times[0], times[1], times[2]);
  }

  /** Opens the repository at ROOT, puts object I of SIZE_KIB, closes it; returns the three times in seconds. */
  private static double[] oneCommand(Path root, int sizeKiB, int i) throws Exception {
    byte[] bytes = new byte[sizeKiB << 10];
    new Random(2000L + i).nextBytes(bytes);
    long t0 = System.nanoTime();
    Repository repo = Repository.open(root);
    long t1 = System.nanoTime();
    repo.put("o" + i, new ByteArrayInputStream(bytes), PutOptions.defaults());
    long t2 = System.nanoTime();
    repo.close();
    long t3 = System.nanoTime();
    return new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9};
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static void sdk(URI endpoint, String label, int objects, int sizeMiB, int threads) throws Exception {
    List<byte[]> data = new ArrayList<>();
    for (int i = 0; i < objects; i++) {
      data.add(object(i, sizeMiB));
    }
    String prefix = label + "-" + System.nanoTime();
    try (S3Client client = client(endpoint)) {
      client.putObject(r -> r.bucket(BUCKET).key(prefix + "/warm"), RequestBody.fromBytes(new byte[1]));
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long t0 = System.nanoTime();
      List<Future<?>> puts = new ArrayList<>();
      for (int i = 0; i < objects; i++) {
        int n = i;
        puts.add(pool.submit(() -> client.putObject(r -> r.bucket(BUCKET).key(prefix + "/o" + n),
            RequestBody.fromBytes(data.get(n)))));
      }
      for (Future<?> put : puts) {
        put.get();
      }
      long t1 = System.nanoTime();
      pool.shutdown();
      double s = (t1 - t0) / 1e9;
      long bytes = (long) objects * (sizeMiB << 20);
      System.out.printf("RESULT sdk %s objects=%d bytes=%d threads=%d done_s=%.3f MBps=%.1f%n",
          label, objects, bytes, threads, s, bytes / s / 1e6);
    }
  }

  private static S3Client client(URI endpoint) {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
        .httpClient(software.amazon.awssdk.http.apache5.Apache5HttpClient.create())
        .build();
  }
}
