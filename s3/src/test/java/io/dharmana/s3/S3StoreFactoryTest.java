package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.StoreFactory;
import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class S3StoreFactoryTest {
  private static final Map<String, String> ENV =
      Map.of("TEST_S3_ACCESS", S3ProxyServer.ACCESS_KEY, "TEST_S3_SECRET", S3ProxyServer.SECRET_KEY);

  private static TierSpec tier(String location, Map<String, String> options) {
    return new TierSpec("archive", "s3", location, 0, 0.9, 0.7, null, null, options);
  }

  @Test
  void factoryIsFoundByKind() {
    assertTrue(ServiceLoader.load(StoreFactory.class).stream()
        .anyMatch(p -> p.get().kind().equals("s3") && p.type() == S3StoreFactory.class));
  }

  @Test
  void tierSpecMakesAWorkingStore(@TempDir Path dir) throws Exception {
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("tiers");
    {
      TierSpec spec = tier("s3://tiers/repo/", Map.of(
          "endpoint", server.endpoint().toString(), "region", "eu-west-1", "pathStyle", "true",
          "accessKeyEnv", "TEST_S3_ACCESS", "secretKeyEnv", "TEST_S3_SECRET", "partSize", "8MiB", "parallelism", "3"));
      try (BlobStore store = new S3StoreFactory(ENV::get).create(spec, dir, true)) {
        store.write("chunks/x", new byte[] {4, 2});
        assertArrayEquals(new byte[] {4, 2}, store.read("chunks/x"));
        S3Store s3 = (S3Store) store;
        assertEquals(new S3Location("tiers", "repo"), s3.location());
        assertEquals(8L << 20, s3.options().partSize());
        assertEquals(3, s3.options().parallelism());
      }
    }
  }

  @Test
  void exampleDescriptorWithAnS3TierLoadsAndConfiguresTheStore() {
    Path root = Path.of("").toAbsolutePath();
    while (root != null && !java.nio.file.Files.isRegularFile(root.resolve("examples/checkpoints-s3.yaml"))) {
      root = root.getParent();
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(root != null, "examples/checkpoints-s3.yaml not found above " + Path.of("").toAbsolutePath());
    TierSpec bucket = io.dharmana.descriptor.Descriptors.load(root.resolve("examples/checkpoints-s3.yaml"))
        .storage().tiers().stream().filter(t -> t.kind().equals("s3")).findFirst().orElseThrow();
    S3StoreFactory factory = new S3StoreFactory(Map.of("DHARMANA_S3_ACCESS_KEY", "a", "DHARMANA_S3_SECRET_KEY", "s")::get);
    assertEquals(new S3Location("ml-checkpoints", "finetune-7"), S3StoreFactory.location(bucket));
    S3StoreOptions options = factory.options(bucket);
    assertEquals(java.net.URI.create("http://127.0.0.1:9000"), options.endpoint());
    assertTrue(options.pathStyle());
    assertEquals("a", options.accessKey());
    assertEquals(16L << 20, options.partSize());
    assertEquals(8, options.parallelism());
  }

  @Test
  void anS3TierTakesThePackingOptionsOfEveryTier(@TempDir Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("DHARMANA_TEST_S3_ACCESS") != null,
        "DHARMANA_TEST_S3_ACCESS is not set (the s3 module's surefire configuration sets it)");
    long seed = 19_003;
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("packing");
    Map<String, String> reach = Map.of("endpoint", server.endpoint().toString(), "pathStyle", "true",
        "accessKeyEnv", "DHARMANA_TEST_S3_ACCESS", "secretKeyEnv", "DHARMANA_TEST_S3_SECRET");
    java.util.Random random = new java.util.Random(seed);
    byte[] blob = new byte[600 << 10];
    // 1 MiB packs: four 600 KiB blobs fill two (64 MiB ones, the default, would take them all)
    try (BlobStore store = io.dharmana.store.Stores.forTier(tier("s3://packing/small", with(reach, "packSize", "1MiB")), dir, true)) {
      for (int i = 0; i < 4; i++) {
        random.nextBytes(blob);
        store.write("chunks/" + i, blob);
      }
      ((java.io.Flushable) store).flush();
    }
    try (var client = server.client()) {
      long packs = client.listObjectsV2(r -> r.bucket("packing").prefix("small/packs/")).contents().stream()
          .filter(o -> o.key().endsWith(".pack")).count();
      assertEquals(2, packs, "seed " + seed);
    }
    try (BlobStore store = io.dharmana.store.Stores.forTier(tier("s3://packing/unpacked", with(reach, "pack", "false")), dir, true)) {
      assertTrue(store instanceof S3Store, store.toString());
    }
  }

  /**
   * An open of an S3 tier reads the pack indexes it has local copies of from those copies: shown
   * by overwriting every index in the bucket with bytes of the same size, which an open that read
   * them would refuse. Prints how long opens take with and without the copies.
   */
  @Test
  void anS3TiersPackIndexesAreReadFromLocalCopies(@TempDir Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("DHARMANA_TEST_S3_ACCESS") != null,
        "DHARMANA_TEST_S3_ACCESS is not set (the s3 module's surefire configuration sets it)");
    long seed = 20_017;
    int packs = 200;
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("indexes");
    TierSpec spec = tier("s3://indexes/r1", Map.of("endpoint", server.endpoint().toString(), "pathStyle", "true",
        "accessKeyEnv", "DHARMANA_TEST_S3_ACCESS", "secretKeyEnv", "DHARMANA_TEST_S3_SECRET"));
    java.util.Random random = new java.util.Random(seed);
    java.util.List<byte[]> blobs = new java.util.ArrayList<>();
    try (BlobStore store = io.dharmana.store.Stores.forTier(spec, dir, true)) {
      for (int i = 0; i < packs; i++) {
        byte[] blob = new byte[100 + random.nextInt(2000)];
        random.nextBytes(blob);
        blobs.add(blob);
        store.write("chunks/" + i, blob);
        ((java.io.Flushable) store).flush(); // seals a pack: one pack and one index per flush
      }
    }
    Path copies = dir.resolve("cache/pack-indexes/archive");
    try (var listed = java.nio.file.Files.list(copies)) {
      assertEquals(packs, listed.count(), "a copy of each index written");
    }
    // side by side: an open reading every index from the bucket (copies moved away), then one with them
    Path away = dir.resolve("copies-away");
    long[] nanos = new long[2];
    for (int round = 0; round < 3; round++) {
      java.nio.file.Files.move(copies, away);
      nanos[0] += timedOpen(spec, dir, blobs.get(0));
      io.dharmana.store.Stores.deleteTreeQuietly(copies, false); // what that open copied
      java.nio.file.Files.move(away, copies);
      nanos[1] += timedOpen(spec, dir, blobs.get(0));
    }
    System.out.printf("open of an S3 tier with %d packs on S3Proxy (loopback), 3 rounds: indexes read from the bucket %.0f ms,"
        + " from local copies %.0f ms (%.2fx)%n", packs, nanos[0] / 3e6, nanos[1] / 3e6, (double) nanos[0] / nanos[1]);
    try (var client = server.client()) {
      for (var o : client.listObjectsV2(r -> r.bucket("indexes").prefix("r1/packs/")).contents()) {
        if (o.key().endsWith(".idx")) {
          client.putObject(r -> r.bucket("indexes").key(o.key()),
              software.amazon.awssdk.core.sync.RequestBody.fromBytes(new byte[o.size().intValue()]));
        }
      }
    }
    try (BlobStore store = io.dharmana.store.Stores.forTier(spec, dir, true)) {
      for (int i = 0; i < packs; i++) {
        assertArrayEquals(blobs.get(i), store.read("chunks/" + i), "seed " + seed + ", blob " + i);
      }
    }
    io.dharmana.store.Stores.deleteTreeQuietly(copies, false);
    var e = assertThrows(io.dharmana.CorruptDataException.class, () -> io.dharmana.store.Stores.forTier(spec, dir, true).close());
    assertTrue(e.getMessage().contains("Cannot load pack index"), e.getMessage());
  }

  private static long timedOpen(TierSpec spec, Path dir, byte[] first) throws Exception {
    long t0 = System.nanoTime();
    try (BlobStore store = io.dharmana.store.Stores.forTier(spec, dir, true)) {
      assertArrayEquals(first, store.read("chunks/0"));
    }
    return System.nanoTime() - t0;
  }

  private static Map<String, String> with(Map<String, String> options, String name, String value) {
    Map<String, String> all = new java.util.HashMap<>(options);
    all.put(name, value);
    return all;
  }

  @Test
  void badTierSpecsNameTheField() {
    S3StoreFactory factory = new S3StoreFactory(ENV::get);
    var e = assertThrows(InvalidDescriptorException.class, () -> factory.create(tier(null, Map.of()), Path.of("."), true));
    assertTrue(e.getMessage().contains("storage.tiers[archive].location"), e.getMessage());
    e = assertThrows(InvalidDescriptorException.class, () -> factory.create(tier("s3://Bad_Bucket/x", Map.of()), Path.of("."), true));
    assertTrue(e.getMessage().contains("Bad_Bucket"), e.getMessage());
    e = assertThrows(InvalidDescriptorException.class, () -> factory.create(tier("s3://ok-bucket", Map.of("endpiont", "x")), Path.of("."), true));
    assertTrue(e.getMessage().contains("endpiont") && e.getMessage().contains("endpoint"), e.getMessage());
    e = assertThrows(InvalidDescriptorException.class,
        () -> factory.create(tier("s3://ok-bucket", Map.of("accessKeyEnv", "NOPE", "secretKeyEnv", "NOPE2")), Path.of("."), true));
    assertTrue(e.getMessage().contains("NOPE"), e.getMessage());
    e = assertThrows(InvalidDescriptorException.class, () -> factory.create(tier("s3://ok-bucket", Map.of("partSize", "lots")), Path.of("."), true));
    assertTrue(e.getMessage().contains("lots"), e.getMessage());
    e = assertThrows(InvalidDescriptorException.class, () -> factory.create(tier("s3://ok-bucket", Map.of("pathStyle", "yes")), Path.of("."), true));
    assertTrue(e.getMessage().contains("yes"), e.getMessage());
  }
}
