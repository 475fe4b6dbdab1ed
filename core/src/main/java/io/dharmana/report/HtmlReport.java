package io.dharmana.report;

import io.dharmana.runtime.StorageRuntime;

import io.dharmana.cost.CostReport;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.metrics.LatencyStats;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.StageStats;
import io.dharmana.metrics.Timestamps;
import io.dharmana.stage.StageSpec;
import io.dharmana.store.TierStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Renders a {@link RepositoryReport} as one self-contained HTML page: inline CSS and SVG, no
 * script, no font or image fetched, so the file opens anywhere without a network.
 */
final class HtmlReport {
  private static final String[] PALETTE = {"#3b82f6", "#10b981", "#f59e0b", "#8b5cf6", "#ef4444", "#14b8a6", "#ec4899", "#64748b"};

  private HtmlReport() {}

  static String render(RepositoryReport r) {
    StringBuilder h = new StringBuilder(32 * 1024);
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<title>Dharmana report: ").append(esc(r.repository())).append("</title>")
        .append("<style>").append(CSS).append("</style></head><body>\n");
    h.append("<header><h1>Dharmana report</h1><div class=\"sub\">").append(esc(r.repository()))
        .append(" &middot; generated ").append(esc(Timestamps.toSecond(r.generated()))).append("</div></header>\n<main>\n");
    tiles(h, r);
    verdicts(h, r);
    diagrams(h, r);
    stageBars(h, r);
    h.append("<div class=\"grid2\">");
    tiers(h, r);
    cost(h, r);
    h.append("</div>\n<div class=\"grid2\">");
    latency(h, r);
    utilization(h, r);
    h.append("</div>\n");
    history(h, r);
    h.append("<footer>Stage and step times are measured by the runtime and summed over the threads that ran them; "
        + "shares are parts of that sum. Costs are storage only, at list prices or the price table given; GB = 10<sup>9</sup> bytes. "
        + "Raw = the same logical bytes, uncompressed and not deduplicated, on ")
        .append(esc(r.cost().tiers().raw().priceClass())).append(".</footer>\n");
    h.append("</main></body></html>\n");
    return h.toString();
  }

  private static void tiles(StringBuilder h, RepositoryReport r) {
    var s = r.stats();
    h.append("<section class=\"tiles\">");
    tile(h, "Objects", Long.toString(s.objects()), r.pipelines().size() + " pipeline" + (r.pipelines().size() == 1 ? "" : "s"));
    var c = r.cost();
    tile(h, "Logical", Figures.bytes(c.logicalBytes()), "as written");
    tile(h, "Stored", Figures.bytes(c.storedBytes()), Double.isNaN(c.ratio()) ? "nothing stored yet"
        : c.ratio() >= 1 ? Figures.ratio(c.ratio()) + " smaller" : Figures.ratio(1 / c.ratio()) + " larger");
    double savedFraction = c.logicalBytes() == 0 ? 0 : (double) c.savedBytes() / c.logicalBytes();
    // incompressible data and its framing store a little more than was written: said so, not "saved -150 B"
    if (c.savedBytes() >= 0) {
      tile(h, "Saved", Figures.bytes(c.savedBytes()), Figures.percent(savedFraction) + " of logical");
    } else {
      tile(h, "More stored", Figures.bytes(-c.savedBytes()), Figures.percent(-savedFraction) + " more than logical");
    }
    tile(h, "Cost / month", Figures.usd(r.cost().monthly()), "raw " + Figures.usd(r.cost().rawMonthly()) + " ("
        + RepositoryCost.savedCostText(r.cost().tiers().savedFraction()) + ")");
    List<RepositoryReport.UtilizationPoint> util = r.utilization();
    if (!util.isEmpty()) {
      tile(h, "Accelerator", Figures.percent1(r.overallUtilization()), "utilization over " + util.size() + " recorded run"
          + (util.size() == 1 ? "" : "s"));
    }
    h.append("</section>\n");
  }

