package io.dharmana.cli;

import io.dharmana.cost.PriceTable;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.repo.Repository;
import io.dharmana.report.Bottleneck;
import io.dharmana.report.RepositoryReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana report REPO [-o report.html]}: what a repository holds and costs, how its recorded
 * runs spent their time and what limits them, as a terminal summary and, with {@code -o}, one
 * self-contained HTML page.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = {"Summarize a repository: bytes, cost, stages, bottleneck, tiers, latency, utilization.",
        "Stored against logical bytes, cost per month against raw, per-stage time and ratio, the bottleneck of the "
        + "write and read paths with what-ifs, tiers, latency, accelerator utilization.",
        "With -o, also writes one self-contained HTML page (no network needed to view it)."})
final class ReportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Option(names = "--run", paramLabel = "NAME",
      description = "Analyze the latest recorded run whose operation starts with NAME (e.g. 'put data/') or whose pipeline is NAME;"
          + " default: the latest run that wrote and the latest that read.")
  String run;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the HTML report to FILE (not a directory).")
  Path output;

  @Option(names = "--prices", paramLabel = "FILE", description = "A price table (YAML) laid over the built-in list prices.")
  Path prices;

  @Option(names = "--json", description = "Print the report's figures as JSON instead of the summary: stats, cost,"
      + " the runs analyzed, their bottlenecks (shares, verdict, what-if) and accelerator utilization.")
  boolean json;

  @Option(names = "--computation", paramLabel = "FILE.yaml",
      description = "A computation (or pipeline) descriptor: the bottleneck is judged against the read and checkpoint rates it needs.")
  Path computation;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    if (output != null) {
      OutputFile.refuseDirectory(spec, "-o", output, "report.html");
    }
    PriceTable table = prices == null ? PriceTable.defaults() : PriceTable.load(prices);
    Bottleneck.Demand demand = computation == null ? Bottleneck.Demand.NONE
        : Bottleneck.Demand.of(Descriptors.loadComputation(computation));
    try (Repository r = Repository.open(repo)) {
      RepositoryReport report = RepositoryReport.of(r, run, table, demand);
      if (output != null) {
        OutputFile.writeAtomically(output, report.toHtml()); // a reader never sees half a page
      }
      if (json) {
        Output.json(out, jsonOf(report));
        return Main.OK;
      }
      out.print(report.toText());
      if (output != null) {
        out.printf("report       %s%n", output.toAbsolutePath());
      }
      out.flush();
    }
    return Main.OK;
  }

  /** The report's figures; the whole history stays out (it grows with every command), its size stays in. */
  private Map<String, Object> jsonOf(RepositoryReport report) {
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("repository", report.repository());
    result.put("generated", report.generated());
    result.put("stats", report.stats());
    result.put("cost", report.cost());
    result.put("recordedRuns", report.history().size());
    result.put("runs", report.runs().stream().map(s -> Map.of("operation", s.operation(), "pipeline", s.pipeline(),
        "start", s.start(), "end", s.end())).toList());
    result.put("bottlenecks", report.bottlenecks());
    double overall = report.overallUtilization();
    result.put("utilization", Double.isNaN(overall) ? null : overall);
    result.put("utilizationByRun", report.utilization());
    result.put("output", output == null ? null : output.toAbsolutePath().toString());
    return result;
  }
}
