package io.dharmana.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code dharmana help [COMMAND [SUBCOMMAND]]}: the help of a command at any depth. Picocli's own
 * help command looks up only its first argument among its siblings, so {@code help dataset pack}
 * printed the help of {@code dataset}.
 */
@Command(name = "help", helpCommand = true,
    description = "Print the help of a command, e.g. 'dharmana help dataset pack' (the same as 'dharmana dataset pack --help').")
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Runnable {
  @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command and its subcommands, as typed to run it.")
  String[] path = {};

  private CommandLine self;
  private CommandLine.Help.ColorScheme colors;
  private PrintWriter out;

  @Override
  public void init(CommandLine helpCommandLine, CommandLine.Help.ColorScheme colorScheme, PrintWriter outWriter, PrintWriter errWriter) {
    this.self = helpCommandLine;
    this.colors = colorScheme;
    this.out = outWriter;
  }

  @Override
  public void run() {
    CommandLine target = self.getParent();
    for (String name : path) {
      CommandLine next = target.getSubcommands().get(name);
      if (next == null) {
        throw new CommandLine.ParameterException(self, "Unknown command '" + String.join(" ", path) + "': '"
            + target.getCommandSpec().qualifiedName(" ") + "' has " + (target.getSubcommands().isEmpty() ? "no subcommands"
            : "the subcommands " + String.join(", ", target.getSubcommands().keySet())));
      }
      target = next;
    }
    target.usage(out, colors);
  }
}