  private static void tile(StringBuilder h, String label, String value, String note) {
    h.append("<div class=\"tile\"><div class=\"label\">").append(esc(label)).append("</div><div class=\"value\">")
        .append(esc(value)).append("</div><div class=\"note\">").append(esc(note)).append("</div></div>");
  }

  private static void verdicts(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Bottleneck</h2>");
    if (r.bottlenecks().isEmpty()) {
      h.append("<p class=\"muted\">No recorded run has stage times yet: <code>dharmana put</code> and <code>get</code> "
          + "record them in <code>metrics/history.jsonl</code>.</p>");
    }
    for (Bottleneck b : r.bottlenecks()) {
      h.append("<div class=\"verdict\"><div class=\"path\">").append(b.path()).append(" path &middot; ").append(esc(b.pipeline()))
          .append(" &middot; <code>").append(esc(b.operation())).append("</code></div><p class=\"big\">")
          .append(esc(b.verdict())).append(".</p><p>").append(esc(b.whatIf())).append("</p>");
      if (!b.alternatives().isEmpty()) {
        h.append("<ul>");
        for (String a : b.alternatives()) {
          h.append("<li>").append(esc(a)).append("</li>");
        }
        h.append("</ul>");
      }
      h.append("</div>");
    }
    h.append("</section>\n");
  }

  /** The order data flows through a path: runtime steps around the pipeline's stages. */
  static List<StageStats> flow(MetricsSnapshot run, String direction) {
    List<StageStats> path = run.stages().stream().filter(s -> s.direction().equals(direction)).toList();
    List<String> before = direction.equals("encode") ? List.of("chunking", "sha256-original") : List.of("store-read", "sha256-verify");
    List<String> after = direction.equals("encode") ? List.of("sha256-chunk-id", "store-write") : List.of(StorageRuntime.OUTPUT_WRITE);
    List<StageStats> ordered = new ArrayList<>();
    if (direction.equals("encode")) {
      // a coding step (the checkpoint path's float codec) codes the bytes before they are chunked
      path.stream().filter(s -> s.index() < 0 && s.codes()).forEach(ordered::add);
    }
    for (String n : before) {
      path.stream().filter(s -> s.index() < 0 && s.stage().equals(n)).forEach(ordered::add);
    }
    Comparator<StageStats> byIndex = Comparator.comparingInt(StageStats::index);
    path.stream().filter(s -> s.index() >= 0).sorted(direction.equals("encode") ? byIndex : byIndex.reversed()).forEach(ordered::add);
    for (String n : after) {
      path.stream().filter(s -> s.index() < 0 && s.stage().equals(n)).forEach(ordered::add);
    }
    path.stream().filter(s -> !ordered.contains(s)).forEach(ordered::add);
    return ordered;
  }

  private static void diagrams(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Pipeline</h2>");
    for (PipelineDescriptor p : r.pipelines()) {
      h.append("<div class=\"pipe\"><b>").append(esc(p.name())).append("</b>: chunking ")
          .append(esc(chunking(p.storage().chunking()))).append(" &rarr; ")
          .append(esc(p.storage().stages().stream().map(HtmlReport::spec).collect(Collectors.joining(" → "))))
          .append(p.storage().stages().isEmpty() ? "(no stages)" : "").append("</div>");
    }
    h.append("<div class=\"pipe\"><b>tiers</b> (shared by every pipeline): ")
        .append(esc(r.tierSpecs().stream().map(t -> t.name() + " (" + t.kind() + (t.priceClass() == null ? "" : ", " + t.priceClass())
            + (t.capacityBytes() > 0 ? ", " + Figures.bytes(t.capacityBytes()) : "") + ")").collect(Collectors.joining(" → "))))
        .append("</div>");
    boolean any = false;
    for (MetricsSnapshot run : r.runs()) {
      for (String direction : List.of("encode", "decode")) {
        List<StageStats> flow = flow(run, direction);
        if (flow.isEmpty()) {
          continue;
        }
        any = true;
        h.append("<h3>").append(direction.equals("encode") ? "Write" : "Read").append(" path of <code>")
            .append(esc(run.operation())).append("</code> [").append(esc(run.pipeline())).append("]</h3>");
        diagram(h, flow, direction, r);
      }
    }
    if (!any) {
      h.append("<p class=\"muted\">No recorded run to draw.</p>");
    }
    h.append("</section>\n");
  }

