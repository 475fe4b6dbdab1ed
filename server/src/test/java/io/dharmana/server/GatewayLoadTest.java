package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.ConsistencySpec;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.gaul.s3proxy.S3Proxy;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load of {@link LoadGenerator} with the gateway and S3Proxy (filesystem backend, same disk)
 * in this JVM, beside the clients: a quick in-process check. The measurements of issue 7 come
 * from server/scripts/load-test.sh, which runs each server in its own JVM, since here the
 * clients' garbage and CPU pause and slow the servers.
 *
 * <p>Runs only when asked: {@code -Ddharmana.load.seconds=60}. It asserts zero errors and zero
 * mismatches, never speed; speed is reported.
 */
class GatewayLoadTest {
  @TempDir Path dir;

  @Test
  void mixedLoadAgainstGatewayAndS3Proxy() throws Exception {
    String secondsProperty = System.getProperty("dharmana.load.seconds");
    Assumptions.assumeTrue(secondsProperty != null, "load test runs only with -Ddharmana.load.seconds=N");
    long seed = Long.getLong("dharmana.load.seed", System.nanoTime());
    Duration duration = Duration.ofSeconds(Long.parseLong(secondsProperty));
    String content = System.getProperty("dharmana.load.content", "random");
    int rounds = Integer.getInteger("dharmana.load.rounds", 2);
    boolean withProxy = !"gateway".equals(System.getProperty("dharmana.load.targets"));

    S3Proxy proxy = withProxy ? LoadGenerator.startS3Proxy(dir.resolve("s3proxy"), 0) : null;
    PipelineDescriptor pipeline = pipeline(System.getProperty("dharmana.load.pipeline", "default"),
        Boolean.parseBoolean(System.getProperty("dharmana.load.fsync", "true")));
    try (Repository repository = Repository.init(dir.resolve("repo"), pipeline);
        Gateway g = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0)
            .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(LoadGenerator.ID, LoadGenerator.SECRET))).start();
        LoadGenerator.Target gateway = new LoadGenerator.Target("gateway", g.endpoint(), LoadGenerator.ID, LoadGenerator.SECRET,
            seed, content, null);
        LoadGenerator.Target s3proxy = withProxy ? new LoadGenerator.Target("s3proxy", URI.create("http://127.0.0.1:" + proxy.getPort()),
            LoadGenerator.ID, LoadGenerator.SECRET, seed, content, null) : null) {
      LoadGenerator.alternate(s3proxy == null ? List.of(gateway) : List.of(gateway, s3proxy), Duration.ofSeconds(Long.getLong("dharmana.load.warmup", 5)), duration, rounds);
      System.out.println("load seed " + seed + ", " + LoadGenerator.CLIENTS + " clients, content " + content + ", gateway pipeline "
          + pipeline.storage().chunking() + " " + pipeline.storage().stages() + " fsync " + pipeline.storage().consistency().fsync()
          + ", " + duration.toSeconds() + " s each in " + rounds + " alternating slices, in one JVM");
      System.out.println(gateway.result().describe());
      for (io.dharmana.metrics.StageStats st : repository.metrics("default").snapshot("load").stages()) {
        System.out.printf(Locale.ROOT, "          step %-16s %-6s %8.2f s  %8.1f MB in  %6.2f ms/MB%n", st.stage(), st.direction(),
            st.seconds(), st.bytesIn() / 1e6, st.seconds() * 1e3 / Math.max(1e-9, st.bytesIn() / 1e6));
      }
      System.out.println("          gateway-side (request handling only, last minute): "
          + LoadGenerator.serverSide(g.endpoint(), LoadGenerator.HOT_BUCKET) + "; " + LoadGenerator.serverSide(g.endpoint(), "load"));
      LoadGenerator.report(gateway, s3proxy);
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
}
