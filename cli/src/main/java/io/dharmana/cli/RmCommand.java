package io.dharmana.cli;

import io.dharmana.repo.Repository;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "rm", mixinStandardHelpOptions = true,
    description = "Remove objects' names. Their chunks are freed by 'dharmana gc' once nothing else uses them.")
final class RmCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "NAME", description = "Object names.")
  List<String> names;

  @Override
  public Integer call() {
    int missing = 0;
    try (Repository r = Repository.open(repo)) {
      for (String name : names) {
        if (r.remove(name)) {
          spec.commandLine().getOut().println("removed " + name);
        } else {
          missing++;
          spec.commandLine().getErr().println("dharmana rm: Cannot remove " + name + ": no such object");
        }
      }
    }
    spec.commandLine().getOut().flush();
    spec.commandLine().getErr().flush();
    return missing == 0 ? Main.OK : Main.NOT_FOUND;
  }
}
