package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@code dharmana checkpoint save} keeps a run's steps under {@code checkpoints/RUN/...}, where a
 * gateway bucket named {@code checkpoints} keeps its keys too: clients neither see nor change the
 * runs' objects, so emptying the bucket leaves the runs whole, and the bucket's own keys that look
 * like a run's are no run's.
 */
class GatewayCheckpointRunsTest {
  private static final String ID = "AKIDCHECKPOINTRUNS01";
  private static final String SECRET = "checkpoint-runs-test-secret-0000000000";

  @TempDir Path dir;
  Repository repository;
  Gateway gateway;
  S3Client s3;

  @BeforeEach
  void start() {
    repository = Repository.init(dir.resolve("repo"), Repository.defaultPipeline());
    gateway = Gateway.builder(new RepositoryBackend(repository), dir.resolve("repo/gateway")).port(0)
        .accessKeys(AccessKeys.of(new AccessKeys.AccessKey(ID, SECRET))).start();
    s3 = S3Client.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ID, SECRET))).build();
    s3.createBucket(b -> b.bucket("checkpoints"));
  }

  @AfterEach
  void stop() {
    s3.close();
    gateway.close();
    repository.close();
  }

  private List<Tensor> state(long seed) {
    Random random = new Random(seed);
    float[] w = new float[4096];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    return List.of(Tensor.ofFloats("w", new long[] {w.length}, w));
  }

  private List<Long> steps() {
    try (CheckpointManager m = CheckpointManager.open(repository, "gpt")) {
      return m.listAll().stream().map(CheckpointInfo::step).toList();
    }
  }

  @Test
  void aBucketNamedCheckpointsNeitherShowsNorChangesTheRuns() {
    try (CheckpointManager m = CheckpointManager.open(repository, "gpt")) {
      m.save(1, state(1), Map.of()).join();
      m.save(2, state(2), Map.of()).join();
    }
    s3.putObject(b -> b.bucket("checkpoints").key("gpt/steps/3/model.safetensors"), RequestBody.fromString("not a run's"));
    s3.putObject(b -> b.bucket("checkpoints").key("notes.txt"), RequestBody.fromString("hello"));

    List<String> keys = s3.listObjectsV2Paginator(b -> b.bucket("checkpoints")).contents().stream().map(S3Object::key).toList();
    assertEquals(List.of("gpt/steps/3/model.safetensors", "notes.txt"), keys);
    String stepKey = "gpt/steps/00000000000000000001";
    S3Exception denied = assertThrows(S3Exception.class, () -> s3.deleteObject(b -> b.bucket("checkpoints").key(stepKey)));
    assertEquals(403, denied.statusCode());
    assertTrue(denied.awsErrorDetails().errorMessage().contains("checkpoint runs"), denied.awsErrorDetails().errorMessage());
    assertEquals(403, assertThrows(S3Exception.class,
        () -> s3.putObject(b -> b.bucket("checkpoints").key(stepKey), RequestBody.fromString("{}"))).statusCode());
    assertEquals(403, assertThrows(S3Exception.class, () -> s3.getObject(b -> b.bucket("checkpoints").key(stepKey))).statusCode());
    var batch = s3.deleteObjects(b -> b.bucket("checkpoints").delete(d -> d.objects(
        ObjectIdentifier.builder().key(stepKey).build(), ObjectIdentifier.builder().key("gpt/shards/00000000000000000002/00000").build())));
    assertEquals(2, batch.errors().size(), batch.toString());

    // what `aws s3 rm --recursive s3://checkpoints` does, then the bucket goes
    for (String key : keys) {
      s3.deleteObject(b -> b.bucket("checkpoints").key(key));
    }
    s3.deleteBucket(b -> b.bucket("checkpoints"));
    assertEquals(List.of(1L, 2L), steps());
  }
}
