package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.SupportsListing;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A repository with a local tier written back to an S3 tier, used while the S3 endpoint is down
 * (a real S3Proxy stopped, then started again on the same port and objects): what the local tier
 * holds stays readable and writable, what only S3 holds fails naming the tier, and once the
 * endpoint answers again the same repository copies what waited and reads from S3 again.
 */
class S3TierOutageTest {
  private static final TierSpec NVME = TierSpec.local("nvme", "tiers/nvme");

  @TempDir Path dir;

  @BeforeEach
  void requireKeys() {
    Assumptions.assumeTrue(System.getenv("DHARMANA_TEST_S3_ACCESS") != null,
        "DHARMANA_TEST_S3_ACCESS is not set (the s3 module's surefire configuration sets it)");
  }

  private static PipelineDescriptor pipeline(int port) {
    return pipeline(port, NVME);
  }

  private static PipelineDescriptor pipeline(int port, TierSpec nvme) {
    TierSpec bucket = new TierSpec("bucket", "s3", "s3://outage/r1", 0, 0.9, 0.7, null, "s3-standard", Map.of(
        "endpoint", "http://127.0.0.1:" + port, "pathStyle", "true",
        "accessKeyEnv", "DHARMANA_TEST_S3_ACCESS", "secretKeyEnv", "DHARMANA_TEST_S3_SECRET"));
    return PipelineDescriptor.of("outage", StorageDescriptor.builder()
        .tier(nvme)
        .tier(bucket)
        .placement(new PlacementPolicy("nvme", "back", true))
        .build());
  }

  @Test
  void localTierStaysUsableWhileS3IsDownAndWriteBackCatchesUpWhenItIsBack() throws Exception {
    long seed = 20261124;
    Random random = new Random(seed);
    byte[] older = bytes(random, 3 << 20);
    byte[] newer = bytes(random, 3 << 20);
    Path objects = dir.resolve("s3");
    int port = freePort();
    Path root = dir.resolve("repo");
    S3ProxyServer server = S3ProxyServer.start(objects, port);
    try {
      server.createBucket("outage");
      try (Repository repo = Repository.init(root, pipeline(port))) {
        repo.put("older", new ByteArrayInputStream(older), PutOptions.defaults());
        repo.flush();
      }
      // as demotion would leave it: the chunks only on S3, the manifest still local
      evictLocalChunks(root);
      server.stop();

      try (Repository repo = Repository.open(root)) {
        repo.put("newer", new ByteArrayInputStream(newer), PutOptions.defaults());
        try (Stream<ObjectInfo> listed = repo.list("")) {
          assertEquals(List.of("newer", "older"), listed.map(ObjectInfo::name).toList(), "seed " + seed);
        }
        assertEquals(older.length, repo.stat("older").orElseThrow().size());
        assertArrayEquals(newer, readAll(repo, "newer"), "seed " + seed);
        assertReadFailsNamingTheS3Tier(repo, "older");
        UncheckedIOException pending = assertThrows(UncheckedIOException.class, repo::flush);
        assertTrue(pending.getMessage().contains("could not be copied from tier nvme to tier bucket"), pending.getMessage());

        server = S3ProxyServer.start(objects, port);
        flushOnceReachable(repo);
        assertArrayEquals(older, readAll(repo, "older"), "seed " + seed);
      }

      // the copies that waited are on S3: read with nothing left on the local tier
      evictLocalChunks(root);
      try (Repository repo = Repository.open(root)) {
        assertArrayEquals(newer, readAll(repo, "newer"), "seed " + seed);
        assertArrayEquals(older, readAll(repo, "older"), "seed " + seed);
      }
    } finally {
      server.stop();
    }
  }

