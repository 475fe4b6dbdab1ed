package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them: a number with a unit {@code ns, us, ms, s, m, h, d} ({@code
 * 850ms}, {@code 30m}, {@code 1.5h}, {@code 7d}) or ISO-8601 ({@code PT30M}). Used by descriptors and
 * command-line options.
 */
public final class Durations {
  /** What {@link #parse} accepts, for error messages. */
  static final String SYNTAX =
      "use a number with a unit ns, us, ms, s, m, h, d (e.g. 850ms, 30s, 30m, 2h, 7d) or ISO-8601 (e.g. PT30M)";

  private static final Pattern DURATION = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-zµ]+)\\s*");
  private static final String[] UNITS = {"d", "h", "m", "s", "ms", "us", "ns"};
  private static final long[] NANOS = {
    86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L, 1L
  };

  private Durations() {}

  /**
   * Parses a duration such as {@code 850ms}, {@code 30m}, {@code 7d} or {@code PT30M}.
   *
   * @throws InvalidDescriptorException when the text is not a duration or is negative
   */
  public static Duration parse(String text) {
    if (text == null) {
      throw new InvalidDescriptorException("Invalid duration null: " + SYNTAX);
    }
    String trimmed = text.strip();
    if (trimmed.startsWith("-")) {
      throw new InvalidDescriptorException("Invalid duration '" + text + "': must be >= 0");
    }
    if (trimmed.startsWith("P") || trimmed.startsWith("p")) {
      try {
        Duration d = Duration.parse(trimmed.toUpperCase(Locale.ROOT));
        if (d.isNegative()) {
          throw new InvalidDescriptorException("Invalid duration '" + text + "': must be >= 0");
        }
        return d;
      } catch (DateTimeParseException e) {
        throw new InvalidDescriptorException("Invalid duration '" + text + "': " + SYNTAX);
      }
    }
    Matcher m = DURATION.matcher(trimmed);
    if (m.matches()) {
      String unit = m.group(2).toLowerCase(Locale.ROOT).replace('µ', 'u');
      for (int i = 0; i < UNITS.length; i++) {
        if (UNITS[i].equals(unit)) {
          BigDecimal nanos = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(NANOS[i]))
              .setScale(0, RoundingMode.HALF_UP);
          try {
            return Duration.ofNanos(nanos.longValueExact());
          } catch (ArithmeticException e) {
            throw new InvalidDescriptorException("Invalid duration '" + text + "': longer than 292 years");
          }
        }
      }
    }
    throw new InvalidDescriptorException("Invalid duration '" + text + "': " + SYNTAX);
  }

  /**
   * Formats a duration with the largest unit that represents it exactly ({@code 850ms}, {@code
   * 30m}, {@code 90s}, {@code 7d}); {@link #parse} gives the same duration back. Durations too long
   * for nanoseconds are written in whole seconds.
   */
  public static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    long nanos;
    try {
      nanos = duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.getSeconds() + "s";
    }
    for (int i = 0; i < UNITS.length; i++) {
      if (nanos % NANOS[i] == 0) {
        return nanos / NANOS[i] + UNITS[i];
      }
    }
    throw new AssertionError("unreachable: ns divides every duration");
  }
}
