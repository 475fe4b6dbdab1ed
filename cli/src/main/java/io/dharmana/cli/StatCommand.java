package io.dharmana.cli;

import io.dharmana.NotFoundException;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.metrics.StageStats;
import io.dharmana.metrics.Timestamps;
import io.dharmana.checkpoint.TensorObjects;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.store.TierStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "stat", mixinStandardHelpOptions = true,
    description = "Show what a repository (or one object) holds: logical and stored bytes, ratio, dedup savings, tier distribution, time per stage of recent runs.")
final class StatCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Parameters(index = "1", paramLabel = "NAME", arity = "0..1", description = "An object; omit for the whole repository.")
  String name;

  @Option(names = "--runs", defaultValue = "3", paramLabel = "N", description = "Recorded runs to show (default: ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--json", description = "Print as JSON.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try (Repository r = Repository.open(repo)) {
      if (name != null) {
        ObjectInfo stored = r.stat(name).orElseThrow(() -> new NotFoundException("Cannot stat " + name + ": no such object"));
        ObjectManifest m = r.manifest(stored.manifestId());
        ObjectInfo info = TensorObjects.asPut(stored);
        // a checkpoint stored as a tensor file: how, and against which parent
        String coding = !TensorObjects.coded(m) ? null : m.attributes().containsKey(TensorObjects.BASE)
            ? "tensor file, delta-coded against manifest " + m.attributes().get(TensorObjects.BASE) + " (link "
                + m.attributes().get(TensorObjects.DEPTH) + " of its chain)"
            : "tensor file, each tensor float-coded whole";
        if (json) {
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("object", info);
          result.put("chunks", m.chunks().size());
          result.put("stages", m.stages());
          if (coding != null) {
            result.put("coding", coding);
          }
          Output.json(out, result);
        } else {
          out.printf("object     %s (version %d)%n", info.name(), info.version());
          out.printf("size       %s%n", Output.bytes(info.size()));
          out.printf("stored     %s in %s (%s)%n", Output.bytes(info.storedBytes()), Output.count(m.chunks().size(), "chunk"), Output.ratio(info.ratio()));
          out.printf("pipeline   %s: %s%s%n", info.pipeline(), m.stages(), info.lossy() ? " (lossy)" : "");
          if (coding != null) {
            out.printf("coding     %s%n", coding);
          }
          out.printf("sha256     %s%n", info.sha256().isEmpty()
              ? "not recorded (written without the whole-object hash, as the S3 gateway does; every chunk is verified by its SHA-256 id)"
              : info.sha256());
          out.printf("created    %s%n", Timestamps.toSecond(info.created()));
          out.printf("manifest   %s%n", info.manifestId());
          if (!info.attributes().isEmpty()) {
            out.printf("attributes %s%n", info.attributes());
          }
        }
        out.flush();
        return Main.OK;
      }
      RepositoryStats stats = r.stats();
      List<MetricsSnapshot> history = r.history().read();
      List<MetricsSnapshot> recent = history.subList(Math.max(0, history.size() - runs), history.size());
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("repository", r.root().toAbsolutePath().toString());
        result.put("stats", stats);
        result.put("ratio", stats.ratio());
        result.put("compressionRatio", stats.compressionRatio());
        result.put("dedupSavedBytes", stats.dedupSavedBytes());
        result.put("savedBytes", stats.savedBytes());
        result.put("recentRuns", recent);
        Output.json(out, result);
        return Main.OK;
      }
      out.printf("repository   %s (pipelines: %s)%n", r.root().toAbsolutePath(), r.pipelines());
      out.printf("objects      %d%s%n", stats.objects(),
          stats.includedObjects() == 0 ? "" : " (and " + stats.includedObjects() + " unnamed ones they include)");
      // a tensor later checkpoint steps reuse is one object here, and part of each step in cost
      long stepsWhole = io.dharmana.report.RepositoryCost.logicalBytes(r, stats);
      out.printf("logical      %s%s%n", Output.bytes(stats.logicalBytes()), stepsWhole == stats.logicalBytes() ? ""
          : " (each object once; " + Output.bytes(stepsWhole) + " with every kept checkpoint step whole, as 'dharmana cost' counts)");
      out.printf("stored       %s unique (%s before dedup, %s in chunk store incl. garbage%s)%n",
          Output.bytes(stats.uniqueStoredBytes()), Output.bytes(stats.referencedStoredBytes()), Output.bytes(stats.chunkBytes()),
          stats.unlistedTiers().isEmpty() ? "" : ", leaving out tier " + String.join(", ", stats.unlistedTiers())
              + ", which cannot be listed now");
      out.printf("ratio        %s overall; stages %s; dedup saved %s%n", Output.ratio(stats.ratio()),
          Output.ratio(stats.compressionRatio()), Output.bytes(stats.dedupSavedBytes()));
      out.println("tiers");
      for (TierStats t : stats.tiers()) {
        // the counters are this process's: a stat reads nothing through the tiers before it takes them
        boolean counted = t.hits() + t.misses() + t.promotions() + t.demotions() > 0;
        out.printf(Locale.ROOT, "  %-12s %12s in %7d objects%s%n", t.name(), Output.bytes(t.bytesHeld()), t.objects(),
            counted ? String.format(Locale.ROOT, "; hits %d, misses %d, promoted %d, demoted %d", t.hits(), t.misses(),
                t.promotions(), t.demotions()) : "");
      }
      if (!recent.isEmpty()) {
        out.println("recent runs");
      }
      for (MetricsSnapshot run : recent) {
        out.printf(Locale.ROOT, "  %s  %s  %s logical%n", Timestamps.toSecond(run.end()), run.operation(),
            Output.bytes(Math.max(run.counter(PipelineMetrics.LOGICAL_BYTES), run.counter(PipelineMetrics.READ_BYTES))));
        for (StageStats s : run.stages()) {
          out.printf(Locale.ROOT, "    %-7s %-18s %12s -> %12s  %8.3f s  %10s  ratio %s%n", s.direction(), s.stage(),
              Output.bytes(s.bytesIn()), Output.bytes(s.bytesOut()), s.seconds(),
              String.format(Locale.ROOT, "%.0f MB/s", s.throughputMBps()), s.bytesOut() == 0 ? "-" : Output.ratio(s.ratio()));
        }
      }
      out.flush();
    }
    return Main.OK;
  }
}
