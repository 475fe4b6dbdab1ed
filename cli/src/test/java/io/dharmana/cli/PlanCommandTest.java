package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCommandTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // through Main, as the launcher runs it: its errors are printed and mapped to exit codes there
    String[] line = new String[args.length + 1];
    line[0] = "plan";
    System.arraycopy(args, 0, line, 1, args.length);
    int exit = Main.commandLine("plan").setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(line);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void printsTheArithmetic() {
    Run r = run(ExamplesTest.examples().resolve("plan-resnet50-1000gpu.yaml").toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("1000 × 32 × 115 KB / 10 ms = 368 GB/s"), r.out());
    assertTrue(r.out().contains("train: ") && r.out().contains("archive: "), r.out());
    Run llm = run(ExamplesTest.examples().resolve("plan-llm-175b.yaml").toString());
    assertTrue(llm.out().contains("2.8 TB / (5% × 30 min = 90 s) = 31.1 GB/s"), llm.out());
    assertTrue(llm.out().contains("2.8 TB / 30 min (1,800 s) = 1.56 GB/s"), llm.out());
  }

  @Test
  void acceptsAPipelineDescriptorAndOptions() {
    Run r = run(ExamplesTest.examples().resolve("llm-checkpoints.yaml").toString(), "--stall", "0.1", "--retain", "2");
    assertEquals(0, r.exit(), r.err());
    // 112 GB / (10% × 30 min = 180 s) = 622 MB/s
    assertTrue(r.out().contains("112 GB / (10% × 30 min = 180 s) = 622 MB/s"), r.out());
  }

  @Test
  void printsJson() {
    Run r = run("--json", ExamplesTest.examples().resolve("plan-llm-175b.yaml").toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("\"key\" : \"checkpoint-write-sync\""), r.out());
    assertTrue(r.out().contains("\"checkpointInterval\" : \"PT30M\""), r.out());
  }

  @Test
  void usesAPriceFile(@TempDir Path dir) throws Exception {
    Path prices = dir.resolve("prices.yaml");
    Files.writeString(prices, "classes: {s3-standard: {storage: 0.046}}\n");
    Run r = run(ExamplesTest.examples().resolve("plan-resnet50-1000gpu.yaml").toString(), "--prices", prices.toString());
    assertEquals(0, r.exit(), r.err());
    // 147 GB × $0.046 = $6.762
    assertTrue(r.out().contains("147 GB × $0.046/GB-month = $6.76"), r.out());
    Files.writeString(prices, "classes: {s3-standard: {storage: free}}\n");
    Run bad = run(ExamplesTest.examples().resolve("plan-resnet50-1000gpu.yaml").toString(), "--prices", prices.toString());
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("classes.s3-standard.storage = free"), bad.err());
  }

  @Test
  void invalidComputationExitsWithTwo(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "computation:\n  stepTime: soon\n");
    Run r = run(bad.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("line 2: computation.stepTime = soon"), r.err());
  }

  @Test
  void aMissingFileExitsWithThree(@TempDir Path dir) {
    // README: 3 not found, as get, cost --prices and report --computation answer it
    Run descriptor = run(dir.resolve("nope.yaml").toString());
    assertEquals(Main.NOT_FOUND, descriptor.exit());
    assertTrue(descriptor.err().contains("Cannot load descriptor " + dir.resolve("nope.yaml") + ": no such file"), descriptor.err());
    Run prices = run(ExamplesTest.examples().resolve("plan-resnet50-1000gpu.yaml").toString(), "--prices", dir.resolve("p.yaml").toString());
    assertEquals(Main.NOT_FOUND, prices.exit());
    assertTrue(prices.err().contains("Cannot load price table " + dir.resolve("p.yaml")), prices.err());
  }

  /** Errors read as every other command's: "dharmana plan: ..." on one line (before: the bare message). */
  @Test
  void errorsAreNamedLikeEveryCommandsErrors(@TempDir Path dir) throws Exception {
    Run missing = run(dir.resolve("nope.yaml").toString());
    assertEquals(Main.NOT_FOUND, missing.exit());
    assertEquals("dharmana plan: Cannot load descriptor " + dir.resolve("nope.yaml") + ": no such file\n", missing.err());
    Path malformed = Files.writeString(dir.resolve("bad.yaml"), "computation: [\n");
    Run bad = run(malformed.toString());
    assertEquals(Main.INVALID, bad.exit());
    assertTrue(bad.err().startsWith("dharmana plan: Invalid descriptor " + malformed) && bad.err().lines().count() == 1, bad.err());
  }
}
