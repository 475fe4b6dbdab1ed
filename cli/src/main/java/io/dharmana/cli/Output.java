package io.dharmana.cli;

import io.dharmana.descriptor.ByteSize;
import io.dharmana.metrics.MetricsHistory;
import java.io.PrintWriter;
import java.util.Locale;

/** Formatting shared by the commands: sizes, rates, ratios, counts, JSON. */
final class Output {
  private Output() {}

  /** Sizes in binary units only ({@link ByteSize#formatBinary}); rates stay in MB/s, as the tools they are compared with print them. */
  static String bytes(long n) {
    return ByteSize.formatBinary(n);
  }

  static String rate(long bytes, double seconds) {
    return seconds <= 0 ? "-" : String.format(Locale.ROOT, "%.1f MB/s", bytes / 1e6 / seconds);
  }

  static String ratio(double r) {
    return Double.isInfinite(r) ? "∞" : String.format(Locale.ROOT, "%.3f×", r);
  }

  /** {@code n} and the noun, plural unless {@code n} is 1: "1 step", "2 steps", "0 chunks". */
  static String count(long n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** As {@link #count(long, String)} for a noun whose plural is not noun + s. */
  static String count(long n, String noun, String plural) {
    return n + " " + (n == 1 ? noun : plural);
  }

  static void json(PrintWriter out, Object value) {
    out.println(MetricsHistory.toJson(value));
    out.flush();
  }
}
