package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint command end to end: the sample corpus's w_step2000, w_step2010, w_step2200 and
 * w_finetune saved as steps 1-4 of one run, listed as JSON (per-step and total stored bytes),
 * restored byte-identical, verified, diffed and pruned.
 */
class CheckpointCommandTest {
  @TempDir Path tmp;

  static Path corpus() {
    String env = System.getenv("DHARMANA_CORPUS");
    if (env != null && Files.isDirectory(Paths.get(env))) {
      return Paths.get(env);
    }
    for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolveSibling("shared").resolve("corpus");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  private CompressCommandTest.Run checkpoint(String... args) {
    return CompressCommandTest.run("checkpoint", args);
  }

  @Test
  void corpusStepsDedupAndDeltaAndRestoreByteIdentical() throws Exception {
    Path corpus = corpus();
    assumeTrue(corpus != null && Files.isDirectory(corpus.resolve("checkpoints")),
        "corpus not found: set DHARMANA_CORPUS or place shared/corpus beside the repository");
    Path repo = tmp.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    String[] files = {"w_step2000.safetensors", "w_step2010.safetensors", "w_step2200.safetensors", "w_finetune.safetensors"};
    for (int i = 0; i < files.length; i++) {
      CompressCommandTest.Run save = checkpoint("save", repo.toString(), "--run", "gpt", "--step", Integer.toString(i + 1),
          "--meta", "loss=" + (2.0 - i * 0.1), corpus.resolve("checkpoints").resolve(files[i]).toString());
      assertEquals(0, save.exit(), save.err());
      System.out.print(save.out());
    }
    CompressCommandTest.Run list = checkpoint("list", repo.toString(), "--run", "gpt", "--json");
    assertEquals(0, list.exit(), list.err());
    System.out.println(list.out());
    JsonNode json = new ObjectMapper().readTree(list.out());
    assertEquals(4, json.get("latest").asLong());
    JsonNode steps = json.get("steps");
    assertEquals(4, steps.size());
    for (JsonNode s : steps) {
      assertTrue(s.get("complete").asBoolean());
      assertTrue(s.get("durability").asText().length() > 0);
      System.out.printf(Locale.ROOT, "step %d: %d logical, %d stored (%.1f%%)%n", s.get("step").asLong(),
          s.get("logicalBytes").asLong(), s.get("storedBytes").asLong(),
          100.0 * s.get("storedBytes").asLong() / s.get("logicalBytes").asLong());
    }
    System.out.printf("total: %d stored, %d unique%n", json.get("totalStoredBytes").asLong(), json.get("uniqueStoredBytes").asLong());
    long raw = Files.size(corpus.resolve("checkpoints").resolve("w_finetune.safetensors"));
    long fineTune = steps.get(3).get("storedBytes").asLong();
    assertTrue(fineTune <= 0.40 * raw, "the fine-tune added " + fineTune + " bytes, more than 40% of its " + raw + " raw bytes");

    for (int i = 0; i < files.length; i++) {
      Path out = tmp.resolve("restore-" + (i + 1));
      CompressCommandTest.Run restore = checkpoint("restore", repo.toString(), "--run", "gpt", "--step", Integer.toString(i + 1),
          "--out", out.toString());
      assertEquals(0, restore.exit(), restore.err());
      assertArrayEquals(Files.readAllBytes(corpus.resolve("checkpoints").resolve(files[i])), Files.readAllBytes(out.resolve(files[i])),
          "step " + (i + 1) + " does not restore byte-identical to " + files[i]);
    }
    CompressCommandTest.Run latest = checkpoint("restore", repo.toString(), "--run", "gpt", "--out", tmp.resolve("latest").toString());
    assertEquals(0, latest.exit(), latest.err());
    assertTrue(Files.exists(tmp.resolve("latest").resolve("w_finetune.safetensors")));

    CompressCommandTest.Run verify = checkpoint("verify", repo.toString(), "--run", "gpt");
    assertEquals(0, verify.exit(), verify.err());
    CompressCommandTest.Run diff = checkpoint("diff", repo.toString(), "--run", "gpt", "--from", "1", "--to", "4");
    assertEquals(0, diff.exit(), diff.err());
    System.out.print(diff.out());
    assertTrue(diff.out().contains("same"), "frozen layers are unchanged from step 1 to the fine-tune");

    CompressCommandTest.Run dry = checkpoint("prune", repo.toString(), "--run", "gpt", "--keep-last", "1", "--keep-best", "1",
        "--metric", "loss", "--dry-run", "--json");
    assertEquals(0, dry.exit(), dry.err());
    CompressCommandTest.Run prune = checkpoint("prune", repo.toString(), "--run", "gpt", "--keep-last", "1");
    assertEquals(0, prune.exit(), prune.err());
    System.out.print(prune.out());
    CompressCommandTest.Run again = checkpoint("prune", repo.toString(), "--run", "gpt");
    assertEquals(0, again.exit(), "the stored policy applies: " + again.err());
    assertEquals(0, CompressCommandTest.run("gc", repo.toString(), "--grace", "0s").exit());
    Path out = tmp.resolve("after-gc");
    assertEquals(0, checkpoint("restore", repo.toString(), "--run", "gpt", "--out", out.toString()).exit());
    assertArrayEquals(Files.readAllBytes(corpus.resolve("checkpoints").resolve(files[3])), Files.readAllBytes(out.resolve(files[3])));
  }

  /** restore and verify print what a script needs as JSON, on checkpoints the test makes itself. */
  @Test
  void restoreAndVerifyPrintJson() throws Exception {
    Path repo = tmp.resolve("json-repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    Path[] saved = {CompressCommandTest.checkpoint(tmp, "model.safetensors", 21, 0),
        CompressCommandTest.checkpoint(Files.createDirectories(tmp.resolve("b")), "model.safetensors", 21, 1e-3f)};
    for (int i = 0; i < saved.length; i++) {
      CompressCommandTest.Run save = checkpoint("save", repo.toString(), "--run", "r", "--step", Integer.toString(i + 1), saved[i].toString());
      assertEquals(0, save.exit(), save.err());
    }
    Path out = tmp.resolve("restored");
    CompressCommandTest.Run restore = checkpoint("restore", repo.toString(), "--run", "r", "--step", "1", "--out", out.toString(), "--json");
    assertEquals(0, restore.exit(), restore.err());
    JsonNode r = new ObjectMapper().readTree(restore.out());
    assertEquals("r", r.get("run").asText());
    assertEquals(1, r.get("step").asLong());
    assertEquals(0, r.get("rank").asInt());
    assertEquals(1, r.get("files").size(), restore.out());
    JsonNode file = r.get("files").get(0);
    assertEquals(out.resolve("model.safetensors").toString(), file.get("path").asText());
    assertEquals(Files.size(saved[0]), file.get("bytes").asLong());
    assertArrayEquals(Files.readAllBytes(saved[0]), Files.readAllBytes(out.resolve("model.safetensors")));

    CompressCommandTest.Run verify = checkpoint("verify", repo.toString(), "--run", "r", "--json");
    assertEquals(0, verify.exit(), verify.err());
    JsonNode v = new ObjectMapper().readTree(verify.out());
    assertEquals("r", v.get("run").asText());
    assertEquals(2, v.get("steps").size(), verify.out());
    long tensors = 0;
    for (int i = 0; i < 2; i++) {
      assertEquals(i + 1, v.get("steps").get(i).get("step").asLong());
      assertTrue(v.get("steps").get(i).get("tensors").asInt() > 0, verify.out());
      tensors += v.get("steps").get(i).get("tensors").asInt();
    }
    assertEquals(tensors, v.get("tensors").asLong());

    // saves and restores are runs in the history: stat lists them, report analyzes them
    try (io.dharmana.repo.Repository r2 = io.dharmana.repo.Repository.open(repo)) {
      java.util.List<String> runs = r2.history().read().stream().map(io.dharmana.metrics.MetricsSnapshot::operation).toList();
      assertEquals(java.util.List.of("checkpoint save r@1", "checkpoint save r@2", "checkpoint restore r@1"), runs);
      var save = r2.history().read().get(1);
      assertTrue(save.stages().stream().anyMatch(st -> st.stage().equals("float-codec-delta") && st.bytesIn() > 0), save.toString());
    }
    CompressCommandTest.Run stat = CompressCommandTest.run("stat", repo.toString());
    assertTrue(stat.out().contains("checkpoint restore r@1"), stat.out());
  }

  @Test
  void saveAndRestoreShowProgressWhenAskedFor() throws Exception {
    Path repo = tmp.resolve("bar-repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    Path model = CompressCommandTest.checkpoint(tmp, "model.safetensors", 3, 0);
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream bar = new java.io.ByteArrayOutputStream();
    try {
      System.setErr(new java.io.PrintStream(bar, true, java.nio.charset.StandardCharsets.UTF_8));
      assertEquals(0, checkpoint("save", repo.toString(), "--run", "r", "--step", "1", model.toString(), "--progress").exit());
      assertEquals(0, checkpoint("restore", repo.toString(), "--run", "r", "--out", tmp.resolve("o").toString(), "--progress").exit());
      String shown = bar.toString(java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(shown.contains("save r@1 100%") && shown.contains("restore r@1 100%"), shown);
      bar.reset();
      assertEquals(0, checkpoint("save", repo.toString(), "--run", "r", "--step", "2", model.toString()).exit());
      assertEquals(0, checkpoint("restore", repo.toString(), "--run", "r", "--out", tmp.resolve("q").toString(), "--no-progress").exit());
      assertEquals("", bar.toString(java.nio.charset.StandardCharsets.UTF_8), "no bar unless asked for, off a terminal");
    } finally {
      System.setErr(stderr);
    }
    assertArrayEquals(Files.readAllBytes(model), Files.readAllBytes(tmp.resolve("o").resolve("model.safetensors")));
  }

  /** A new repository at {@code repo} whose run r has step 1: a small model (seeded), which it returns. */
  private Path oneStep(Path repo, long seed) {
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    Path model = CompressCommandTest.checkpoint(tmp, "model.safetensors", seed, 0);
    assertEquals(0, checkpoint("save", repo.toString(), "--run", "r", "--step", "1", model.toString()).exit());
    return model;
  }

  /** verify says once which step, tensor and chunk is damaged, and counts in the singular where it is one. */
  @Test
  void verifyNamesTheDamagedStepTensorAndChunkOnce() throws Exception {
    Path repo = tmp.resolve("damaged");
    Path model = oneStep(repo, 7);
    CompressCommandTest.Run ok = checkpoint("verify", repo.toString(), "--run", "r");
    assertEquals(0, ok.exit(), ok.err());
    assertTrue(ok.out().contains("verified 1 step, "), ok.out());
    Path pack;
    try (java.util.stream.Stream<Path> files = Files.walk(repo.resolve("tiers"))) {
      pack = files.filter(p -> p.toString().endsWith(".pack")).max(java.util.Comparator.comparingLong(p -> p.toFile().length()))
          .orElseThrow();
    }
    byte[] stored = Files.readAllBytes(pack);
    stored[stored.length / 3] ^= 0x10; // inside the tensors' chunks, which come before their manifests
    pack.toFile().setWritable(true);
    Files.write(pack, stored);
    CompressCommandTest.Run damaged = checkpoint("verify", repo.toString(), "--run", "r");
    assertTrue(damaged.exit() != Main.OK, damaged.out());
    assertTrue(damaged.err().contains("Cannot verify checkpoint r@1: tensor "), damaged.err());
    String message = damaged.err().lines().filter(l -> l.contains("Cannot verify")).findFirst().orElseThrow();
    assertTrue(message.contains(": chunk "), message);
    assertFalse(message.contains("Cannot read checkpoint") || message.contains("Cannot restore"), "wrapped twice: " + message);
  }

  @Test
  void restoreOfAMissingStepIsNotFound() {
    Path repo = tmp.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    CompressCommandTest.Run r = checkpoint("restore", repo.toString(), "--run", "none", "--out", tmp.resolve("o").toString());
    assertTrue(r.exit() != Main.OK && r.err().contains("Cannot find a complete checkpoint in run none"), r.err());
  }

  /** The table says when each step was saved, to the second; --json to the millisecond. Before, --json had nanoseconds. */
  @Test
  void listShowsCreatedToTheSecondAndToTheMillisecondInJson() throws Exception {
    Path repo = tmp.resolve("times-repo");
    oneStep(repo, 5);
    CompressCommandTest.Run table = checkpoint("list", repo.toString(), "--run", "r");
    assertEquals(0, table.exit(), table.err());
    java.util.List<String> lines = table.out().lines().toList();
    assertTrue(lines.get(0).endsWith(" CREATED"), table.out());
    assertTrue(lines.get(1).matches(".* \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"), table.out());
    CompressCommandTest.Run json = checkpoint("list", repo.toString(), "--run", "r", "--json");
    assertEquals(0, json.exit(), json.err());
    String created = new ObjectMapper().readTree(json.out()).get("steps").get(0).get("created").asText();
    assertTrue(created.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), created);
  }
}
