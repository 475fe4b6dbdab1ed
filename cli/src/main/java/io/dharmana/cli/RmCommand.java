package io.dharmana.cli;

import io.dharmana.repo.Repository;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "rm", mixinStandardHelpOptions = true,
    description = "Remove objects' names. Their chunks are freed by 'dharmana gc' once nothing else uses them.")
final class RmCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "NAME", description = "Object names (with -r: prefixes).")
  List<String> names;

  @Option(names = {"-r", "--recursive"}, description = "Remove every object whose name starts with NAME, e.g. runs/7/"
      + " (a NAME that no object starts with counts as missing).")
  boolean recursive;

  @Option(names = "--json", description = "Print the result as JSON: removed and missing (the names of each, in the order"
      + " given). A missing name is still an error on standard error and exit code 3, as without --json.")
  boolean json;

  @Override
  public Integer call() {
    List<String> removed = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    PrintWriter out = spec.commandLine().getOut();
    try (Repository r = Repository.open(repo)) {
      for (String given : names) {
        // listed before removing: a name another writer adds meanwhile is left alone
        List<String> matching = recursive ? r.list(given).map(o -> o.name()).toList() : List.of(given);
        boolean any = false;
        for (String name : matching) {
          if (r.remove(name)) {
            any = true;
            removed.add(name);
            if (!json) {
              out.println("removed " + name);
            }
          }
        }
        if (!any) {
          missing.add(given);
          spec.commandLine().getErr().println("dharmana rm: Cannot remove " + given + ": "
              + (recursive ? "no object's name starts with it" : "no such object"));
        }
      }
    }
    if (json) {
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("removed", removed);
      result.put("missing", missing);
      Output.json(out, result);
    }
    out.flush();
    spec.commandLine().getErr().flush();
    return missing.isEmpty() ? Main.OK : Main.NOT_FOUND;
  }
}
