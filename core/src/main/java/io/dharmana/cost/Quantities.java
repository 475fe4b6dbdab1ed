package io.dharmana.cost;

import java.math.BigDecimal;
import java.math.MathContext;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.Duration;
import java.util.Locale;

/**
 * Formats the numbers of plans and cost reports the way the arithmetic is written for people:
 * decimal (SI) units as bandwidth and bills count, three significant digits.
 */
final class Quantities {
  private static final String[] BYTE_UNITS = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};

  private Quantities() {}

  /** Three significant digits, trailing zeros dropped: 368, 31.1, 1.56, 2.8, 0.0417. */
  static String sig3(double value) {
    if (value == 0 || !Double.isFinite(value)) {
      return value == 0 ? "0" : Double.toString(value);
    }
    BigDecimal d = new BigDecimal(value).round(new MathContext(3)).stripTrailingZeros();
    return d.scale() < 0 ? grouped(d.toBigInteger().longValue()) : d.toPlainString();
  }

  /** A plain count with thousands separators: 1,000 or 175,000,000,000. */
  static String grouped(long value) {
    return new DecimalFormat("#,##0", DecimalFormatSymbols.getInstance(Locale.ROOT)).format(value);
  }

  /** Bytes in SI units: 115 KB, 2.8 TB, 368 GB. */
  static String bytes(double bytes) {
    int i = 0;
    double v = bytes;
    while (Math.abs(v) >= 999.5 && i < BYTE_UNITS.length - 1) {
      v /= 1000;
      i++;
    }
    return sig3(v) + " " + BYTE_UNITS[i];
  }

  /** Bytes per second in SI units: 368 GB/s. */
  static String rate(double bytesPerSecond) {
    return bytes(bytesPerSecond) + "/s";
  }

  /** Bytes as billed, in GB of 10^9 bytes: 2,800 GB, 0.115 GB. */
  static String gigabytes(double bytes) {
    double gb = bytes / 1e9;
    return (gb >= 1000 ? grouped(Math.round(gb)) : sig3(gb)) + " GB";
  }

  /** A duration with a unit people say: 10 ms, 850 ms, 30 min, 1.5 h, 7 d. */
  static String duration(Duration d) {
    double s = d.toNanos() / 1e9;
    if (d.getSeconds() > 86_400L * 1000) {
      return sig3(d.getSeconds() / 86_400.0) + " d";
    }
    if (s >= 2 * 86_400) {
      return sig3(s / 86_400) + " d";
    }
    if (s >= 2 * 3600) {
      return sig3(s / 3600) + " h";
    }
    if (s >= 120) {
      return sig3(s / 60) + " min";
    }
    if (s >= 1) {
      return sig3(s) + " s";
    }
    if (s >= 1e-3) {
      return sig3(s * 1e3) + " ms";
    }
    if (s >= 1e-6) {
      return sig3(s * 1e6) + " µs";
    }
    return sig3(s * 1e9) + " ns";
  }

  /** Seconds, for arithmetic on intervals: 1,800 s. */
  static String seconds(double s) {
    return sig3(s) + " s";
  }

  /** A unit price without rounding away its digits: $0.023, $0.00099, $0.14. */
  static String price(double value) {
    return "$" + BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