  private static String chunking(io.dharmana.descriptor.ChunkingSpec c) {
    return c.kind() + (c.kind().equals("cdc") ? " " + Figures.bytes(c.minSize()) + " / " + Figures.bytes(c.avgSize()) + " / "
        + Figures.bytes(c.maxSize()) : " " + Figures.bytes(c.avgSize()));
  }

  private static String spec(StageSpec s) {
    return s.name() + (s.params().isEmpty() ? "" : " " + s.params());
  }

  /** Stages as boxes (time, throughput, share as colour) with the bytes between them on the arrows. */
  private static void diagram(StringBuilder h, List<StageStats> flow, String direction, RepositoryReport r) {
    double total = flow.stream().mapToLong(StageStats::nanos).sum() / 1e9;
    int boxW = 132;
    int boxH = 74;
    int gap = 86;
    int endW = 104;
    int n = flow.size();
    int width = endW * 2 + n * boxW + (n + 1) * gap;
    int height = 150;
    int y = 44;
    // at most natural size, so a short path is not drawn larger than a long one
    h.append("<svg class=\"diagram\" style=\"max-width:").append(width).append("px\" viewBox=\"0 0 ").append(width).append(' ').append(height)
        .append("\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">")
        .append("<defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">")
        .append("<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#475569\"/></marker></defs>");
    String source = direction.equals("encode") ? "input" : "tiers";
    String sink = direction.equals("encode") ? "tiers" : "output";
    String tierNames = r.tierSpecs().stream().map(t -> t.name()).collect(Collectors.joining(", "));
    endpoint(h, 0, y, endW, boxH, source, direction.equals("encode") ? "" : tierNames);
    int x = endW;
    for (int i = 0; i < n; i++) {
      StageStats s = flow.get(i);
      arrow(h, x, x + gap, y + boxH / 2, Figures.bytes(s.bytesIn()));
      x += gap;
      double share = total == 0 ? 0 : s.seconds() / total;
      h.append("<g><rect x=\"").append(x).append("\" y=\"").append(y).append("\" width=\"").append(boxW).append("\" height=\"")
          .append(boxH).append("\" rx=\"9\" fill=\"").append(heat(share)).append("\" stroke=\"")
          .append(s.codes() ? "#1d4ed8" : "#94a3b8").append("\" stroke-width=\"").append(s.codes() ? 2 : 1).append("\"/>");
      text(h, x + boxW / 2, y + 20, "name", s.stage());
      text(h, x + boxW / 2, y + 39, "fig", Figures.seconds(s.seconds()) + " · " + Figures.percent(share));
      text(h, x + boxW / 2, y + 56, "fig", Figures.rate(s.bytesIn() / Math.max(s.seconds(), 1e-9))
          + (s.codes() ? " · " + Figures.ratio(sizeRatio(s.bytesIn(), s.bytesOut(), direction)) : ""));
      text(h, x + boxW / 2, y + boxH + 16, "kind", s.index() >= 0 ? "stage " + s.index() : s.codes() ? "codec" : "step");
      h.append("</g>");
      x += boxW;
    }
    StageStats last = flow.get(n - 1);
    arrow(h, x, x + gap, y + boxH / 2, Figures.bytes(last.bytesOut()));
    x += gap;
    endpoint(h, x, y, endW, boxH, sink, direction.equals("encode") ? tierNames : "");
    h.append("</svg>");
  }

  private static void endpoint(StringBuilder h, int x, int y, int w, int hgt, String label, String note) {
    h.append("<rect x=\"").append(x + 2).append("\" y=\"").append(y).append("\" width=\"").append(w - 4).append("\" height=\"")
        .append(hgt).append("\" rx=\"").append(hgt / 2).append("\" fill=\"#f1f5f9\" stroke=\"#94a3b8\"/>");
    text(h, x + w / 2, y + hgt / 2 + (note.isEmpty() ? 5 : -2), "name", label);
    if (!note.isEmpty()) {
      text(h, x + w / 2, y + hgt / 2 + 16, "kind", note.length() > 16 ? note.substring(0, 15) + "…" : note);
    }
  }

  private static void arrow(StringBuilder h, int x1, int x2, int y, String label) {
    h.append("<line x1=\"").append(x1 + 4).append("\" y1=\"").append(y).append("\" x2=\"").append(x2 - 4).append("\" y2=\"")
        .append(y).append("\" stroke=\"#475569\" stroke-width=\"2\" marker-end=\"url(#arr)\"/>");
    text(h, (x1 + x2) / 2, y - 9, "edge", label);
  }

  private static void text(StringBuilder h, int x, int y, String cls, String text) {
    h.append("<text x=\"").append(x).append("\" y=\"").append(y).append("\" class=\"").append(cls)
        .append("\" text-anchor=\"middle\">").append(esc(text)).append("</text>");
  }

  /** Pale blue for a small share of the time, through amber, to red for most of it. */
  private static String heat(double share) {
    if (share >= 0.5) {
      return "#fecaca";
    }
    if (share >= 0.25) {
      return "#fde68a";
    }
    if (share >= 0.1) {
      return "#fef3c7";
    }
    return "#e0f2fe";
  }

  private static void stageBars(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Time and ratio per stage</h2>");
    if (r.bottlenecks().isEmpty()) {
      h.append("<p class=\"muted\">No stage times recorded.</p>");
    }
    for (Bottleneck b : r.bottlenecks()) {
      h.append("<h3>").append(b.path().substring(0, 1).toUpperCase(Locale.ROOT)).append(b.path().substring(1))
          .append(" path of <code>").append(esc(b.operation())).append("</code> [").append(esc(b.pipeline())).append("] &middot; ")
          .append(esc(Figures.seconds(b.totalSeconds()))).append(" in total</h3>");
      h.append("<table class=\"bars\"><tr><th>stage / step</th><th class=\"barcol\">share of time</th><th>time</th>"
          + "<th>in</th><th>out</th><th>throughput</th><th>size ratio</th></tr>");
      for (Bottleneck.Share s : b.shares()) {
        boolean limiting = s.equals(b.limiting());
        h.append("<tr").append(limiting ? " class=\"limit\"" : "").append("><td>").append(esc(s.name()))
            .append(s.stage() ? "" : " <span class=\"kindtag\">step</span>").append("</td><td class=\"barcol\"><div class=\"bar\">")
            .append("<span style=\"width:").append(String.format(Locale.ROOT, "%.1f", Math.max(0.5, s.share() * 100)))
            .append("%;background:").append(limiting ? "#ef4444" : s.stage() ? "#3b82f6" : "#94a3b8").append("\"></span><em>")
            .append(Figures.percent1(s.share())).append("</em></div></td><td>").append(esc(Figures.seconds(s.seconds())))
            .append("</td><td>").append(esc(Figures.bytes(s.bytesIn()))).append("</td><td>").append(esc(Figures.bytes(s.bytesOut())))
            .append("</td><td>").append(esc(Figures.rate(s.throughputBytesPerSecond()))).append("</td><td>");
        double ratio = sizeRatio(s.bytesIn(), s.bytesOut(), b.direction());
        double w = Math.min(100, Math.max(1, ratio / maxRatio(b) * 100));
        if (!s.stage() && Math.abs(ratio - 1) < 0.005) {
          h.append("<span class=\"muted\">–</span></td></tr>"); // a step that passes bytes through
        } else {
          h.append("<div class=\"bar small\"><span style=\"width:").append(String.format(Locale.ROOT, "%.1f", w))
              .append("%;background:").append(s.stage() ? "#10b981" : "#a7f3d0").append("\"></span><em>")
              .append(esc(Figures.ratio(ratio))).append(s.stage() ? "" : " new").append("</em></div></td></tr>");
        }
      }
      h.append("</table>");
    }
    h.append("</section>\n");
  }

  private static double maxRatio(Bottleneck b) {
    return b.shares().stream().mapToDouble(s -> sizeRatio(s.bytesIn(), s.bytesOut(), b.direction()))
        .filter(Double::isFinite).max().orElse(1);
  }

  /** Logical over stored size across a stage: in/out when encoding, out/in when decoding. */
  static double sizeRatio(long in, long out, String direction) {
    long logical = direction.equals("decode") ? out : in;
    long stored = direction.equals("decode") ? in : out;
    return stored == 0 ? 1 : (double) logical / stored;
  }

  private static void tiers(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Tier distribution</h2>");
    List<TierStats> tiers = r.stats().tiers();
    long held = tiers.stream().mapToLong(TierStats::bytesHeld).sum();
    h.append("<div class=\"stack\">");
    for (int i = 0; i < tiers.size(); i++) {
      TierStats t = tiers.get(i);
      double share = held == 0 ? 1.0 / tiers.size() : (double) t.bytesHeld() / held;
      h.append("<span style=\"width:").append(String.format(Locale.ROOT, "%.2f", share * 100)).append("%;background:")
          .append(PALETTE[i % PALETTE.length]).append("\" title=\"").append(esc(t.name())).append("\">")
          .append(share > 0.12 ? esc(t.name() + " " + Figures.percent(share)) : "").append("</span>");
    }
    h.append("</div><table><tr><th>tier</th><th>held</th><th>objects</th><th>hit rate</th><th>hits / misses</th>"
        + "<th>promoted</th><th>demoted</th></tr>");
    for (int i = 0; i < tiers.size(); i++) {
      TierStats t = tiers.get(i);
      h.append("<tr><td><i class=\"dot\" style=\"background:").append(PALETTE[i % PALETTE.length]).append("\"></i>")
          .append(esc(t.name())).append("</td><td>").append(esc(Figures.bytes(t.bytesHeld()))).append("</td><td>")
          .append(t.objects()).append("</td><td>").append(t.hits() + t.misses() == 0 ? "–" : Figures.percent1(t.hitRate()))
          .append("</td><td>").append(t.hits()).append(" / ").append(t.misses()).append("</td><td>").append(t.promotions())
          .append(" (").append(esc(Figures.bytes(t.bytesPromoted()))).append(")</td><td>").append(t.demotions()).append(" (")
          .append(esc(Figures.bytes(t.bytesDemoted()))).append(")</td></tr>");
    }
    h.append("</table><p class=\"muted\">Hits and misses count reads since this process opened the repository; "
        + "bytes held are the tiers' contents now.</p></section>");
  }

  private static void cost(StringBuilder h, RepositoryReport r) {
    CostReport c = r.cost().tiers();
    h.append("<section class=\"card\"><h2>Cost per month</h2>");
    double max = Math.max(c.total(), c.raw().total());
    h.append("<table class=\"bars\">");
    for (int i = 0; i < c.lines().size(); i++) {
      CostReport.Line l = c.lines().get(i);
      costRow(h, l.tier() + " (" + l.priceClass() + ")", l.total(), max, PALETTE[i % PALETTE.length], l.arithmetic());
    }
    costRow(h, "total", c.total(), max, "#0f172a", "");
    costRow(h, "raw on " + c.raw().priceClass(), c.raw().total(), max, "#cbd5e1", c.raw().arithmetic());
    String saving = RepositoryCost.savedCostText(c.savedFraction());
    double perMonth = c.raw().total() - c.total();
    h.append("</table><p><b>").append(esc(Character.toUpperCase(saving.charAt(0)) + saving.substring(1))).append("</b>: ")
        .append(esc(Figures.usd(Math.abs(perMonth)))).append(perMonth >= 0 ? " less" : " more").append(" per month.</p>");
    h.append("<table><tr><th>pipeline</th><th>holds</th><th>logical</th><th>stored</th><th>per month</th><th>raw</th><th>against raw</th></tr>");
    for (RepositoryCost.PipelineCost p : r.cost().pipelines()) {
      h.append("<tr><td>").append(esc(p.pipeline())).append("</td><td>").append(esc(RepositoryCost.holds(p))).append("</td><td>")
          .append(esc(Figures.bytes(p.logicalBytes()))).append("</td><td>").append(esc(Figures.bytes(p.storedBytes())))
          .append("</td><td>").append(esc(Figures.usd(p.monthly()))).append("</td><td>").append(esc(Figures.usd(p.rawMonthly())))
          .append("</td><td>").append(esc(RepositoryCost.savedCostText(p.savedFraction()))).append("</td></tr>");
    }
    h.append("</table></section>");
  }

  private static void costRow(StringBuilder h, String label, double value, double max, String color, String title) {
    double w = max == 0 ? 0 : value / max * 100;
    h.append("<tr title=\"").append(esc(title)).append("\"><td>").append(esc(label)).append("</td><td class=\"barcol\"><div class=\"bar\">")
        .append("<span style=\"width:").append(String.format(Locale.ROOT, "%.1f", Math.max(0.5, w))).append("%;background:")
        .append(color).append("\"></span><em>").append(esc(Figures.usd(value))).append("</em></div></td></tr>");
  }

  private static void latency(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Latency</h2>");
    List<LatencyStats> all = r.latencies();
    if (all.isEmpty()) {
      h.append("<p class=\"muted\">No operation latencies recorded.</p></section>");
      return;
    }
    // percentiles on a log scale, one row of bars per operation
    long maxUs = all.stream().mapToLong(LatencyStats::maxMicros).max().orElse(1);
    long minUs = Math.max(1, all.stream().mapToLong(LatencyStats::p50Micros).min().orElse(1));
    double lo = Math.log10(minUs) - 0.3;
    double hi = Math.log10(Math.max(maxUs, minUs * 10)) + 0.05;
    String[] labels = {"p50", "p90", "p99", "p99.9", "max"};
    String[] colors = {"#93c5fd", "#60a5fa", "#3b82f6", "#1d4ed8", "#1e3a8a"};
    int rowH = 18;
    int left = 120;
    int width = 300;
    int height = all.size() * (rowH * 5 + 22) + 30;
    h.append("<svg class=\"chart\" viewBox=\"0 0 ").append(left + width + 70).append(' ').append(height)
        .append("\" xmlns=\"http://www.w3.org/2000/svg\">");
    int y = 8;
    for (LatencyStats l : all) {
      long[] v = {l.p50Micros(), l.p90Micros(), l.p99Micros(), l.p999Micros(), l.maxMicros()};
      h.append("<text x=\"0\" y=\"").append(y + rowH * 2 + 12).append("\" class=\"lab\">").append(esc(l.operation())).append("</text>");
      h.append("<text x=\"0\" y=\"").append(y + rowH * 3 + 12).append("\" class=\"kindsvg\">n = ").append(l.count()).append("</text>");
      for (int i = 0; i < 5; i++) {
        double frac = (Math.log10(Math.max(1, v[i])) - lo) / (hi - lo);
        int w = (int) Math.max(2, Math.round(frac * width));
        h.append("<rect x=\"").append(left).append("\" y=\"").append(y).append("\" width=\"").append(w).append("\" height=\"")
            .append(rowH - 4).append("\" rx=\"3\" fill=\"").append(colors[i]).append("\"/>");
        h.append("<text x=\"").append(left - 6).append("\" y=\"").append(y + rowH - 7).append("\" class=\"kindsvg\" text-anchor=\"end\">")
            .append(labels[i]).append("</text>");
        h.append("<text x=\"").append(left + w + 6).append("\" y=\"").append(y + rowH - 7).append("\" class=\"fig\">")
            .append(esc(Figures.micros(v[i]))).append("</text>");
        y += rowH;
      }
      y += 22;
    }
    h.append("<text x=\"").append(left).append("\" y=\"").append(height - 6).append("\" class=\"kindsvg\">log scale, from ")
        .append(esc(Figures.micros((long) Math.pow(10, lo)))).append("; HdrHistogram, 3 significant digits</text>");
    h.append("</svg></section>");
  }

  private static void utilization(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Accelerator utilization</h2>");
    List<RepositoryReport.UtilizationPoint> points = r.utilization();
    if (points.isEmpty()) {
      h.append("<p class=\"muted\">No run recorded accelerator time (counters <code>")
          .append(RepositoryReport.ACCELERATOR_COMPUTE_NANOS).append("</code> and <code>")
          .append(RepositoryReport.ACCELERATOR_WAIT_NANOS).append("</code>). Emulated training runs record them.</p></section>");
      return;
    }
    int w = 640;
    int hgt = 220;
    int left = 44;
    int top = 14;
    int plotW = w - left - 16;
    int plotH = hgt - top - 34;
    h.append("<svg class=\"chart\" viewBox=\"0 0 ").append(w).append(' ').append(hgt).append("\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (int pct = 0; pct <= 100; pct += 25) {
      int yy = top + plotH - pct * plotH / 100;
      h.append("<line x1=\"").append(left).append("\" x2=\"").append(left + plotW).append("\" y1=\"").append(yy).append("\" y2=\"")
          .append(yy).append("\" stroke=\"#e2e8f0\"/><text x=\"").append(left - 6).append("\" y=\"").append(yy + 4)
          .append("\" class=\"kindsvg\" text-anchor=\"end\">").append(pct).append("%</text>");
    }
    StringBuilder line = new StringBuilder();
    int n = points.size();
    for (int i = 0; i < n; i++) {
      double x = left + (n == 1 ? plotW / 2.0 : (double) i * plotW / (n - 1));
      double yy = top + plotH - points.get(i).utilization() * plotH;
      line.append(i == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f,%.1f", x, yy));
      h.append("<circle cx=\"").append(String.format(Locale.ROOT, "%.1f", x)).append("\" cy=\"")
          .append(String.format(Locale.ROOT, "%.1f", yy)).append("\" r=\"4\" fill=\"#10b981\"><title>")
          .append(esc(points.get(i).operation() + " at " + Timestamps.toSecond(points.get(i).at()) + ": " + Figures.percent1(points.get(i).utilization())))
          .append("</title></circle>");
    }
    h.append("<path d=\"").append(line).append("\" fill=\"none\" stroke=\"#10b981\" stroke-width=\"2.5\"/>");
    h.append("<text x=\"").append(left).append("\" y=\"").append(hgt - 8).append("\" class=\"kindsvg\">")
        .append(esc(Timestamps.toSecond(points.get(0).at()))).append("</text><text x=\"").append(left + plotW).append("\" y=\"").append(hgt - 8)
        .append("\" class=\"kindsvg\" text-anchor=\"end\">").append(esc(Timestamps.toSecond(points.get(n - 1).at()))).append("</text>");
    h.append("</svg><p class=\"muted\">Compute time over compute + waiting for data, per recorded run.</p></section>");
  }

  private static void history(StringBuilder h, RepositoryReport r) {
    h.append("<section class=\"card\"><h2>Recorded runs</h2>");
    List<MetricsSnapshot> runs = r.history();
    if (runs.isEmpty()) {
      h.append("<p class=\"muted\">None yet.</p></section>\n");
      return;
    }
    h.append("<table><tr><th>ended</th><th>operation</th><th>pipeline</th><th>logical</th><th>wall time</th><th>rate</th>"
        + "<th>chunks (dedup)</th></tr>");
    for (MetricsSnapshot s : runs.subList(Math.max(0, runs.size() - 20), runs.size())) {
      boolean selected = r.runs().contains(s);
      long moved = RepositoryReport.moved(s);
      h.append("<tr").append(selected ? " class=\"sel\"" : "").append("><td>").append(esc(Timestamps.toSecond(s.end()))).append("</td><td><code>")
          .append(esc(s.operation())).append("</code></td><td>").append(esc(s.pipeline())).append("</td><td>")
          .append(esc(Figures.bytes(moved))).append("</td><td>").append(esc(Figures.seconds(s.seconds()))).append("</td><td>")
          .append(s.seconds() > 0 ? esc(Figures.rate(moved / s.seconds())) : "–").append("</td><td>").append(s.counter("chunks"))
          .append(" (").append(s.counter("chunks.dedup")).append(")</td></tr>");
    }
    h.append("</table>");
    if (runs.size() > 20) {
      h.append("<p class=\"muted\">The latest 20 of ").append(runs.size()).append(" runs.</p>");
    }
    h.append("</section>\n");
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  private static final String CSS = """
      :root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc}
      *{box-sizing:border-box}
      body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
      header{background:linear-gradient(90deg,#0f172a,#1e3a8a);color:#fff;padding:22px 32px}
      header h1{margin:0;font-size:24px;letter-spacing:.3px}
      header .sub{opacity:.8;font-size:13px;margin-top:2px;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
      main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
      .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin-bottom:16px}
      .tile{background:#fff;border:1px solid var(--line);border-radius:12px;padding:14px 16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
      .tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
      .tile .value{font-size:26px;font-weight:650;margin:2px 0}
      .tile .note{color:var(--muted);font-size:12px}
      .card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
      .card h2{margin:0 0 10px;font-size:17px}
      .card h3{margin:16px 0 6px;font-size:14px;color:#334155}
      .grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
      .grid2>.card{margin-bottom:16px}
      .verdict{border-left:5px solid #ef4444;background:#fef2f2;padding:10px 14px;border-radius:6px;margin:8px 0}
      .verdict .path{font-size:11px;text-transform:uppercase;letter-spacing:.7px;color:#b91c1c;font-weight:700}
      .verdict p{margin:4px 0}.verdict .big{font-size:16px;font-weight:600}
      .verdict ul{margin:4px 0 0 18px;padding:0}
      .pipe{margin:2px 0;color:#334155}
      svg.diagram{width:100%;height:auto;display:block;margin:4px 0 8px}
      svg.chart{width:100%;height:auto;display:block}
      svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
      svg .name{font-size:14px;font-weight:650;fill:#0f172a}
      svg .fig{font-size:12px;fill:#334155}
      svg .edge{font-size:12px;fill:#1e3a8a;font-weight:600}
      svg .kind,svg .kindsvg{font-size:11px;fill:#64748b}
      svg .lab{font-size:13px;font-weight:600;fill:#0f172a}
      table{border-collapse:collapse;width:100%;margin:6px 0}
      th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;border-bottom:1px solid var(--line);padding:5px 8px}
      td{padding:5px 8px;border-bottom:1px solid #f1f5f9;font-variant-numeric:tabular-nums;white-space:nowrap}
      tr.limit td{background:#fef2f2}
      tr.sel td{background:#eff6ff}
      .barcol{width:38%}
      .bar{position:relative;height:18px;background:#f1f5f9;border-radius:4px;overflow:hidden;min-width:120px}
      .bar.small{height:16px;min-width:90px}
      .bar span{position:absolute;left:0;top:0;bottom:0;border-radius:4px}
      .bar em{position:relative;font-style:normal;font-size:12px;padding-left:6px;line-height:18px;color:#0f172a;font-weight:600}
      .kindtag{font-size:10px;color:#64748b;border:1px solid #cbd5e1;border-radius:8px;padding:0 5px;margin-left:4px}
      .stack{display:flex;height:30px;border-radius:8px;overflow:hidden;margin:4px 0 10px}
      .stack span{color:#fff;font-size:12px;font-weight:600;line-height:30px;padding-left:8px;white-space:nowrap;overflow:hidden}
      .dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
      .muted{color:var(--muted);font-size:12px}
      code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
      footer{color:var(--muted);font-size:12px;margin-top:8px}
      """;
}
