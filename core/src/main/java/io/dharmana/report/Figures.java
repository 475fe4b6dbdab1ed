package io.dharmana.report;

import java.util.Locale;

/** How the report and the terminal summary write numbers, so both show the same figures. */
final class Figures {
  private Figures() {}

  private static final String[] IEC = {"KiB", "MiB", "GiB", "TiB", "PiB"};

  /** Binary units with two decimals below 100 of a unit, so figures line up: 15.24 MiB, 148 GiB. */
  static String bytes(double n) {
    if (Math.abs(n) < 1024) {
      return Math.round(n) + " B";
    }
    double v = n;
    int i = -1;
    while (Math.abs(v) >= 1024 && i < IEC.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f %s" : Math.abs(v) >= 10 ? "%.1f %s" : "%.2f %s", v, IEC[i]);
  }

  static String seconds(double s) {
    if (s >= 100) {
      return String.format(Locale.ROOT, "%.0f s", s);
    }
    if (s >= 1) {
      return String.format(Locale.ROOT, "%.2f s", s);
    }
    if (s >= 0.001) {
      return String.format(Locale.ROOT, "%.1f ms", s * 1e3);
    }
    return String.format(Locale.ROOT, "%.0f µs", s * 1e6);
  }

  static String micros(long us) {
    return seconds(us / 1e6);
  }

  static String rate(double bytesPerSecond) {
    if (bytesPerSecond >= 1e9) {
      return String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9);
    }
    return String.format(Locale.ROOT, "%.1f MB/s", bytesPerSecond / 1e6);
  }

  /** {@code n} and the noun, plural unless {@code n} is 1: "1 object", "2 steps". */
  static String count(long n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** "object " or "objects", as wide, for a count of {@code n} in a column. */
  static String objects(long n) {
    return n == 1 ? "object " : "objects";
  }

  static String ratio(double r) {
    return Double.isNaN(r) ? "-" : Double.isInfinite(r) ? "∞" : String.format(Locale.ROOT, "%.2f×", r);
  }

  static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.0f%%", unsignedZero(fraction * 100, 0.5));
  }

  static String percent1(double fraction) {
    return String.format(Locale.ROOT, "%.1f%%", unsignedZero(fraction * 100, 0.05));
  }

  /** 0 for what rounds to zero: a fraction a hair below it printed as "-0.0%". */
  private static double unsignedZero(double v, double halfUnit) {
    return Math.abs(v) < halfUnit ? 0 : v;
  }

  static String usd(double v) {
    return io.dharmana.cost.Money.usd(v);
  }

  static String times(double factor) {
    return String.format(Locale.ROOT, "%.2f×", factor);
  }
}
