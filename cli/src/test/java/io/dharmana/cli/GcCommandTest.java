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

  /** A repository of two random MiB objects, one of them removed: its chunks are gc's to delete. */
  private Path keepOneDropOne(long seed) {
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
    return repo;
  }

  @Test
  void aDryRunReportsWhatTheRunDeletes() throws Exception {
    long seed = 13;
    Path repo = keepOneDropOne(seed);
    ObjectMapper json = new ObjectMapper();
    Run dry = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--dry-run", "--json");
    assertEquals(0, dry.exit(), dry.err());
    JsonNode planned = json.readTree(dry.out());
    assertTrue(planned.get("dryRun").asBoolean() && planned.get("chunksDeleted").asLong() > 0, "seed " + seed + ": " + dry.out());
    Run real = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--json");
    assertEquals(0, real.exit(), real.err());
    JsonNode done = json.readTree(real.out());
    assertFalse(done.get("dryRun").asBoolean(), real.out());
    assertEquals(planned.get("chunksDeleted").asLong(), done.get("chunksDeleted").asLong(), "the dry run deleted nothing: " + real.out());
    Run after = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--dry-run");
    assertEquals(0, after.exit(), after.err());
    assertTrue(after.out().startsWith("gc (dry run): 0 chunks"), after.out());
  }

  /** --progress draws the mark and sweep on stderr only: the JSON on stdout is the same as without. */
  @Test
  void progressGoesToStderrAndLeavesTheOutputAlone() throws Exception {
    long seed = 29;
    Path repo = keepOneDropOne(seed);
    ObjectMapper json = new ObjectMapper();
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream bar = new java.io.ByteArrayOutputStream();
    try {
      System.setErr(new java.io.PrintStream(bar, true, java.nio.charset.StandardCharsets.UTF_8));
      Run quiet = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--dry-run", "--json");
      assertEquals(0, quiet.exit(), quiet.err());
      assertEquals("", bar.toString(java.nio.charset.StandardCharsets.UTF_8), "no bar unless asked for, off a terminal");
      Run shown = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--dry-run", "--json", "--progress");
      assertEquals(0, shown.exit(), shown.err());
      String drawn = bar.toString(java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(drawn.contains("gc mark 100%") && drawn.contains("gc sweep 100%"), drawn);
      assertTrue(drawn.indexOf("gc mark") < drawn.indexOf("gc sweep"), "the mark's bar first: " + drawn);
      JsonNode without = json.readTree(quiet.out());
      JsonNode with = json.readTree(shown.out());
      assertEquals(without, with, "seed " + seed + ": the same JSON with a bar as without");
      bar.reset();
      Run text = CompressCommandTest.run("gc", repo.toString(), "--grace", "0s", "--no-progress");
      assertEquals(0, text.exit(), text.err());
      assertEquals("", bar.toString(java.nio.charset.StandardCharsets.UTF_8));
      // one object is left: the count is singular
      assertTrue(text.out().contains(" of 1 live manifest;") || text.out().matches("(?s).* of 1 live manifest\\R"), text.out());
    } finally {
      System.setErr(stderr);
    }
  }

  @Test
  void aDryRunSaysHowManySmallPacksTheRunMerges() throws Exception {
    Path repo = dir.resolve("repo");
    Random random = new Random(10);
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      for (int i = 0; i < 10; i++) { // each put seals a small pack of its own
        byte[] data = new byte[3000];
        random.nextBytes(data);
        r.put("small/" + i, new ByteArrayInputStream(data), PutOptions.defaults());
      }
    }
    Run dry = CompressCommandTest.run("gc", repo.toString(), "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    assertTrue(dry.out().contains("; would merge 10 small packs"), dry.out());
    Run real = CompressCommandTest.run("gc", repo.toString());
    assertEquals(0, real.exit(), real.err());
    assertTrue(real.out().contains("; merged 10 small packs"), real.out());
    Run again = CompressCommandTest.run("gc", repo.toString(), "--dry-run", "--json");
    assertEquals(0, new ObjectMapper().readTree(again.out()).get("smallPacksMerged").asInt(), again.out());
  }
}
