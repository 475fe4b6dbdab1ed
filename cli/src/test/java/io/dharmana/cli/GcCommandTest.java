package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.cli.CompressCommandTest.Run;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dharmana gc}: a dry run reports what a run then deletes, and deletes nothing itself. */
class GcCommandTest {
  @TempDir Path dir;

  @Test
  void aDryRunReportsWhatTheRunDeletes() throws Exception {
    long seed = 13;
    Random random = new Random(seed);
    Path repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      for (String name : new String[] {"keep", "drop"}) {
        byte[] data = new byte[1 << 20];
        random.nextBytes(data);
        r.put(name, new ByteArrayInputStream(data), PutOptions.defaults());
      }
      r.remove("drop");
    }
    ObjectMapper json = new ObjectMapper();
    Run dry = CompressCommandTest.run(new GcCommand(), repo.toString(), "--grace", "0s", "--dry-run", "--json");
    assertEquals(0, dry.exit(), dry.err());
    JsonNode planned = json.readTree(dry.out());
    assertTrue(planned.get("dryRun").asBoolean() && planned.get("chunksDeleted").asLong() > 0, "seed " + seed + ": " + dry.out());
    Run real = CompressCommandTest.run(new GcCommand(), repo.toString(), "--grace", "0s", "--json");
    assertEquals(0, real.exit(), real.err());
    JsonNode done = json.readTree(real.out());
    assertFalse(done.get("dryRun").asBoolean(), real.out());
    assertEquals(planned.get("chunksDeleted").asLong(), done.get("chunksDeleted").asLong(), "the dry run deleted nothing: " + real.out());
    Run after = CompressCommandTest.run(new GcCommand(), repo.toString(), "--grace", "0s", "--dry-run");
    assertEquals(0, after.exit(), after.err());
    assertTrue(after.out().startsWith("gc (dry run): 0 chunks"), after.out());
  }
}
