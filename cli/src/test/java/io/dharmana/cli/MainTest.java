package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MainTest {

  private static String run(CommandLine cli, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = cli.setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return exit + "\n" + out + err;
  }

  @Test
  void aRunBuildsOnlyTheCommandItNamesAndBehavesAsTheFullCommandLine() {
    CommandLine only = Main.commandLine("get");
    assertEquals(List.of("get"), List.copyOf(only.getSubcommands().keySet()));
    assertEquals(run(Main.commandLine(), "get", "--help"), run(Main.commandLine("get"), "get", "--help"));
    // the settings reach the one built: an error is handled by Main's handler (exit 3, one line)
    String missing = run(Main.commandLine("get"), "get", "/nonexistent-repo", "x");
    assertEquals(run(Main.commandLine(), "get", "/nonexistent-repo", "x"), missing);
  }

  @Test
  void anythingElseBuildsEveryCommand() {
    for (String first : new String[] {"--help", "help", "nosuch"}) {
      assertTrue(Main.commandLine(first).getSubcommands().keySet()
          .containsAll(List.of("demo", "init", "put", "get", "serve", "dataset", "checkpoint", "report")), first);
    }
    String usage = run(Main.commandLine("--help"), "--help");
    assertTrue(usage.startsWith("0\n") && usage.contains("checkpoint") && usage.contains("decompress"), usage);
    String unknown = run(Main.commandLine("gett"), "gett");
    assertTrue(unknown.startsWith("2\n") && unknown.contains("get"), unknown);
  }

  @Test
  void aCommandLineThatDoesNotParseSaysWhyAndWhereTheOptionsAreNotTheWholeUsage() {
    String bench = run(Main.commandLine("dataset"), "dataset", "bench", "ds");
    assertEquals("2\ndharmana dataset bench: Missing required option: '--compute-ms=X'\n"
        + "Run 'dharmana dataset bench --help' for its options.\n", bench);
    String typo = run(Main.commandLine("gc"), "gc", "repo", "--grce", "0s");
    assertTrue(typo.startsWith("2\ndharmana gc: Unknown options: '--grce', '0s'") && !typo.contains("Usage:"), typo);
  }

  @Test
  void theVersionAloneBuildsNoCommandAndPrintsWhatTheFullCommandLinePrints() {
    for (String option : new String[] {"--version", "-V"}) {
      assertTrue(Main.commandLine(option).getSubcommands().isEmpty(), option);
      String version = run(Main.commandLine(option), option);
      assertEquals(run(Main.commandLine(), option), version);
      assertTrue(version.startsWith("0\ndharmana "), version);
    }
  }

  @Test
  void anIoErrorSaysWhatFailedAndWhy(@TempDir Path dir) {
    // reading a directory as a file: the wrapper names the file, the I/O error the reason
    String out = run(Main.commandLine("compress"), "compress", dir.toString(), "-o", dir.resolve("x.dhz").toString());
    assertTrue(out.startsWith("1\n") && out.contains("Cannot read safetensors file " + dir + ": Is a directory"), out);
    // writing under a file, where no directory can be made: the path is named, not the temporary file
    Path in = CompressCommandTest.checkpoint(dir, "w.safetensors", 1, 0);
    Path under = in.resolve("sub").resolve("w.dhz");
    String notADir = run(Main.commandLine("compress"), "compress", in.toString(), "-o", under.toString());
    assertTrue(notADir.startsWith("1\n") && notADir.contains("Cannot write " + under + ": cannot create directory " + under.getParent())
        && !notADir.contains(".tmp"), notADir);
    String nested = run(Main.commandLine("checkpoint"), "checkpoint", "list", dir.resolve("none").toString(), "--run", "r");
    assertTrue(nested.startsWith("3\n") && nested.contains("dharmana checkpoint list: Cannot open repository"), nested);
  }

  @Test
  void aMalformedYamlFileIsNamedOnOneLine(@TempDir Path dir) throws Exception {
    // the parser's own message spans lines and quotes the text: the command's says it once, with the line
    Path bad = dir.resolve("bad.yaml");
    java.nio.file.Files.writeString(bad, "classes: [\n");
    try (Repository r = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      // created
    }
    String prices = run(Main.commandLine("cost"), "cost", dir.resolve("repo").toString(), "--prices", bad.toString());
    assertTrue(prices.startsWith("2\ndharmana cost: Invalid price table " + bad + ": invalid YAML: ") && prices.lines().count() == 2, prices);
    String computation = run(Main.commandLine("report"), "report", dir.resolve("repo").toString(), "--computation", bad.toString());
    assertTrue(computation.startsWith("2\ndharmana report: Invalid descriptor " + bad) && computation.lines().count() == 2, computation);
  }

  @Test
  void statSaysWhenAnObjectWasWrittenWithoutItsWholeObjectHash(@TempDir Path dir) {
    Path repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      r.put("hashed", new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults());
      r.put("unhashed", new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults().withoutOriginalHash());
    }
    String hashed = run(Main.commandLine("stat"), "stat", repo.toString(), "hashed");
    assertTrue(hashed.startsWith("0\n") && hashed.contains("sha256     039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81"), hashed);
    String unhashed = run(Main.commandLine("stat"), "stat", repo.toString(), "unhashed");
    assertTrue(unhashed.startsWith("0\n") && unhashed.contains("sha256     not recorded"), unhashed);
  }

  @Test
  void aBadServeOptionIsNamedBeforeAnythingStarts(@TempDir Path dir) {
    String out = run(Main.commandLine("serve"), "serve", dir.resolve("repo").toString(), "--init", "--merge-packs-every", "5x");
    assertTrue(out.startsWith("2\n") && out.contains("dharmana serve: --merge-packs-every: Invalid duration '5x'"), out);
    assertFalse(java.nio.file.Files.exists(dir.resolve("repo")), "nothing created");
  }

  @Test
  void anUnresolvableBindAddressIsInvalidInputAndSizesTakeUnits(@TempDir Path dir) {
    String out = run(Main.commandLine("serve"), "serve", dir.resolve("repo").toString(), "--init", "--bind", "999.1.1.1");
    assertTrue(out.startsWith("2\ndharmana serve: Invalid --bind '999.1.1.1': not an IP address or a host name"), out);
    assertFalse(java.nio.file.Files.exists(dir.resolve("repo")), "nothing created");
    String units = run(Main.commandLine("serve"), "serve", dir.resolve("repo").toString(), "--init", "--max-object-bytes", "1XB");
    assertTrue(units.startsWith("2\ndharmana serve: Invalid --max-object-bytes '1XB': Invalid size '1XB'"), units);
    String zero = run(Main.commandLine("serve"), "serve", dir.resolve("repo").toString(), "--init", "--max-object-bytes", "0");
    assertTrue(zero.startsWith("2\ndharmana serve: Invalid --max-object-bytes '0': must be positive"), zero);
    assertFalse(java.nio.file.Files.exists(dir.resolve("repo")), "nothing created");
  }

  @Test
  void aPortInUseIsNamedWithAWayOut(@TempDir Path dir) throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      String out = run(Main.commandLine("serve"), "serve", dir.resolve("repo").toString(), "--init", "--port",
          Integer.toString(taken.getLocalPort()));
      // nothing else: no access key was made and printed for a gateway that never listened
      assertEquals("1\ndharmana serve: Cannot start the gateway on 127.0.0.1:" + taken.getLocalPort()
          + ": Address already in use (another process listens there; --port 0 picks a free port)\n", out);
      assertFalse(java.nio.file.Files.exists(dir.resolve("repo").resolve("gateway").resolve("credentials")));
    }
  }
}
