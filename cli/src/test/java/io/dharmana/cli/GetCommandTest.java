package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.cli.CompressCommandTest.Run;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GetCommandTest {
  @TempDir Path dir;
  private Path repo;
  private byte[] data;

  @BeforeEach
  void putOne() {
    long seed = 5;
    data = new byte[3 << 20];
    new Random(seed).nextBytes(data);
    repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      r.put("obj", new ByteArrayInputStream(data), PutOptions.defaults());
    }
  }

  @Test
  void writesAFileAtomicallyAndLeavesNoTemporaryFile() throws Exception {
    Path out = dir.resolve("out.bin");
    Files.write(out, new byte[] {1, 2, 3});
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", out.toString(), "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(out));
    try (var files = Files.list(dir)) {
      assertEquals(0, files.filter(p -> p.getFileName().toString().startsWith(".")).count(), "a temporary file was left");
    }
    // the mode a plain create gives under this umask, not a temporary file's 0600
    Path plain = Files.write(dir.resolve("plain"), new byte[0]);
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(out));
  }

  /** A small model's state after {@code step} steps: one layer trained, one frozen. */
  static byte[] checkpoint(int step) {
    java.util.List<io.dharmana.tensor.Tensor> tensors = new java.util.ArrayList<>();
    for (int layer = 0; layer < 2; layer++) {
      Random random = new Random(layer);
      float[] w = new float[1 << 16];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian() * 0.02f;
        w[i] -= layer == 0 ? step * 1e-5f * (float) random.nextGaussian() : 0;
      }
      tensors.add(io.dharmana.tensor.Tensor.ofFloats("layer" + layer, new long[] {256, 256}, w));
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    io.dharmana.tensor.SafetensorsWriter.write(java.util.Map.of(), tensors, out);
    return out.toByteArray();
  }

  @Test
  void aCheckpointTheGatewayStoredTensorCodedReadsBackAsPut() throws Exception {
    byte[] step1 = checkpoint(1);
    byte[] step2 = checkpoint(2);
    try (Repository r = Repository.open(repo); TensorObjects tensors = new TensorObjects(r, 1 << 30)) {
      r.addPipeline(io.dharmana.descriptor.PipelineDescriptor.of("checkpoints", io.dharmana.descriptor.StorageDescriptor.builder()
          .stage("float-split", java.util.Map.of()).build()));
      PutOptions options = PutOptions.defaults().withPipeline("checkpoints");
      tensors.put("ckpt/run/step-1.safetensors", new ByteArrayInputStream(step1), options);
      ObjectInfo coded = tensors.put("ckpt/run/step-2.safetensors", new ByteArrayInputStream(step2), options);
      assertTrue(coded.attributes().containsKey(TensorObjects.BASE), "step 2 is delta-coded: " + coded.attributes());
    }
    Path out = dir.resolve("step-2.safetensors");
    Run run = CompressCommandTest.run("get", repo.toString(), "ckpt/run/step-2.safetensors", "-o", out.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(step2, Files.readAllBytes(out));
    assertTrue(run.out().contains("\"bytes\" : " + step2.length), run.out());
    Run tree = CompressCommandTest.run("get", repo.toString(), "-r", "ckpt/run/", "-o", dir.resolve("tree").toString(), "--no-progress");
    assertEquals(0, tree.exit(), tree.err());
    assertArrayEquals(step1, Files.readAllBytes(dir.resolve("tree/step-1.safetensors")));
    assertArrayEquals(step2, Files.readAllBytes(dir.resolve("tree/step-2.safetensors")));
    try (var left = Files.list(repo.resolve("cache"))) {
      assertEquals(0, left.count(), "get must remove its decoded files");
    }
  }

  /**
   * A run of steps, each delta-coded against the one before: {@code put -r} and {@code get -r}
   * share one cache of decoded files across their objects, so put decodes nothing (each put leaves
   * its input there for the next step's) and get decodes each step once. Before, each object had a
   * cache of its own: put decoded 0+1+2+3+4 files and get 1+2+3+4+5 (each step's whole chain).
   */
  @Test
  void putAndGetOfAChainOfStepsDecodeEachStepAtMostOnce() throws Exception {
    int steps = 5;
    try (Repository r = Repository.open(repo)) {
      r.addPipeline(io.dharmana.descriptor.PipelineDescriptor.of("checkpoints", io.dharmana.descriptor.StorageDescriptor.builder()
          .stage("float-split", java.util.Map.of()).build()));
    }
    Path tree = Files.createDirectories(dir.resolve("steps"));
    for (int s = 1; s <= steps; s++) {
      Files.write(tree.resolve("step-" + s + ".safetensors"), checkpoint(s));
    }
    Run put = CompressCommandTest.run("put", "-r", repo.toString(), "ckpt/run", tree.toString(), "--pipeline", "checkpoints");
    assertEquals(0, put.exit(), put.err());
    try (Repository r = Repository.open(repo)) {
      for (int s = 2; s <= steps; s++) {
        ObjectInfo info = r.stat("ckpt/run/step-" + s + ".safetensors").orElseThrow();
        assertEquals(Integer.toString(s - 1), info.attributes().get(TensorObjects.DEPTH), "step " + s + " extends the chain");
      }
      assertEquals(0, decodes(r), "put -r decodes no parent: each is the file put just before");
    }
    assertNoDecodedFilesLeft();

    Run get = CompressCommandTest.run("get", "-r", repo.toString(), "ckpt/run/", "-o", dir.resolve("back").toString(), "--no-progress");
    assertEquals(0, get.exit(), get.err());
    for (int s = 1; s <= steps; s++) {
      assertArrayEquals(checkpoint(s), Files.readAllBytes(dir.resolve("back/step-" + s + ".safetensors")), "step " + s);
    }
    try (Repository r = Repository.open(repo)) {
      assertEquals(steps, decodes(r), "get -r decodes each step once");
    }
    assertNoDecodedFilesLeft();
  }

  /** Tensor files decoded by the command last recorded in the repository's history. */
  private static long decodes(Repository r) {
    java.util.List<io.dharmana.metrics.MetricsSnapshot> runs = r.history().read();
    return runs.get(runs.size() - 1).stages().stream()
        .filter(s -> s.direction().equals("decode") && s.stage().startsWith("float-codec"))
        .mapToLong(io.dharmana.metrics.StageStats::calls).sum();
  }

  private void assertNoDecodedFilesLeft() throws Exception {
    if (Files.isDirectory(repo.resolve("cache"))) {
      try (var left = Files.list(repo.resolve("cache"))) {
        assertEquals(java.util.List.of(), left.toList(), "a command must remove its cache of decoded files");
      }
    }
  }

  @Test
  void aDirectoryGetsTheFileUnderTheNamesLastSegment() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("runs/7/shard-0.bin", new ByteArrayInputStream(data), PutOptions.defaults());
    }
    Path into = Files.createDirectories(dir.resolve("into"));
    Run run = CompressCommandTest.run("get", repo.toString(), "runs/7/shard-0.bin", "-o", into.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(into.resolve("shard-0.bin")));
    assertTrue(run.out().contains(into.resolve("shard-0.bin").toString()), "the JSON names the file written: " + run.out());
    try (var files = Files.list(into)) {
      assertEquals(1, files.count());
    }
  }

  @Test
  void recursiveReadsAPrefixIntoADirectoryByTheNamesRest() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("runs/7/a/b.bin", new ByteArrayInputStream(data), PutOptions.defaults());
      r.put("runs/7/c.txt", new ByteArrayInputStream(new byte[] {'c'}), PutOptions.defaults());
      r.put("runs/8/d.txt", new ByteArrayInputStream(new byte[] {'d'}), PutOptions.defaults());
    }
    Path into = dir.resolve("into"); // created by get
    Run run = CompressCommandTest.run("get", repo.toString(), "-r", "runs/7/", "-o", into.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(into.resolve("a/b.bin")));
    assertArrayEquals(new byte[] {'c'}, Files.readAllBytes(into.resolve("c.txt")));
    try (var files = Files.walk(into)) {
      assertEquals(2, files.filter(Files::isRegularFile).count(), "runs/8 stays out, no temporary file stays in");
    }
    assertTrue(run.out().contains("\"files\" : 2"), run.out());

    // through Main, whose exit codes these are
    java.io.StringWriter err = new java.io.StringWriter();
    assertEquals(Main.NOT_FOUND, Main.commandLine("get").setErr(new java.io.PrintWriter(err))
        .execute("get", repo.toString(), "-r", "runs/9/", "-o", into.toString()), err.toString());
    assertEquals(Main.INVALID, Main.commandLine("get").setErr(new java.io.PrintWriter(err))
        .execute("get", repo.toString(), "-r", "runs/7/"), err.toString());
    assertTrue(err.toString().contains("Cannot read runs/9/: no object's name starts with it")
        && err.toString().contains("Invalid -o for -r: missing"), err.toString());
  }

  /** `-o /dev/null` once replaced the device with a regular file; a FIFO stands in for the device here. */
  @Test
  void writesIntoADeviceOrPipeInsteadOfReplacingIt() throws Exception {
    Path fifo = dir.resolve("pipe");
    Process mkfifo;
    try {
      mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    } catch (java.io.IOException e) {
      assumeTrue(false, "mkfifo is not available: " + e.getMessage());
      return;
    }
    assumeTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo failed");
    CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
      try (InputStream in = Files.newInputStream(fifo)) {
        return in.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", fifo.toString(), "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, read.get(30, TimeUnit.SECONDS));
    assertFalse(Files.isRegularFile(fifo), "the pipe was replaced by a regular file");
    assertTrue(Files.exists(fifo));
  }
  /** Through the native-buffer path: the whole object's hash is checked, and an empty object writes an empty file. */
  @Test
  void verifiesTheOriginalAndWritesAnEmptyObject() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("empty", new ByteArrayInputStream(new byte[0]), PutOptions.defaults());
    }
    Path out = dir.resolve("verified.bin");
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", out.toString(), "--verify-original", "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(out));
    Path empty = dir.resolve("empty.bin");
    run = CompressCommandTest.run("get", repo.toString(), "empty", "-o", empty.toString(), "--verify-original", "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertEquals(0, Files.size(empty));
  }

  @Test
  void jsonSaysWhatWasWrittenAndVerified() throws Exception {
    Path out = dir.resolve("json.bin");
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", out.toString(), "--verify-original",
        "--no-progress", "--json");
    assertEquals(0, run.exit(), run.err());
    assertEquals("", run.err(), "the summary line is replaced by the JSON on standard output");
    assertArrayEquals(data, Files.readAllBytes(out));
    JsonNode json = new ObjectMapper().readTree(run.out());
    try (Repository r = Repository.open(repo)) {
      ObjectInfo info = r.stat("obj").orElseThrow();
      assertEquals("obj", json.get("name").asText());
      assertEquals(info.version(), json.get("version").asLong());
      assertEquals(r.manifest(info.manifestId()).chunks().size(), json.get("chunksVerified").asInt());
    }
    assertEquals(Files.size(out), json.get("bytes").asLong());
    assertEquals(out.toString(), json.get("output").asText());
    assertTrue(json.get("seconds").asDouble() > 0, run.out());
    assertTrue(json.get("chunksVerified").asInt() > 1, "3 MiB of random bytes is several chunks: " + run.out());
    assertTrue(json.get("originalVerified").asBoolean(), run.out());
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)), json.get("sha256").asText());
  }

  /** Without --verify-original, or for an object written without the whole-object hash, only the chunks are checked. */
  @Test
  void jsonSaysWhenOnlyTheChunksWereVerified() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("unhashed", new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults().withoutOriginalHash());
    }
    Path out = dir.resolve("chunks.bin");
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", out.toString(), "--no-progress", "--json");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertFalse(json.get("originalVerified").asBoolean(), run.out());
    assertEquals(data.length, json.get("bytes").asLong());

    run = CompressCommandTest.run("get", repo.toString(), "unhashed", "-o", out.toString(), "--verify-original",
        "--no-progress", "--json");
    assertEquals(0, run.exit(), run.err());
    json = new ObjectMapper().readTree(run.out());
    assertFalse(json.get("originalVerified").asBoolean(), "no hash was recorded to check: " + run.out());
    assertEquals("", json.get("sha256").asText());
    assertEquals(3, json.get("bytes").asLong());
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(out));
  }

  /** Without -o the object's bytes are the output: JSON there would be mixed into them, so it is refused before anything is read. */
  @Test
  void jsonWithoutAnOutputFileIsAUsageError() throws java.io.IOException {
    // a small object: were the refusal gone, its bytes would go to this JVM's standard output
    try (Repository r = Repository.open(repo)) {
      r.put("small", new ByteArrayInputStream(new byte[] {7}), PutOptions.defaults());
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.commandLine("get").setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("get", repo.toString(), "small", "--json", "--no-progress");
    assertEquals(Main.INVALID, exit, err.toString());
    assertEquals("", out.toString());
    assertTrue(err.toString().startsWith("dharmana get: Invalid --json") && err.toString().contains("-o FILE"), err.toString());
    // refused before the repository is opened: a missing one is not what the error is about
    exit = Main.commandLine("get").setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("get", dir.resolve("no-repo").toString(), "small", "--json");
    assertEquals(Main.INVALID, exit, err.toString());
    // '-o -' is standard output, as put reads '-' as standard input: before, a file named '-' was written
    Path dash = Path.of("-");
    try {
      StringWriter dashErr = new StringWriter();
      exit = Main.commandLine("get").setOut(new PrintWriter(out)).setErr(new PrintWriter(dashErr))
          .execute("get", repo.toString(), "small", "-o", "-", "--json", "--no-progress");
      assertEquals(Main.INVALID, exit, dashErr.toString());
      assertTrue(dashErr.toString().startsWith("dharmana get: Invalid --json"), dashErr.toString());
      assertFalse(Files.exists(dash), "no file named '-'");
    } finally {
      Files.deleteIfExists(dash);
    }
  }

  @Test
  void makesTheOutputsDirectoriesAsEveryOutputFileDoes() throws Exception {
    Path out = dir.resolve("a").resolve("b").resolve("obj.bin");
    Run run = CompressCommandTest.run("get", repo.toString(), "obj", "-o", out.toString(), "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(out));
    Run missing = CompressCommandTest.run("get", repo.toString(), "none", "-o", dir.resolve("c").resolve("none.bin").toString());
    assertEquals(Main.NOT_FOUND, missing.exit(), missing.err());
    assertFalse(Files.exists(dir.resolve("c")), "no directory made for an object that is not there");
  }

  /** -o ending in '/' means into that directory, made if missing; before, it wrote a file named as the directory. */
  @Test
  void anOutputEndingInASlashIsADirectoryMadeIfMissing() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("runs/7/shard-0.bin", new ByteArrayInputStream(data), PutOptions.defaults());
    }
    Path into = dir.resolve("new").resolve("sub");
    Run run = CompressCommandTest.run("get", repo.toString(), "runs/7/shard-0.bin", "-o", into + "/", "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertTrue(Files.isDirectory(into), "a directory, not a file named sub");
    assertArrayEquals(data, Files.readAllBytes(into.resolve("shard-0.bin")));
    assertTrue(run.err().contains("-> " + into.resolve("shard-0.bin")), run.err());
    Run missing = CompressCommandTest.run("get", repo.toString(), "runs/7/none", "-o", dir.resolve("gone") + "/");
    assertEquals(Main.NOT_FOUND, missing.exit(), missing.err());
    assertFalse(Files.exists(dir.resolve("gone")), "no directory made for an object that is not there");
  }
}
