package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gc keeps manifests (and their chunks) that only an included-by chain reaches, whatever their age. */
class GcIncludesTest {
  @TempDir Path dir;

  @Test
  void manifestsReachedOnlyThroughIncludesSurviveGc() throws Exception {
    long seed = 17;
    byte[] data = new byte[200_000];
    new Random(seed).nextBytes(data);
    String partId;
    try (Repository r = Repository.init(dir, PipelineDescriptor.of("p", StorageDescriptor.of(List.of())))) {
      Repository.StoredObject part = r.write(new ByteArrayInputStream(data), PutOptions.defaults());
      Repository.StoredObject middle = r.write(new ByteArrayInputStream(new byte[] {1}), PutOptions.defaults()
          .withIncludes(List.of(part.manifestId())));
      r.put("whole", new ByteArrayInputStream(new byte[] {2}), PutOptions.defaults().withIncludes(List.of(middle.manifestId())));
      partId = part.manifestId();
    }
    Thread.sleep(20);
    try (Repository r = Repository.open(dir)) {
      r.gc(Duration.ZERO);
    }
    try (Repository r = Repository.open(dir); InputStream in = r.open(r.manifest(partId), "part")) {
      assertArrayEquals(data, in.readAllBytes(), "seed " + seed + ": an included part did not survive gc");
    }
  }
}