  @Test
  void copiesAProcessLeftUndoneWhileS3WasDownAreMadeByTheNextOne() throws Exception {
    long seed = 20261125;
    byte[] data = bytes(new Random(seed), 2 << 20);
    Path objects = dir.resolve("s3");
    int port = freePort();
    Path root = dir.resolve("repo");
    S3ProxyServer server = S3ProxyServer.start(objects, port);
    try {
      server.createBucket("outage");
      Repository.init(root, pipeline(port)).close();
      server.stop();
      try (Repository repo = Repository.open(root)) {
        repo.put("written-while-down", new ByteArrayInputStream(data), PutOptions.defaults());
      } // closes with the copies undone: they are remembered only in that process

      server = S3ProxyServer.start(objects, port);
      try (Repository repo = Repository.open(root)) {
        repo.tiers().maintain();
        repo.flush();
      }
      evictLocalChunks(root);
      try (Repository repo = Repository.open(root)) {
        assertArrayEquals(data, readAll(repo, "written-while-down"), "seed " + seed);
      }
    } finally {
      server.stop();
    }
  }

  /**
   * Demotion by age moves every chunk to S3 but no manifest, and a manifest an older version
   * demoted comes back up on the first maintenance pass: with S3 down, listing and stat answer
   * from the local tier alone, a locally held object reads, and one whose chunks only S3 holds
   * fails naming the tier.
   */
  @Test
  void manifestsStayOnTheWriteTierSoListingWorksWhileS3IsDown() throws Exception {
    long seed = 20261126;
    Random random = new Random(seed);
    byte[] older = bytes(random, 2 << 20);
    byte[] demotedBefore = bytes(random, 1 << 20);
    byte[] newer = bytes(random, 1 << 20);
    Path objects = dir.resolve("s3");
    int port = freePort();
    Path root = dir.resolve("repo");
    TierSpec agingNvme = TierSpec.builder("nvme", "local").location("tiers/nvme").maxAge(Duration.ofMillis(1)).build();
    S3ProxyServer server = S3ProxyServer.start(objects, port);
    try {
      server.createBucket("outage");
      String demotedManifest;
      try (Repository repo = Repository.init(root, pipeline(port, agingNvme))) {
        repo.put("older", new ByteArrayInputStream(older), PutOptions.defaults());
        demotedManifest = repo.put("demoted-before", new ByteArrayInputStream(demotedBefore), PutOptions.defaults())
            .manifestId();
        repo.flush();
      }
      // as a version that demoted manifests left it: one manifest only on S3
      try (BlobStore local = Stores.forTier(agingNvme, root, true)) {
        assertTrue(local.delete("manifests/" + demotedManifest.substring(0, 2) + "/" + demotedManifest));
      }
      Thread.sleep(2); // everything is older than maxAge now
      try (Repository repo = Repository.open(root)) {
        repo.tiers().maintain();
      }
      try (BlobStore local = Stores.forTier(agingNvme, root, true);
          Stream<BlobInfo> left = ((SupportsListing) local).list("")) {
        List<String> keys = left.map(BlobInfo::key).toList();
        assertTrue(keys.stream().noneMatch(k -> k.startsWith("chunks/")), keys.toString());
        assertEquals(2, keys.stream().filter(k -> k.startsWith("manifests/")).count(), keys.toString());
      }
      server.stop();

      try (Repository repo = Repository.open(root)) {
        repo.put("newer", new ByteArrayInputStream(newer), PutOptions.defaults());
        try (Stream<ObjectInfo> listed = repo.list("")) {
          assertEquals(List.of("demoted-before", "newer", "older"), listed.map(ObjectInfo::name).toList(), "seed " + seed);
        }
        assertEquals(older.length, repo.stat("older").orElseThrow().size());
        assertEquals(demotedBefore.length, repo.stat("demoted-before").orElseThrow().size());
        assertArrayEquals(newer, readAll(repo, "newer"), "seed " + seed);
        assertReadFailsNamingTheS3Tier(repo, "older");
        // the repository's stats (dharmana stat) come from the manifests and say which tier they leave out
        io.dharmana.repo.RepositoryStats stats = repo.stats();
        assertEquals(3, stats.objects());
        assertEquals(older.length + demotedBefore.length + newer.length, stats.logicalBytes());
        assertEquals(List.of("bucket"), stats.unlistedTiers());
      }
    } finally {
      server.stop();
    }
  }

