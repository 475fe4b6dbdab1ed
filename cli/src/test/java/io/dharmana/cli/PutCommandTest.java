package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PutCommandTest {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  /** Through Main's command line, with {@code stdin} as standard input, typed at a terminal or not. */
  private static Run run(InputStream stdin, boolean terminal, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine("put").setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
    PutCommand put = cli.getSubcommands().get("put").getCommand();
    put.stdin = stdin;
    put.stdinIsTerminal = terminal;
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private Path repository() {
    Path repo = dir.resolve("repo");
    Repository.init(repo, Repository.defaultPipeline()).close();
    return repo;
  }

  private static byte[] read(Path repo, String name) throws Exception {
    try (Repository r = Repository.open(repo)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      r.get(name, bytes, ProgressListener.NONE);
      return bytes.toByteArray();
    }
  }

  @Test
  void safetensorsIntoAFloatCodingPipelineAreDeltaCodedAndListedAsPut() throws Exception {
    Path repo = repository();
    try (Repository r = Repository.open(repo)) {
      r.addPipeline(io.dharmana.descriptor.PipelineDescriptor.of("floats", io.dharmana.descriptor.StorageDescriptor.builder()
          .stage("float-split", java.util.Map.of()).build()));
    }
    byte[][] steps = {GetCommandTest.checkpoint(1), GetCommandTest.checkpoint(2)};
    Path tree = Files.createDirectories(dir.resolve("tree"));
    for (int s = 0; s < steps.length; s++) {
      Path file = Files.write(dir.resolve("step-" + (s + 1) + ".safetensors"), steps[s]);
      Run run = run(InputStream.nullInputStream(), false, "put", repo.toString(), "run/step-" + (s + 1) + ".safetensors",
          file.toString(), "--pipeline", "floats");
      assertEquals(0, run.exit(), run.err());
      Files.write(tree.resolve("step-" + (s + 1) + ".safetensors"), steps[s]);
    }
    Run tree2 = run(InputStream.nullInputStream(), false, "put", "-r", repo.toString(), "copy", tree.toString(), "--pipeline", "floats");
    assertEquals(0, tree2.exit(), tree2.err());
    try (Repository r = Repository.open(repo)) {
      for (String name : new String[] {"run/step-2.safetensors", "copy/step-2.safetensors"}) {
        io.dharmana.repo.ObjectInfo second = r.stat(name).orElseThrow();
        assertTrue(second.attributes().containsKey(io.dharmana.checkpoint.TensorObjects.BASE), name + ": " + second.attributes());
      }
    }
    CompressCommandTest.Run ls = CompressCommandTest.run("ls", repo.toString(), "run/", "--json");
    assertTrue(ls.out().contains("\"size\" : " + steps[1].length), "ls gives the size put: " + ls.out());
    CompressCommandTest.Run stat = CompressCommandTest.run("stat", repo.toString(), "run/step-2.safetensors");
    assertTrue(stat.out().contains("coding     tensor file, delta-coded against manifest"), stat.out());
    Path back = dir.resolve("back.safetensors");
    assertEquals(0, CompressCommandTest.run("get", repo.toString(), "run/step-2.safetensors", "-o", back.toString()).exit());
    assertArrayEquals(steps[1], Files.readAllBytes(back));
  }

  @Test
  void noFileFromATerminalIsRefusedBeforeAnythingIsStored() throws Exception {
    Path repo = repository();
    Run run = run(new ByteArrayInputStream(new byte[0]), true, "put", repo.toString(), "weights.bin");
    assertEquals(Main.INVALID, run.exit(), run.err());
    assertTrue(run.err().contains("No FILE given and standard input is a terminal"), run.err());
    try (Repository r = Repository.open(repo)) {
      assertFalse(r.stat("weights.bin").isPresent());
    }
  }

  @Test
  void aDashReadsTheTerminalAsAsked() throws Exception {
    Path repo = repository();
    byte[] typed = "typed at the terminal\n".getBytes(StandardCharsets.UTF_8);
    Run run = run(new ByteArrayInputStream(typed), true, "put", repo.toString(), "note.txt", "-");
    assertEquals(Main.OK, run.exit(), run.err());
    assertArrayEquals(typed, read(repo, "note.txt"));
  }

  @Test
  void anEmptyStandardInputIsStoredWithAWarningThatNamesTheLikelyMistake() throws Exception {
    Path repo = repository();
    Run run = run(new ByteArrayInputStream(new byte[0]), false, "put", repo.toString(), "weights.bin");
    assertEquals(Main.OK, run.exit(), run.err());
    assertTrue(run.err().contains("standard input was empty: stored weights.bin as an empty object (give FILE"), run.err());
    assertEquals(0, read(repo, "weights.bin").length);

    Path file = Files.write(dir.resolve("w.bin"), new byte[] {1, 2, 3});
    Run fromFile = run(new ByteArrayInputStream(new byte[0]), false, "put", repo.toString(), "w.bin", file.toString());
    assertEquals("", fromFile.err(), "a FILE, even with an empty standard input beside it, gets no warning");
    assertTrue(fromFile.out().contains(" 1 chunk in "), fromFile.out());
  }

  @Test
  void pipedBytesAreStoredWithoutAWarning() throws Exception {
    Path repo = repository();
    byte[] piped = new byte[300_000];
    new java.util.Random(3).nextBytes(piped);
    Run run = run(new ByteArrayInputStream(piped), false, "put", repo.toString(), "piped.bin");
    assertEquals(Main.OK, run.exit(), run.err());
    assertEquals("", run.err());
    assertTrue(run.out().matches("(?s).* \\d+ chunks in .*"), run.out());
    assertArrayEquals(piped, read(repo, "piped.bin"));
  }

  @Test
  void recursiveStoresEveryFileUnderADirectoryByItsPath() throws Exception {
    Path repo = repository();
    Path tree = Files.createDirectories(dir.resolve("tree").resolve("a").resolve("b")).getParent().getParent();
    byte[] big = new byte[700_000];
    new java.util.Random(11).nextBytes(big);
    Files.write(tree.resolve("a/b/y.bin"), big);
    Files.write(tree.resolve("a/z.bin"), big); // the same bytes: stored once
    Files.writeString(tree.resolve("x.txt"), "x");
    Run run = run(new ByteArrayInputStream(new byte[0]), false, "put", "-r", repo.toString(), "runs/7", tree.toString(), "--json");
    assertEquals(Main.OK, run.exit(), run.err());
    com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.out());
    assertEquals(3, json.get("files").asInt());
    assertEquals(2 * big.length + 1, json.get("bytes").asLong());
    assertTrue(json.get("newStoredBytes").asLong() < big.length + 1000, "the second copy is deduplicated: " + run.out());
    assertArrayEquals(big, read(repo, "runs/7/a/b/y.bin"));
    assertArrayEquals(big, read(repo, "runs/7/a/z.bin"));
    assertArrayEquals("x".getBytes(StandardCharsets.UTF_8), read(repo, "runs/7/x.txt"));
    try (Repository r = Repository.open(repo)) {
      assertEquals(java.util.List.of("put runs/7/"), r.history().read().stream().map(h -> h.operation()).toList(),
          "one recorded run for the tree");
    }
  }

  @Test
  void recursiveWithDotStoresTheTreeAtTheTop() throws Exception {
    Path repo = repository();
    Path tree = Files.createDirectories(dir.resolve("tree").resolve("sub")).getParent();
    Files.writeString(tree.resolve("sub/a.txt"), "a");
    Run run = run(new ByteArrayInputStream(new byte[0]), false, "put", "-r", repo.toString(), ".", tree.toString());
    assertEquals(Main.OK, run.exit(), run.err());
    assertArrayEquals("a".getBytes(StandardCharsets.UTF_8), read(repo, "sub/a.txt"));
    assertTrue(run.out().contains("put ./: "), run.out());
  }

  @Test
  void aDirectoryWithoutRecursiveOrAnEmptyOneIsRefused() throws Exception {
    Path repo = repository();
    Path empty = Files.createDirectories(dir.resolve("empty"));
    Run noFlag = run(new ByteArrayInputStream(new byte[0]), false, "put", repo.toString(), "d", empty.toString());
    assertEquals(Main.INVALID, noFlag.exit(), noFlag.err());
    assertTrue(noFlag.err().contains("it is a directory; store every file under it with -r"), noFlag.err());
    Run none = run(new ByteArrayInputStream(new byte[0]), false, "put", "-r", repo.toString(), "d", empty.toString());
    assertEquals(Main.INVALID, none.exit(), none.err());
    assertTrue(none.err().contains("it holds no files"), none.err());
    try (Repository r = Repository.open(repo)) {
      assertEquals(0, r.list("").count());
    }
  }
}
