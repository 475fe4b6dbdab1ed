package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.cost.PriceTable;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.report.RepositoryCost;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code cost}, {@code report} and {@code demo} on real repositories. */
class VisibilityCommandsTest {
  private static final long SEED = 4242L;

  private record Run(int exit, String out, String err) {}

  private static Run run(Callable<Integer> command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(command);
    cli.setExecutionExceptionHandler((e, c, p) -> {
      e.printStackTrace(new PrintWriter(err));
      return Main.FAILED;
    });
    int exit = cli.setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private static Path repository(Path dir) {
    Random random = new Random(SEED);
    Path root = dir.resolve("repo");
    try (Repository repo = Repository.init(root, Repository.defaultPipeline())) {
      StringBuilder sb = new StringBuilder();
      while (sb.length() < 700_000) {
        sb.append("sample ").append(random.nextInt(5000)).append(random.nextBoolean() ? " cat\n" : " dog\n");
      }
      byte[] data = sb.toString().getBytes(StandardCharsets.US_ASCII);
      repo.put("a", new ByteArrayInputStream(data), PutOptions.defaults());
      repo.put("b", new ByteArrayInputStream(data), PutOptions.defaults());
      repo.history().append(repo.metrics("default").snapshot("put a"));
    }
    return root;
  }

  @Test
  void costPrintsTiersPipelinesAndRawFromStoredBytes(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    Run text = run(new CostCommand(), root.toString());
    assertEquals(0, text.exit(), text.err());
    assertTrue(text.out().contains("local (local-nvme)") && text.out().contains("raw on s3-standard"), text.out());
    assertTrue(text.out().contains("storage savings: "), text.out());
    Run json = run(new CostCommand(), root.toString(), "--json");
    assertEquals(0, json.exit(), json.err());
    JsonNode node = new ObjectMapper().readTree(json.out());
    try (Repository repo = Repository.open(root)) {
      RepositoryStats stats = repo.stats();
      String why = "seed " + SEED + "\n" + json.out();
      assertEquals(stats.logicalBytes() / 1e9 * 0.023, node.get("rawMonthly").asDouble(), 1e-12, why);
      long held = stats.tiers().stream().mapToLong(t -> t.bytesHeld()).sum();
      assertEquals(held / 1e9 * 0.03, node.get("monthly").asDouble(), 1e-12, why);
      assertEquals(stats.savedBytes(), node.get("savedBytes").asLong(), why);
      assertEquals(stats.uniqueStoredBytes(), node.get("pipelines").get(0).get("storedBytes").asLong(), why);
    }
    Path prices = dir.resolve("prices.yaml");
    Files.writeString(prices, "classes: {local-nvme: {storage: 0.06}}\n");
    Run priced = run(new CostCommand(), root.toString(), "--json", "--prices", prices.toString());
    assertEquals(2 * node.get("monthly").asDouble(), new ObjectMapper().readTree(priced.out()).get("monthly").asDouble(), 1e-12);
  }

  /**
   * Every amount {@code cost} prints is in one format, which {@code report} shares: in cents from
   * a dollar up, two significant digits below. Before, a repository costing about a cent a month
   * read "$0.009" and "$0.009038" for one amount, and "$0.01" beside them for $0.0114.
   */
  @Test
  void costWritesEveryAmountInOneFormat(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    Path prices = dir.resolve("prices.yaml");
    // prices that put the monthly amounts around a cent
    Files.writeString(prices, "classes: {local-nvme: {storage: 30}, s3-standard: {storage: 19}}\n");
    Run text = run(new CostCommand(), root.toString(), "--prices", prices.toString());
    assertEquals(0, text.exit(), text.err());
    Matcher amounts = Pattern.compile("\\$([0-9][0-9,]*\\.?[0-9]*)(/GB)?").matcher(text.out());
    int checked = 0;
    boolean belowACent = false;
    boolean aboveACent = false;
    while (amounts.find()) {
      if (amounts.group(2) != null) {
        continue; // a unit price, written with all its digits
      }
      String amount = amounts.group(1);
      double value = Double.parseDouble(amount.replace(",", ""));
      String why = "seed " + SEED + ": $" + amount + " in\n" + text.out();
      if (value >= 1) {
        assertTrue(amount.matches("[0-9,]+\\.[0-9]{2}"), why);
      } else {
        assertTrue(amount.matches("0\\.0*[1-9][0-9]"), "two significant digits: " + why);
      }
      belowACent |= value < 0.01;
      aboveACent |= value >= 0.01;
      checked++;
    }
    assertTrue(checked >= 6 && belowACent && aboveACent, text.out());
    Run json = run(new CostCommand(), root.toString(), "--json", "--prices", prices.toString());
    JsonNode node = new ObjectMapper().readTree(json.out());
    String monthly = io.dharmana.cost.Money.usd(node.get("monthly").asDouble());
    assertTrue(text.out().matches("(?s).*total per month +\\Q" + monthly + "\\E\n.*") && text.out().contains(monthly + "/month vs"),
        monthly + " in\n" + text.out());
    Run report = run(new ReportCommand(), root.toString(), "--prices", prices.toString());
    assertEquals(0, report.exit(), report.err());
    assertTrue(report.out().contains("cost         " + monthly + "/month vs "), monthly + " in\n" + report.out());
  }

  /**
   * A repository whose data did not compress stores a few bytes more than it holds, on a local tier
   * dearer than raw S3: the report and cost say so ("more stored than logical", "costs 30.4% more
   * than raw"), not "saved -0.0%" or "saved -30.4%".
   */
  @Test
  void reportAndCostSayWhenMoreIsStoredOrPaidThanRaw(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("repo");
    byte[] noise = new byte[300_000];
    new Random(SEED).nextBytes(noise);
    try (Repository repo = Repository.init(root, Repository.defaultPipeline())) {
      repo.put("noise.bin", new ByteArrayInputStream(noise), PutOptions.defaults());
      RepositoryStats stats = repo.stats();
      long overhead = stats.uniqueStoredBytes() - stats.logicalBytes();
      assertTrue(overhead > 0 && overhead * 2000 < stats.logicalBytes(), "seed " + SEED + ": stored a hair more than held: " + stats);
    }
    Path page = dir.resolve("report.html");
    Run r = run(new ReportCommand(), root.toString(), "-o", page.toString());
    assertEquals(0, r.exit(), r.err());
    assertFalse(r.out().contains("-0.0%") || r.out().contains("-0%") || r.out().contains("saved -"), r.out());
    // the page says the same: no negative saving, no "0.26x smaller"
    String html = Files.readString(page);
    String text = html.replaceAll("(?s)<(script|style)[^>]*>.*?</\\1>", " ").replaceAll("<[^>]+>", " ");
    assertFalse(text.contains("Saved -") || text.contains("saved -") || text.contains(" -0") || text.contains("(-"), text);
    assertTrue(text.contains("More stored") && text.contains("more than logical") && text.contains("more than raw"), text);
    assertFalse(text.matches("(?s).*\\b0\\.\\d+× smaller.*"), "a ratio below 1 is larger, not smaller: " + text);
    assertTrue(r.out().matches("(?s).*\nbytes        \\d+ B more stored than logical \\(0\\.0% more\\)\n.*"), r.out());
    assertTrue(r.out().matches("(?s).*\ncost  .* raw on s3-standard \\(costs \\d+\\.\\d% more than raw\\)\n.*"), r.out());
    Run cost = run(new CostCommand(), root.toString());
    assertEquals(0, cost.exit(), cost.err());
    assertFalse(cost.out().contains("saved -") || cost.out().contains("-0.0%"), cost.out());
    assertTrue(cost.out().matches("(?s).*\\(raw \\S+, costs \\d+\\.\\d% more than raw\\)\n.*"), cost.out());
    assertTrue(cost.out().contains(" more stored than logical (0.0% more); "), cost.out());
  }

  @Test
  void reportWritesThePageAndPrintsTheSummary(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    Path page = dir.resolve("out").resolve("report.html");
    Run r = run(new ReportCommand(), root.toString(), "-o", page.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("bottleneck: ") && r.out().contains("write path"), r.out());
    String html = Files.readString(page);
    assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("Tier distribution"), html.substring(0, 200));
    Run missing = run(new ReportCommand(), root.toString(), "--run", "no-such-run");
    assertEquals(Main.FAILED, missing.exit());
    assertTrue(missing.err().contains("Cannot report run 'no-such-run'"), missing.err());
  }

