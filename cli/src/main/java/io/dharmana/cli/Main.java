package io.dharmana.cli;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CommitFailedException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code dharmana} command.
 *
 * <p>Exit codes: 0 success; 1 the operation failed (I/O error, corrupt data detected); 2 invalid
 * input (usage, a bad descriptor, file or name); 3 not found; 4 conflict (the name already exists,
 * or another writer committed first). Every command's exception is mapped here ({@link #exitCode}),
 * so that the same failure exits alike whichever command meets it.
 *
 * <p>Invalid input (2) against corrupt data (1): what the user gives that is not what was asked
 * for is invalid input, such as a flag's value, a descriptor, a {@code .jsonl} line that is not
 * JSON, or a file that is not of the format the command reads: a {@code decompress} input without
 * the {@code .dhz} signature, or a {@code compress} input whose safetensors header does not parse
 * (safetensors has neither signature nor checksum, so a damaged one cannot be told from another
 * kind of file). Data in one of Dharmana's own formats, recognized by its signature, whose checks
 * then fail is corrupt (1): a {@code .dhz} with a flipped bit or cut short, a repository's chunk, a
 * checkpoint's tensor, a dataset's shard or index.
 */
@Command(
    name = "dharmana",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Storage pipelines for machine learning: compress, deduplicate, tier, checkpoint, pack, measure.",
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

  /** The subcommands, by name, in the order the usage lists them. */
  private static final Map<String, Supplier<Object>> COMMANDS = new LinkedHashMap<>();

  static {
    COMMANDS.put("demo", DemoCommand::new);
    COMMANDS.put("init", InitCommand::new);
    COMMANDS.put("put", PutCommand::new);
    COMMANDS.put("get", GetCommand::new);
    COMMANDS.put("ls", LsCommand::new);
    COMMANDS.put("stat", StatCommand::new);
    COMMANDS.put("rm", RmCommand::new);
    COMMANDS.put("gc", GcCommand::new);
    COMMANDS.put("verify", VerifyCommand::new);
    COMMANDS.put("describe", DescribeCommand::new);
    COMMANDS.put("plan", PlanCommand::new);
    COMMANDS.put("compress", CompressCommand::new);
    COMMANDS.put("decompress", DecompressCommand::new);
    COMMANDS.put("serve", ServeCommand::new);
    COMMANDS.put("dataset", DatasetCommand::new);
    COMMANDS.put("checkpoint", CheckpointCommand::new);
    COMMANDS.put("cost", CostCommand::new);
    COMMANDS.put("report", ReportCommand::new);
  }

  /** The options that print the version; alone, they need no subcommand. */
  private static final Set<String> VERSION_OPTIONS = Set.of("--version", "-V");

  public static void main(String[] args) {
    // warnings of the engine (a tier that cannot be reached, copies that wait) on one line, as the
    // commands' own messages are, not java.util.logging's two (date and class, then the text)
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "dharmana: %4$s: %5$s%6$s%n");
    }
    // "--version" followed by anything is parsed with every subcommand, as it always was
    String first = args.length == 0 || (args.length > 1 && VERSION_OPTIONS.contains(args[0])) ? null : args[0];
    System.exit(commandLine(first).execute(args));
  }

  /** The configured command line with every subcommand, for tests and for embedding. */
  public static CommandLine commandLine() {
    return commandLine(null);
  }

  /**
   * The configured command line; when {@code first} names a subcommand, only that one is built
   * (picocli reflects over every registered command up front, a tenth of a second of each run that
   * uses one of them), and when it is {@code --version} or {@code -V}, none: printing the version
   * took 0.25 s, nearly all of it building the 17 commands and their options.
   */
  static CommandLine commandLine(String first) {
    CommandLine cli = new CommandLine(new Main());
    if (first != null && COMMANDS.containsKey(first)) {
      // "help" is a sibling, unreachable from here: building it cost ~13 ms
      cli.addSubcommand(first, COMMANDS.get(first).get());
    } else if (first == null || !VERSION_OPTIONS.contains(first)) {
      COMMANDS.forEach((name, command) -> cli.addSubcommand(name, command.get()));
      cli.addSubcommand("help", new HelpCommand());
    }
    // settings reach only the subcommands added so far
    cli.setExecutionExceptionHandler(Main::handle);
    cli.setParameterExceptionHandler(Main::usageError);
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    return cli;
  }

  /**
   * A command line picocli cannot parse: its message and where to read the options, not the whole
   * usage (80 lines for dataset bench), which scrolled the message off the screen.
   */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cli = e.getCommandLine();
    PrintWriter err = cli.getErr();
    String name = cli.getCommandSpec().qualifiedName(" ");
    err.println(name + ": " + e.getMessage());
    if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
      err.println("Run '" + name + " --help' for its options.");
    }
    err.flush();
    return INVALID;
  }

  private static int handle(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
    PrintWriter err = cli.getErr();
    // "dharmana dataset read: ...", not "dharmana read: ..."
    err.println(cli.getCommandSpec().qualifiedName(" ") + ": " + message(e));
    if (System.getenv("DHARMANA_DEBUG") != null) {
      e.printStackTrace(err);
    }
    err.flush();
    return exitCode(e);
  }

  /** The exit code of a command that failed with {@code e}: the rule is in the class comment. */
  static int exitCode(Exception e) {
    if (e instanceof InvalidDescriptorException || e instanceof IllegalArgumentException) {
      return INVALID;
    }
    if (e instanceof NotFoundException || e instanceof java.nio.file.NoSuchFileException) {
      return NOT_FOUND;
    }
    if (e instanceof AlreadyExistsException || e instanceof CommitFailedException) {
      return CONFLICT;
    }
    // CorruptDataException, I/O errors and the rest: the operation failed
    return FAILED;
  }

  /**
   * What failed and, for an I/O error a message wraps, why ("Is a directory", "No space left on device"); a parse error
   * the message wraps is not appended, as the message already says what is invalid and where.
   */
  static String message(Exception e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    if (e.getCause() != null && e.getCause().getMessage() != null && message.equals(e.getCause().toString())) {
      message = e.getCause().getMessage(); // a bare wrapper: not "java.io.IOException: Cannot ..."
    }
    if (e instanceof java.nio.file.NoSuchFileException missing) {
      return "Cannot open " + missing.getFile() + ": no such file or directory";
    } else if (e instanceof java.nio.file.AccessDeniedException denied) {
      return "Cannot open " + denied.getFile() + ": permission denied";
    } else if (e.getCause() instanceof java.io.IOException io && io.getMessage() != null && !message.contains(io.getMessage())
        // a parser's message spans lines and repeats what the wrapper already quotes of it ("invalid YAML: ...")
        && !(io instanceof com.fasterxml.jackson.core.JacksonException)) {
      return message + ": " + (io instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason() : io.getMessage());
    }
    return message;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"dharmana " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
