package io.dharmana.cli;

import io.dharmana.descriptor.Durations;
import io.dharmana.repo.GcResult;
import io.dharmana.repo.Repository;
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
        "Packs mostly holding deleted chunks are rewritten, and small packs (many small puts seal one each)",
        "are merged into full ones; a gateway serving the repository meanwhile finds the moved chunks."})
final class GcCommand implements Callable<Integer> {
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

  @Override
  public Integer call() {
    try (Repository r = Repository.open(repo)) {
      GcResult result = dryRun ? r.gcDryRun(Durations.parse(grace)) : r.gc(Durations.parse(grace));
      var out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, result);
      } else {
        out.printf("gc%s: %d chunks (%s) and %d manifests %s; kept %d chunks of %d live manifests%s%s%n",
            dryRun ? " (dry run)" : "", result.chunksDeleted(), Output.bytes(result.bytesFreed()),
            result.manifestsDeleted(), dryRun ? "would be deleted" : "deleted", result.liveChunks(),
            result.liveManifests(),
            result.orphanPacksDeleted() > 0 ? "; removed " + result.orphanPacksDeleted() + " packs a crash left unindexed" : "",
            result.smallPacksMerged() > 0 ? (dryRun ? "; would merge " : "; merged ") + result.smallPacksMerged() + " small packs" : "");
        out.flush();
      }
    }
    return Main.OK;
  }
}
