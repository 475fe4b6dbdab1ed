package io.dharmana.cost;

import java.util.List;

/**
 * The monthly cost of a set of tiers (US dollars), each line with its arithmetic, and what the
 * same logical bytes would cost kept raw on the baseline class.
 */
public record CostReport(List<Line> lines, double total, Raw raw) {

  /**
   * One tier's monthly cost.
   *
   * @param arithmetic how the figure was reached, e.g. {@code 2,800 GB × $0.023/GB-month = $64.40}
   */
  public record Line(
      String tier, String priceClass, long storedBytes, double storage, double requests, double retrieval, double total,
      String arithmetic) {}

  /** The logical bytes, uncompressed and undeduplicated, on one class: what Dharmana is compared with. */
  public record Raw(String priceClass, long logicalBytes, double total, String arithmetic) {}

  /** What the tiers save against raw storage, as a fraction of the raw cost (negative when they cost more). */
  public double savedFraction() {
    return raw.total() == 0 ? 0 : 1 - total / raw.total();
  }

  /** The report as aligned text lines. */
  public String toText() {
    StringBuilder out = new StringBuilder();
    int width = lines.stream().mapToInt(l -> l.tier().length() + l.priceClass().length() + 3).max().orElse(0);
    for (Line l : lines) {
      String head = l.tier() + " (" + l.priceClass() + ")";
      out.append(String.format(java.util.Locale.ROOT, "  %-" + Math.max(width, 1) + "s  %12s   %s%n", head, Money.usd(l.total()), l.arithmetic()));
    }
    out.append(String.format(java.util.Locale.ROOT, "  %-" + Math.max(width, 1) + "s  %12s%n", "total per month", Money.usd(total)));
    out.append(String.format(java.util.Locale.ROOT, "  raw on %s: %s   (%s)%n", raw.priceClass(), Money.usd(raw.total()), raw.arithmetic()));
    if (raw.total() > 0) {
      double saved = savedFraction();
      // "saved: -30.7% of raw" read as a typo: tiers that cost more than raw storage say so
      out.append(saved >= 0
          ? String.format(java.util.Locale.ROOT, "  saved: %s%% of raw%n", Quantities.sig3(saved * 100))
          : String.format(java.util.Locale.ROOT, "  costs %s%% more than raw%n", Quantities.sig3(-saved * 100)));
    }
    return out.toString();
  }
}
