package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.descriptor.DescriptorDiagram;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana describe FILE.yaml}: validates a pipeline descriptor and prints it as a
 * diagram, or as JSON with {@code --json}. Exit code 0 when valid, 2 when the descriptor is
 * invalid (the message names the file, line, field, value and what is allowed), 3 when the file does
 * not exist, 1 when it cannot be read.
 */
@Command(
    name = "describe",
    mixinStandardHelpOptions = true,
    description = "Validate a pipeline descriptor and print it as a diagram: stages in order, tiers with capacities and policy.")
public final class DescribeCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "FILE.yaml", description = "The pipeline descriptor (YAML).")
  private Path file;

  @Option(names = "--json", description = "Print the validated descriptor as JSON instead of a diagram.")
  private boolean json;

  @Option(names = "--no-color", description = "Plain text without ANSI colours (also when NO_COLOR is set or output is not a terminal).")
  private boolean noColor;

  @Spec
  private CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    // errors go to Main, which prints them as every command's are: "dharmana describe: Invalid descriptor ..."
    PipelineDescriptor descriptor = Descriptors.load(file);
    // the reader checks stage names and parameter names; the values (zstd's level, quantize's
    // format) only the stages know, and init checks them: so does describe, or it would pass what
    // init refuses
    List<StageSpec> stages = descriptor.storage().stages();
    for (int i = 0; i < stages.size(); i++) {
      StageSpec stage = stages.get(i);
      try {
        if (Stages.exists(stage.name())) {
          Stages.factory(stage.name()).checkParameters(stage);
        }
      } catch (InvalidDescriptorException e) {
        throw new InvalidDescriptorException("Invalid descriptor " + file + ": storage.stages[" + i + "]: " + e.getMessage(), e);
      }
    }
    if (json) {
      out.println(Descriptors.toJson(descriptor));
    } else {
      out.print(DescriptorDiagram.render(descriptor, colour()));
    }
    out.flush();
    return 0;
  }

  private boolean colour() {
    return !noColor && System.console() != null && System.getenv("NO_COLOR") == null
        && !"dumb".equals(System.getenv("TERM"));
  }
}
