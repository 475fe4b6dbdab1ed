package io.dharmana.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A repository whose only chunk tier is S3, made from a descriptor through the {@code s3} store
 * factory (credentials from the environment variables the surefire configuration sets): what is
 * put survives reopening and reads back from the bucket.
 */
class S3RepositoryTest {
  @TempDir Path dir;

  @Test
  void objectPutThroughAnS3TierReadsBackAfterReopen() throws Exception {
    Assumptions.assumeTrue(System.getenv("DHARMANA_TEST_S3_ACCESS") != null,
        "DHARMANA_TEST_S3_ACCESS is not set (the s3 module's surefire configuration sets it)");
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("repository");
    TierSpec archive = new TierSpec("archive", "s3", "s3://repository/r1", 0, 0.9, 0.7, null, "s3-standard", Map.of(
        "endpoint", server.endpoint().toString(), "pathStyle", "true",
        "accessKeyEnv", "DHARMANA_TEST_S3_ACCESS", "secretKeyEnv", "DHARMANA_TEST_S3_SECRET"));
    PipelineDescriptor pipeline = PipelineDescriptor.of("s3-archive", StorageDescriptor.builder()
        .stage("zstd", Map.of("level", "3"))
        .tier(archive)
        .placement(PlacementPolicy.defaults("archive"))
        .build());
    long seed = 91;
    byte[] data = new byte[3 << 20];
    Random random = new Random(seed);
    for (int i = 0; i < data.length; i += 64) {
      data[i] = (byte) random.nextInt(); // sparse, so zstd has something to do
    }
    Path root = dir.resolve("repo");
    try (Repository repo = Repository.init(root, pipeline)) {
      repo.put("run-7/ckpt/1200", new ByteArrayInputStream(data), PutOptions.defaults());
    }
    try (S3Client client = server.client()) {
      int objects = client.listObjectsV2(r -> r.bucket("repository").prefix("r1/")).keyCount();
      assertTrue(objects > 0, "seed " + seed + ": no chunk objects in the bucket");
    }
    try (Repository repo = Repository.open(root); InputStream in = repo.open("run-7/ckpt/1200")) {
      assertArrayEquals(data, in.readAllBytes(), "seed " + seed);
    }
  }
}
