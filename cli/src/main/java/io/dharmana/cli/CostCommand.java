package io.dharmana.cli;

import io.dharmana.cost.PriceTable;
import io.dharmana.repo.Repository;
import io.dharmana.report.RepositoryCost;
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
 * {@code dharmana cost REPO}: the monthly cost of what a repository stores, per tier and per
 * pipeline, against the same logical bytes kept raw, from the bytes the tiers really hold.
 */
@Command(name = "cost", mixinStandardHelpOptions = true,
    description = {"Monthly cost of what a repository stores, per tier and per pipeline, against storing it raw.",
        "Raw: the same logical bytes, neither compressed nor deduplicated, on the baseline class (S3 Standard unless the price "
            + "table says otherwise)."})
final class CostCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "Repository directory.")
  Path repo;

  @Option(names = "--prices", paramLabel = "FILE", description = "A price table (YAML) laid over the built-in list prices.")
  Path prices;

  @Option(names = "--json", description = "Print as JSON.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PriceTable table = prices == null ? PriceTable.defaults() : PriceTable.load(prices);
    try (Repository r = Repository.open(repo)) {
      RepositoryCost cost = RepositoryCost.of(r, table);
      if (json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("repository", r.root().toAbsolutePath().toString());
        result.put("monthly", cost.monthly());
        result.put("rawMonthly", cost.rawMonthly());
        result.put("savedFraction", cost.tiers().savedFraction());
        result.put("logicalBytes", cost.logicalBytes());
        result.put("storedBytes", cost.storedBytes());
        result.put("savedBytes", cost.savedBytes());
        result.put("tiers", cost.tiers().lines());
        result.put("raw", cost.tiers().raw());
        result.put("pipelines", cost.pipelines());
        Output.json(out, result);
      } else {
        out.printf("repository %s%n", r.root().toAbsolutePath());
        out.print(cost.toText());
        out.flush();
      }
    }
    return Main.OK;
  }
}