  /**
   * A process that closes with copies undone records it in meta/uncopied; the next one that
   * writes, however short (open, one small put, close: no maintenance pass), copies them, and
   * then no record is left.
   */
  @Test
  void aShortWritingCommandMakesTheCopiesAnEarlierProcessLeftUndone() throws Exception {
    long seed = 20261127;
    Random random = new Random(seed);
    byte[] whileDown = bytes(random, 2 << 20);
    byte[] small = bytes(random, 1000);
    Path objects = dir.resolve("s3");
    int port = freePort();
    Path root = dir.resolve("repo");
    Path records = root.resolve("meta").resolve("uncopied");
    S3ProxyServer server = S3ProxyServer.start(objects, port);
    try {
      server.createBucket("outage");
      Repository.init(root, pipeline(port)).close();
      server.stop();
      try (Repository repo = Repository.open(root)) {
        repo.put("written-while-down", new ByteArrayInputStream(whileDown), PutOptions.defaults());
      }
      assertEquals(1, fileCount(records));

      server = S3ProxyServer.start(objects, port);
      try (Repository repo = Repository.open(root)) {
        repo.get("written-while-down", OutputStream.nullOutputStream(), ProgressListener.NONE);
      }
      assertEquals(1, fileCount(records), "a command that only reads leaves the copies to a writer");
      try (Repository repo = Repository.open(root)) {
        repo.put("small", new ByteArrayInputStream(small), PutOptions.defaults());
      }
      assertEquals(0, fileCount(records));
      List<String> local = keys(NVME, root);
      List<String> onS3 = keys(pipeline(port).storage().tiers().get(1), root);
      assertTrue(onS3.containsAll(local), "not on S3: " + local.stream().filter(k -> !onS3.contains(k)).toList());
      evictLocalChunks(root);
      try (Repository repo = Repository.open(root)) {
        assertArrayEquals(whileDown, readAll(repo, "written-while-down"), "seed " + seed);
        assertArrayEquals(small, readAll(repo, "small"), "seed " + seed);
      }
    } finally {
      server.stop();
    }
  }

  private static List<String> keys(TierSpec tier, Path root) {
    try (BlobStore store = Stores.forTier(tier, root, true);
        Stream<BlobInfo> blobs = ((SupportsListing) store).list("")) {
      return blobs.map(BlobInfo::key).toList();
    }
  }

  private static long fileCount(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.count();
    }
  }

  @Test
  void initAgainstAnUnreachableTierFailsAndLeavesNoRepository() throws Exception {
    Path root = dir.resolve("repo");
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Repository.init(root, pipeline(freePort())));
    assertTrue(e.getMessage().startsWith("Cannot open tier bucket (s3://outage/r1): "), e.getMessage());
    assertFalse(Files.exists(root.resolve(Repository.DESCRIPTOR_FILE)));
  }

  /** Flushes until the S3 tier has been opened again (its back-off passed) and took the copies. */
  private static void flushOnceReachable(Repository repo) throws InterruptedException {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (true) {
      try {
        repo.flush();
        return;
      } catch (UncheckedIOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(250);
      }
    }
  }

  private static void evictLocalChunks(Path root) {
    try (BlobStore local = Stores.forTier(NVME, root, true)) {
      List<String> keys;
      try (Stream<BlobInfo> chunks = ((SupportsListing) local).list("chunks/")) {
        keys = chunks.map(BlobInfo::key).toList();
      }
      assertFalse(keys.isEmpty(), "no chunks on the local tier");
      keys.forEach(local::delete);
    }
  }

  private static byte[] bytes(Random random, int length) {
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    return bytes;
  }

  private static void assertReadFailsNamingTheS3Tier(Repository repo, String name) {
    Exception onlyOnS3 = assertThrows(Exception.class, () -> readAll(repo, name));
    assertTrue(messages(onlyOnS3).contains("tier bucket (s3://outage/r1)"), messages(onlyOnS3));
  }

  private static byte[] readAll(Repository repo, String name) throws Exception {
    try (InputStream in = repo.open(name)) {
      return in.readAllBytes();
    }
  }

  private static String messages(Throwable t) {
    StringBuilder all = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      all.append(c).append(" | ");
    }
    return all.toString();
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