  @Test
  void aFreshRepositoryHasNoHitRateAndNoRatio(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("fresh");
    Repository.init(root, Repository.defaultPipeline()).close();
    Run r = run(new ReportCommand(), root.toString());
    assertEquals(0, r.exit(), r.err());
    // not "hit rate 100% (0 hits, 0 misses)": no reads, no rate
    assertTrue(!r.out().contains("hit rate") && r.out().contains("tiers\n  local "), r.out());
    // nothing stored is not "1.00×" smaller
    assertTrue(r.out().contains("0 B stored (-; dedup"), r.out());
    Run cost = run(new CostCommand(), root.toString());
    assertTrue(cost.out().contains("0 B logical stored as 0 B (-), saved 0 B (0.0% of logical);"), cost.out());
    Path page = dir.resolve("fresh.html");
    assertEquals(0, run(new ReportCommand(), root.toString(), "-o", page.toString()).exit());
    assertTrue(Files.readString(page).contains("nothing stored yet") && !Files.readString(page).contains("1.00×"), "the page too");
    try (Repository repo = Repository.open(root)) {
      repo.put("one", new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults());
    }
    Run one = run(new CostCommand(), root.toString());
    assertTrue(one.out().contains("   1 object      "), "not '1 objects': " + one.out());
    Run held = run(new ReportCommand(), root.toString());
    // its own read of the object's manifest is not a hit of the tier
    assertTrue(held.out().contains("holds        1 object, ") && !held.out().contains(" hit"), held.out());
  }

