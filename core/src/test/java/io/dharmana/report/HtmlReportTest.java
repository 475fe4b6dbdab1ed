package io.dharmana.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.cost.PriceTable;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportTest {
  private static final long SEED = 20261122L;

  /** A repository with objects through two pipelines, one read back, and the runs recorded. */
  static Repository populated(Path dir, long seed) {
    Random random = new Random(seed);
    Repository repo = Repository.init(dir, Repository.defaultPipeline());
    repo.addPipeline(PipelineDescriptor.of("zstd19", StorageDescriptor.of(List.of(StageSpec.of("zstd", Map.of("level", "19"))))));
    byte[] shared = RepositoryCostTest.text(random, 600_000);
    repo.put("data/a", new ByteArrayInputStream(shared), PutOptions.defaults());
    repo.history().append(repo.metrics("default").snapshot("put data/a"));
    // the same bytes through the other pipeline, so the analysis can compare them
    repo.put("data/a-19", new ByteArrayInputStream(shared), PutOptions.defaults().withPipeline("zstd19"));
    repo.history().append(repo.metrics("zstd19").snapshot("put data/a-19"));
    repo.put("data/b", new ByteArrayInputStream(RepositoryCostTest.text(random, 400_000)), PutOptions.defaults().withPipeline("zstd19"));
    // emulated accelerator time, as a training run records it, so the utilization chart has points
    PipelineMetrics train = new PipelineMetrics("default");
    for (int i = 0; i < 4; i++) {
      train.add(RepositoryReport.ACCELERATOR_COMPUTE_NANOS, 800_000_000L + random.nextInt(200_000_000));
      train.add(RepositoryReport.ACCELERATOR_WAIT_NANOS, 50_000_000L + random.nextInt(300_000_000));
      repo.history().append(train.snapshot("train epoch " + i));
    }
    PipelineMetrics reads = repo.metrics("default");
    repo.get("data/a", new ByteArrayOutputStream(), ProgressListener.NONE);
    repo.history().append(reads.snapshot("get data/a"));
    return repo;
  }

  @Test
  void pageIsSelfContainedAndHoldsEverySection(@TempDir Path dir) throws IOException {
    String html;
    String text;
    try (Repository repo = populated(dir.resolve("repo"), SEED)) {
      RepositoryReport report = RepositoryReport.of(repo, null, PriceTable.defaults(), Bottleneck.Demand.NONE);
      html = report.toHtml();
      text = report.toText();
      assertEquals(3, report.bottlenecks().size(), text); // default: write and read; zstd19: write
    }
    String why = "seed " + SEED + "\n" + text;
    for (String section : List.of("Bottleneck", "Pipeline", "Time and ratio per stage", "Tier distribution", "Cost per month",
        "Latency", "Accelerator utilization", "Recorded runs", "<svg class=\"diagram\"", "write path", "read path")) {
      assertTrue(html.contains(section), why + "\nmissing " + section);
    }
    assertFalse(html.contains("<script"), "no scripts");
    assertFalse(Pattern.compile("(src|href)=|url\\((?!#)|@import|@font-face").matcher(html).find(), "nothing fetched");
    assertFalse(html.replace("http://www.w3.org/2000/svg", "").contains("http"), "no network address");
    // the terminal summary carries the same figures
    assertTrue(text.contains("bottleneck: "), why);
    assertTrue(text.contains("compared:   pipeline zstd19"), why);
    assertTrue(text.contains("accelerator  utilization"), why);
  }

  @Test
  void rendersInHeadlessChromiumWithoutConsoleErrors(@TempDir Path dir) throws Exception {
    Optional<String> chromium = chromium();
    Assumptions.assumeTrue(chromium.isPresent(),
        "SKIPPED: no Chromium (install Debian's 'chromium' package, or set DHARMANA_CHROMIUM to the binary)");
    Path page = dir.resolve("report.html");
    try (Repository repo = populated(dir.resolve("repo"), SEED)) {
      Files.writeString(page, RepositoryReport.of(repo, null, PriceTable.defaults(), Bottleneck.Demand.NONE).toHtml(),
          StandardCharsets.UTF_8);
    }
    String keep = System.getProperty("dharmana.report.html");
    if (keep != null) {
      Files.copy(page, Path.of(keep), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    Path shot = Path.of(System.getProperty("dharmana.report.screenshot", dir.resolve("report.png").toString()));
    Files.createDirectories(shot.toAbsolutePath().getParent());
    Files.deleteIfExists(shot);
    Run run = chromium(chromium.get(), dir, "--screenshot=" + shot.toAbsolutePath(), "--window-size=1280,2000",
        page.toUri().toString());
    assertTrue(Files.isRegularFile(shot), "no screenshot; chromium said:\n" + run.output);
    byte[] png = Files.readAllBytes(shot);
    assertTrue(png.length > 20_000, "screenshot of " + png.length + " bytes looks blank; chromium said:\n" + run.output);
    assertEquals((byte) 0x89, png[0]);
    assertEquals('P', png[1]);
    List<String> console = run.output.lines().filter(l -> l.contains(":CONSOLE")).toList();
    assertTrue(console.isEmpty(), "console messages: " + console);

    Run dom = chromium(chromium.get(), dir, "--dump-dom", page.toUri().toString());
    assertTrue(dom.stdout.contains("Tier distribution") && dom.stdout.contains("<svg"), "DOM:\n" + dom.stdout);
    assertTrue(dom.output.lines().noneMatch(l -> l.contains(":CONSOLE")), dom.output);
  }

  private record Run(String stdout, String output) {}

  private static Run chromium(String binary, Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--user-data-dir=" + dir.resolve("chromium-profile").toAbsolutePath(),
        "--enable-logging=stderr", "--v=0"));
    command.addAll(List.of(args));
    Path out = dir.resolve("chromium.out");
    Path err = dir.resolve("chromium.err");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 90 s: " + command + "\n" + Files.readString(err));
    }
    return new Run(Files.readString(out), Files.readString(err));
  }

  private static Optional<String> chromium() {
    String env = System.getenv("DHARMANA_CHROMIUM");
    if (env != null && Files.isExecutable(Path.of(env))) {
      return Optional.of(env);
    }
    for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
