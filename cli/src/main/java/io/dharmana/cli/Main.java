package io.dharmana.cli;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code dharmana} command.
 *
 * <p>Exit codes: 0 success; 1 the operation failed (I/O error, corrupt data detected); 2 invalid
 * input (usage, a bad descriptor, file or name); 3 not found; 4 conflict (the name already exists,
 * or another writer committed first).
 */
@Command(
    name = "dharmana",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Storage pipelines for machine learning: compress, deduplicate, tier, checkpoint, pack, measure.",
    subcommands = {
      DemoCommand.class,
      InitCommand.class,
      PutCommand.class,
      GetCommand.class,
      LsCommand.class,
      StatCommand.class,
      RmCommand.class,
      GcCommand.class,
      DescribeCommand.class,
      PlanCommand.class,
      CompressCommand.class,
      DecompressCommand.class,
      ServeCommand.class,
      DatasetCommand.class,
      CheckpointCommand.class,
      CostCommand.class,
      ReportCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Exit codes: 0 success, 1 failure (I/O, corrupt data), 2 invalid input, 3 not found, 4 conflict.",
      "Run 'dharmana COMMAND --help' for a command's options."
    })
public final class Main implements Runnable {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int INVALID = 2;
  public static final int NOT_FOUND = 3;
  public static final int CONFLICT = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests and for embedding. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(Main::handle);
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    return cli;
  }

  private static int handle(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
    PrintWriter err = cli.getErr();
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    if (e instanceof java.nio.file.NoSuchFileException missing) {
      message = "Cannot open " + missing.getFile() + ": no such file or directory";
    } else if (e instanceof java.nio.file.AccessDeniedException denied) {
      message = "Cannot open " + denied.getFile() + ": permission denied";
    }
    err.println("dharmana " + cli.getCommandName() + ": " + message);
    if (System.getenv("DHARMANA_DEBUG") != null) {
      e.printStackTrace(err);
    }
    err.flush();
    if (e instanceof InvalidDescriptorException || e instanceof IllegalArgumentException) {
      return INVALID;
    }
    if (e instanceof NotFoundException || e instanceof java.nio.file.NoSuchFileException) {
      return NOT_FOUND;
    }
    if (e instanceof AlreadyExistsException || e instanceof CommitFailedException) {
      return CONFLICT;
    }
    if (e instanceof CorruptDataException) {
      return FAILED;
    }
    return FAILED;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"dharmana " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