  @Test
  void reportJsonCarriesTheSummarysFiguresForScripts(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    Run text = run(new ReportCommand(), root.toString());
    Path page = dir.resolve("report.html");
    Run r = run(new ReportCommand(), root.toString(), "--json", "-o", page.toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode json = new ObjectMapper().readTree(r.out()); // strict: NaN or Infinity would not parse
    assertEquals(root.toAbsolutePath().toString(), json.get("repository").asText());
    assertEquals(page.toAbsolutePath().toString(), json.get("output").asText());
    assertTrue(Files.readString(page).startsWith("<!DOCTYPE html>"));
    assertEquals(1, json.get("recordedRuns").asInt());
    assertEquals("put a", json.get("runs").get(0).get("operation").asText());
    JsonNode write = json.get("bottlenecks").get(0);
    assertEquals("encode", write.get("direction").asText());
    assertTrue(text.out().contains("bottleneck: " + write.get("verdict").asText()), text.out());
    assertTrue(text.out().contains("what if:    " + write.get("whatIf").asText()), text.out());
    assertEquals(write.get("shares").get(0), write.get("limiting"));
    try (Repository repo = Repository.open(root)) {
      assertEquals(repo.stats().logicalBytes(), json.get("stats").get("logicalBytes").asLong());
    }
    assertTrue(json.get("utilization").isNull(), "no run measured an accelerator");
  }

  @Test
  void demoCompletesAndItsSavingsAreTheRepositorysStoredVsLogicalBytes(@TempDir Path dir) throws Exception {
    Path demo = dir.resolve("dharmana-demo");
    String[] args = {"--dir", demo.toString(), "--dataset-mb", "8", "--model-mb", "2", "--steps", "48", "--step-ms", "2",
        "--checkpoint-every", "12", "--keep", "2", "--seed", Long.toString(SEED)};
    Run r = run(new DemoCommand(), args);
    assertEquals(0, r.exit(), r.err() + r.out());
    String why = "seed " + SEED + "\n" + r.out();
    assertTrue(Files.isRegularFile(demo.resolve("report.html")), why);
    assertTrue(r.out().contains("identical to the saved model"), why);
    assertTrue(r.out().contains("accelerator  utilization "), why);
    assertTrue(r.out().contains("try next:"), why);
    assertTrue(r.out().contains("packed       1 shard, 4 MiB"), why);
    try (Repository repo = Repository.open(demo)) {
      RepositoryStats stats = repo.stats();
      try (var checkpoints = io.dharmana.checkpoint.CheckpointManager.open(repo, "demo",
          io.dharmana.checkpoint.CheckpointOptions.DEFAULT)) {
        var kept = checkpoints.list();
        assertEquals(2, kept.size(), why);
        // logical: the data set and the kept steps' raw tensors, each step whole (the stats hold each
        // tensor once); stored: every distinct live chunk, once
        long logical = stats.logicalBytes() - stats.logicalBytesOf(io.dharmana.checkpoint.CheckpointManager.PIPELINE)
            + kept.stream().mapToLong(c -> c.logicalBytes()).sum();
        long stored = stats.uniqueStoredBytes();
        assertTrue(stored <= stats.chunkBytes(), why);
        // the demo words its savings as report and cost do, from the same figures
        RepositoryCost cost = RepositoryCost.of(repo, PriceTable.defaults());
        assertEquals(logical, cost.logicalBytes(), why);
        assertEquals(stored, cost.storedBytes(), why);
        assertTrue(r.out().contains("stored as " + String.format(java.util.Locale.ROOT, "%.2f MiB", stored / 1048576.0) + ": "
            + cost.savedBytesText() + "\n"), cost.savedBytesText() + " in\n" + why);
        Matcher costLine = Pattern.compile("cost +\\S+ per month vs \\S+ raw on \\S+ \\((saved \\d+\\.\\d%|costs \\d+\\.\\d% more than raw)\\)\n")
            .matcher(r.out());
        assertTrue(costLine.find(), why);
      }
    }
    // a second run replaces the earlier demo; a directory that is not one is refused
    assertEquals(0, run(new DemoCommand(), args).exit());
    Path other = Files.createDirectories(dir.resolve("mine"));
    Files.writeString(other.resolve("keep.txt"), "x");
    Run refused = run(new DemoCommand(), "--dir", other.toString());
    assertEquals(Main.FAILED, refused.exit());
    assertTrue(refused.err().contains("Cannot run the demo in"), refused.err());
    assertTrue(Files.exists(other.resolve("keep.txt")));
  }

  /** Times to the second in the summary and the page, to the millisecond in JSON: before, to the nanosecond everywhere. */
  @Test
  void reportTimesAreToTheSecondAndToTheMillisecondInJson(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    String seconds = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";
    Run text = run(new ReportCommand(), root.toString());
    assertTrue(java.util.regex.Pattern.compile("run          put a \\[default\\] at " + seconds + ", ").matcher(text.out()).find(), text.out());
    Path page = dir.resolve("r.html");
    Run json = run(new ReportCommand(), root.toString(), "--json", "-o", page.toString());
    JsonNode node = new ObjectMapper().readTree(json.out());
    String millis = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
    assertTrue(node.get("generated").asText().matches(millis), node.get("generated").asText());
    assertTrue(node.get("runs").get(0).get("end").asText().matches(millis), json.out());
    assertTrue(node.get("runs").get(0).get("start").asText().matches(millis), json.out());
    String html = Files.readString(page);
    assertFalse(java.util.regex.Pattern.compile("T\\d\\d:\\d\\d:\\d\\d\\.\\d").matcher(html).find(), "fractions of a second on the page");
    assertTrue(java.util.regex.Pattern.compile("generated " + seconds).matcher(html).find(), "the page's time");
  }

  /** A repository of checkpoints holds its steps: cost said '0 objects' of the checkpoint pipeline. */
  @Test
  void costAndReportCountTheCheckpointStepsHeld(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("ck");
    Repository.init(root, Repository.defaultPipeline()).close();
    for (int step = 1; step <= 2; step++) {
      Path model = CompressCommandTest.checkpoint(Files.createDirectories(dir.resolve("s" + step)), "model.safetensors", 40, step * 1e-3f);
      CompressCommandTest.Run save = CompressCommandTest.run("checkpoint", "save", root.toString(), "--run", "r", "--step",
          Integer.toString(step), model.toString());
      assertEquals(0, save.exit(), save.err());
    }
    Run cost = run(new CostCommand(), root.toString());
    assertEquals(0, cost.exit(), cost.err());
    assertTrue(java.util.regex.Pattern.compile("\\n  checkpoint +2 steps +\\S+ [KM]iB logical").matcher(cost.out()).find(), cost.out());
    JsonNode pipelines = new ObjectMapper().readTree(run(new CostCommand(), root.toString(), "--json").out()).get("pipelines");
    JsonNode checkpoints = pipelines.get(pipelines.size() - 1);
    assertEquals("checkpoint", checkpoints.get("pipeline").asText());
    assertEquals(2, checkpoints.get("steps").asLong(), pipelines.toString());
    Run report = run(new ReportCommand(), root.toString());
    assertTrue(report.out().contains(" and 2 checkpoint steps, "), report.out());
  }

  /** report -o has no name of its own for the page: a directory is refused by name; before, "Is a directory" or a file named out. */
  @Test
  void reportRefusesAnOutputThatNamesADirectory(@TempDir Path dir) throws Exception {
    Path root = repository(dir);
    Path existing = Files.createDirectories(dir.resolve("pages"));
    CompressCommandTest.Run refused = CompressCommandTest.run("report", root.toString(), "-o", existing.toString());
    assertEquals(Main.INVALID, refused.exit(), refused.err());
    assertTrue(refused.err().contains("Invalid -o " + existing + "/: it names a directory; give the file to write, e.g. -o "
        + existing.resolve("report.html")), refused.err());
    Path fresh = dir.resolve("fresh");
    CompressCommandTest.Run slash = CompressCommandTest.run("report", root.toString(), "-o", fresh + "/");
    assertEquals(Main.INVALID, slash.exit(), slash.err());
    assertFalse(Files.exists(fresh), "neither a file nor a directory named fresh");
  }
}
