package io.dharmana.cli;

import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.metrics.Timestamps;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "ls", mixinStandardHelpOptions = true, description = "List objects, sorted by name.")
final class LsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", paramLabel = "PREFIX", arity = "0..1", description = "Only names starting with PREFIX.")
  String prefix = "";

  @Option(names = "--json", description = "Print a JSON array.")
  boolean json;

  @Override
  public Integer call() {
    try (Repository r = Repository.open(repo); var all = r.list(prefix)) {
      List<ObjectInfo> objects = all.map(TensorObjects::asPut).toList();
      var out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, objects);
        return Main.OK;
      }
      // as wide as the longest name, so that a long one does not push its row's columns out of line
      int width = Math.max(40, objects.stream().mapToInt(o -> o.name().length()).max().orElse(0));
      String row = "%-" + width + "s %12s %12s %9s  %-16s %s%s%n";
      out.printf(row, "NAME", "SIZE", "STORED", "RATIO", "PIPELINE", "CREATED", "");
      for (ObjectInfo o : objects) {
        out.printf(row, o.name(), Output.bytes(o.size()), Output.bytes(o.storedBytes()),
            Output.ratio(o.ratio()), o.pipeline(), Timestamps.toSecond(o.created()), o.lossy() ? "  (lossy)" : "");
      }
      out.flush();
    }
    return Main.OK;
  }
}
