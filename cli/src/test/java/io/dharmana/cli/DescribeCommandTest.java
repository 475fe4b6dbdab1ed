package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.Descriptors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DescribeCommandTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // through Main, as the launcher runs it: its errors are printed and mapped to exit codes there
    String[] line = new String[args.length + 1];
    line[0] = "describe";
    System.arraycopy(args, 0, line, 1, args.length);
    int exit = Main.commandLine("describe").setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(line);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void printsTheDiagramOfAValidDescriptor() {
    Path file = ExamplesTest.examples().resolve("llm-checkpoints.yaml");
    Run r = run(file.toString(), "--no-color");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("pipeline llm-checkpoints"), r.out());
    assertTrue(r.out().indexOf("byte-planes") < r.out().indexOf("zstd"), r.out());
    assertTrue(r.out().indexOf("zstd") < r.out().indexOf("checksum"), r.out());
    assertTrue(r.out().contains("capacity 2 TiB"), r.out());
    assertTrue(!r.out().contains("\u001b["), "--no-color: no escapes");
  }

  @Test
  void printsJsonThatParsesBack() {
    Path file = ExamplesTest.examples().resolve("vision-dataset.yaml");
    Run r = run("--json", file.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().trim().startsWith("{"), r.out());
    assertEquals(Descriptors.load(file), Descriptors.parse(r.out(), "stdout"));
  }

  @Test
  void invalidDescriptorExitsWithTwoAndNamesTheField(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "name: x\nstorage:\n  tiers:\n    - {name: a, kind: local}\n    - {name: b, kind: local, capacity: -5GiB}\n");
    Run r = run(bad.toString());
    assertEquals(Main.INVALID, r.exit());
    assertEquals("", r.out());
    assertTrue(r.err().contains("Invalid descriptor " + bad + ", line 5: storage.tiers[1].capacity = -5GiB: must be >= 0 (0 = unbounded)"),
        r.err());
  }

  @Test
  void aStageParameterValueInitRefusesIsRefusedToo(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "name: x\nstorage:\n  stages: [{byte-planes: {}}, {zstd: {level: 99}}]\n");
    Run r = run(bad.toString());
    assertEquals(Main.INVALID, r.exit());
    assertEquals("", r.out());
    assertTrue(r.err().contains("Invalid descriptor " + bad + ": storage.stages[1]: Invalid stage zstd: parameter level is '99'"), r.err());
    // where the key is checks on any machine; the key itself is read only when the stage runs
    Path encrypted = dir.resolve("enc.yaml");
    Files.writeString(encrypted, "name: x\nstorage:\n  stages: [{aes-gcm: {key-env: DHARMANA_TEST_UNSET_KEY}}]\n");
    assertEquals(0, run(encrypted.toString(), "--no-color").exit());
    Files.writeString(encrypted, "name: x\nstorage:\n  stages: [{aes-gcm: {key-id: 12}}]\n");
    Run neither = run(encrypted.toString());
    assertEquals(Main.INVALID, neither.exit());
    assertTrue(neither.err().contains("exactly one of key-env or key-file"), neither.err());
  }

  @Test
  void missingFileExitsWithThree(@TempDir Path dir) {
    Run r = run(dir.resolve("nope.yaml").toString());
    assertEquals(Main.NOT_FOUND, r.exit());
    assertTrue(r.err().contains("Cannot load descriptor"), r.err());
  }

  @Test
  void helpNamesTheOptions() {
    Run r = run("--help");
    assertEquals(0, r.exit());
    assertTrue(r.out().contains("--json") && r.out().contains("--no-color") && r.out().contains("FILE.yaml"), r.out());
  }

  /** Errors read as every other command's: "dharmana describe: ..." on one line (before: the bare message). */
  @Test
  void errorsAreNamedLikeEveryCommandsErrors(@TempDir Path dir) throws Exception {
    Run missing = run(dir.resolve("nope.yaml").toString());
    assertEquals("dharmana describe: Cannot load descriptor " + dir.resolve("nope.yaml") + ": no such file\n", missing.err());
    Path malformed = Files.writeString(dir.resolve("bad.yaml"), "name: x\nstorage:\n  stages: [ {name: zstd\n");
    Run bad = run(malformed.toString());
    assertEquals(Main.INVALID, bad.exit());
    assertTrue(bad.err().startsWith("dharmana describe: Invalid descriptor " + malformed + ", line ") && bad.err().lines().count() == 1,
        bad.err());
  }
}
