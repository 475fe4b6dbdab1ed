package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** The help of the visibility, tensor, gateway and dataset commands reads alike. */
class HelpTextTest {
  static List<String> commands() {
    List<String> names = new ArrayList<>(List.of("demo", "describe", "plan", "cost", "report", "compress", "decompress", "serve", "verify"));
    for (String sub : Main.commandLine().getSubcommands().get("dataset").getSubcommands().keySet()) {
      names.add("dataset " + sub);
    }
    return names;
  }

  private static CommandLine command(String path) {
    CommandLine cli = Main.commandLine();
    for (String name : path.split(" ")) {
      cli = cli.getSubcommands().get(name);
    }
    return cli;
  }

  @ParameterizedTest
  @MethodSource("commands")
  void helpNamesEveryValueAndDefaultAlike(String path) {
    String usage = command(path).getUsageMessage(CommandLine.Help.Ansi.OFF);
    // picocli's fallback label (--epoch=<epoch>) where the option names no label of its own
    assertFalse(Pattern.compile("=<[a-z]+>").matcher(usage).find(), usage);
    // "(default: X)" everywhere, not "(default X)" or "Default: X."
    assertFalse(Pattern.compile("\\(default [^:]|Default: ").matcher(usage.replaceAll("\\s+", " ")).find(), usage);
  }

  @ParameterizedTest
  @MethodSource("commands")
  void theSummaryIsPrintedOnceInTheImperative(String path) {
    CommandLine.Model.UsageMessageSpec spec = command(path).getCommandSpec().usageMessage();
    // a header is printed above the usage: a description that begins as it does says it twice
    String summary = spec.description()[0];
    for (String header : spec.header()) {
      assertFalse(firstWords(header).equals(firstWords(summary)), path + " says '" + header + "' twice");
    }
    String listed = spec.header().length > 0 ? spec.header()[0] : summary;
    assertFalse(listed.matches("^(Validates|Says|Prints|Shows|Runs|Packs|Reads|Writes|Creates|Lists|Returns) .*"),
        path + ": '" + listed + "' (the others say 'Compress ...', 'Serve ...')");
  }

  private static String firstWords(String text) {
    String[] words = text.split(" ");
    return String.join(" ", java.util.Arrays.asList(words).subList(0, Math.min(5, words.length)));
  }

  /** 'help dataset pack' printed the help of dataset: picocli's help command looks only at its first argument. */
  @Test
  void helpReachesASubcommandAtAnyDepth() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
    assertEquals(0, cli.execute("help", "dataset", "pack"));
    assertEquals(command("dataset pack").getUsageMessage(CommandLine.Help.Ansi.OFF), out.toString());
    out.getBuffer().setLength(0);
    assertEquals(0, cli.execute("help", "checkpoint"));
    assertTrue(out.toString().startsWith("Usage: dharmana checkpoint "), out.toString());
    assertEquals(Main.INVALID, cli.execute("help", "dataset", "pak"));
    assertTrue(err.toString().startsWith("dharmana help: Unknown command 'dataset pak': 'dharmana dataset'"
        + " has the subcommands pack, "), err.toString());
  }

  /** Each line of a command's description starts a sentence: gc's help broke one over two lines. */
  @Test
  void noDescriptionLineContinuesTheOneBefore() {
    List<CommandLine> all = new ArrayList<>(List.of(Main.commandLine()));
    for (int i = 0; i < all.size(); i++) {
      all.addAll(all.get(i).getSubcommands().values());
    }
    for (CommandLine c : all) {
      String[] lines = c.getCommandSpec().usageMessage().description();
      for (int i = 1; i < lines.length; i++) {
        assertFalse(!lines[i].isEmpty() && Character.isLowerCase(lines[i].charAt(0)),
            c.getCommandSpec().qualifiedName() + ": '" + lines[i - 1] + "' / '" + lines[i] + "'");
      }
    }
  }
}
