package io.dharmana.cli;

import io.dharmana.descriptor.Durations;
import io.dharmana.repo.GcResult;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "gc", mixinStandardHelpOptions = true,
    description = {"Delete manifests and chunks that no object references any more.",
        "Only data older than the grace period is deleted, so writers in flight are safe.",
        "Packs mostly holding deleted chunks are rewritten, and small packs (many small puts seal one each) "
            + "are merged into full ones; a gateway serving the repository meanwhile finds the moved chunks."})
final class GcCommand implements Callable<Integer> {
  /** Manifests or chunks from which a phase takes long enough (about a second or more) for a bar by default. */
  private static final long WORTH_SHOWING = 10_000;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "1h",
      description = "Keep unreferenced data younger than this (default: ${DEFAULT-VALUE}; e.g. 0s, 30m, 1h, 7d).")
  String grace;

  @Option(names = "--dry-run", description = "Report what would be deleted; delete nothing.")
  boolean dryRun;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Option(names = "--progress", negatable = true,
      description = "Show on stderr the manifests read (mark) and then the chunks deleted (sweep)"
          + " (default: on a terminal, for large repositories).")
  Boolean progress;

  @Override
  public Integer call() {
    java.time.Duration graceDuration = Durations.parse(grace);
    try (Repository r = Repository.open(repo);
        Progress marking = Progress.counting("gc mark", " manifests", WORTH_SHOWING, progress);
        Progress sweeping = Progress.counting("gc sweep", " chunks", WORTH_SHOWING, progress)) {
      ProgressListener swept = (done, total) -> {
        marking.close(); // the mark is over: its bar ends before the sweep's starts
        if (total > 0) { // nothing to delete: no bar of 0 of 0
          sweeping.progress(done, total);
        }
      };
      GcResult result = dryRun ? r.gcDryRun(graceDuration, marking, swept) : r.gc(graceDuration, marking, swept);
      marking.close();
      sweeping.close();
      var out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, result);
      } else {
        out.printf("gc%s: %s (%s) and %s %s; kept %s of %s%s%s%n",
            dryRun ? " (dry run)" : "", Output.count(result.chunksDeleted(), "chunk"), Output.bytes(result.bytesFreed()),
            Output.count(result.manifestsDeleted(), "manifest"), dryRun ? "would be deleted" : "deleted",
            Output.count(result.liveChunks(), "chunk"), Output.count(result.liveManifests(), "live manifest"),
            result.orphanPacksDeleted() > 0
                ? "; removed " + Output.count(result.orphanPacksDeleted(), "pack") + " a crash left unindexed" : "",
            result.smallPacksMerged() > 0
                ? (dryRun ? "; would merge " : "; merged ") + Output.count(result.smallPacksMerged(), "small pack") : "");
        out.flush();
      }
    }
    return Main.OK;
  }
}
