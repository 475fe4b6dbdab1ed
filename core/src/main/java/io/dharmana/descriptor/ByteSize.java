package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes in bytes as people write them: a plain number of bytes, or a number with a unit. SI
 * units are powers of 1000 ({@code KB, MB, GB, TB, PB}, as disks and cloud bills count), IEC
 * units powers of 1024 ({@code KiB, MiB, GiB, TiB, PiB}). Units are matched ignoring case;
 * fractions are allowed and rounded to the nearest byte ({@code 1.5GiB}).
 *
 * <p>Used by descriptors and by command-line options, so that a size reads the same everywhere.
 */
public final class ByteSize {
  /** What {@link #parse} accepts, for error messages. */
  static final String SYNTAX =
      "use a number of bytes or a number with a unit B, KB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB"
          + " (powers of 1024), e.g. 64KiB, 1.5GiB, 2TB";

  private static final Pattern SIZE =
      Pattern.compile("\\s*([0-9][0-9_]*(?:\\.[0-9]+)?(?:[eE][+]?[0-9]+)?)\\s*([A-Za-z]*)\\s*");

  private static final String[] SI = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  private static final String[] IEC = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  private static final Map<String, Long> UNITS = Map.ofEntries(
      Map.entry("", 1L),
      Map.entry("b", 1L),
      Map.entry("kb", 1000L),
      Map.entry("mb", 1000L * 1000),
      Map.entry("gb", 1000L * 1000 * 1000),
      Map.entry("tb", 1000L * 1000 * 1000 * 1000),
      Map.entry("pb", 1000L * 1000 * 1000 * 1000 * 1000),
      Map.entry("kib", 1L << 10),
      Map.entry("mib", 1L << 20),
      Map.entry("gib", 1L << 30),
      Map.entry("tib", 1L << 40),
      Map.entry("pib", 1L << 50),
      Map.entry("eb", 1000L * 1000 * 1000 * 1000 * 1000 * 1000),
      Map.entry("eib", 1L << 60));

  private ByteSize() {}

  /**
   * Parses a size such as {@code 4096}, {@code 64KiB}, {@code 1.5 GiB} or {@code 2TB}.
   *
   * @throws InvalidDescriptorException when the text is not a size, is negative or exceeds {@code
   *     Long.MAX_VALUE} bytes
   */
  public static long parse(String text) {
    if (text == null) {
      throw new InvalidDescriptorException("Invalid size null: " + SYNTAX);
    }
    if (text.strip().startsWith("-")) {
      throw new InvalidDescriptorException("Invalid size '" + text + "': must be >= 0");
    }
    Matcher m = SIZE.matcher(text);
    Long unit = m.matches() ? UNITS.get(m.group(2).toLowerCase(Locale.ROOT)) : null;
    if (unit == null) {
      throw new InvalidDescriptorException("Invalid size '" + text + "': " + SYNTAX);
    }
    BigDecimal bytes = new BigDecimal(m.group(1).replace("_", ""))
        .multiply(BigDecimal.valueOf(unit))
        .setScale(0, RoundingMode.HALF_UP);
    if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      throw new InvalidDescriptorException("Invalid size '" + text + "': larger than " + Long.MAX_VALUE + " bytes");
    }
    return bytes.longValueExact();
  }

  /**
   * Formats a size for people: {@code 64 MiB}, {@code 84 GB}, {@code 1.5 KiB}, {@code 17 B}. The
   * result is exact when the size is a whole (or two-decimal) multiple of a unit; otherwise it is
   * rounded to two decimals in IEC units ({@code 1.23 GiB}). Use {@link #toText} where the
   * result must parse back to the same number.
   */
  public static String format(long bytes) {
    String exact = exact(bytes, " ", 2);
    // an exact form reads well only when its number is small ("84 GB", not "18798.72 KB")
    if (exact != null && Math.abs(Double.parseDouble(exact.substring(0, exact.indexOf(' ')))) < 1000) {
      return exact;
    }
    return formatBinary(bytes);
  }

  /**
   * Formats a size for people in IEC units only, rounded to two decimals: {@code 2.86 MiB}, {@code
   * 64 MiB}, {@code 1000 B}. Figures that are read side by side (the command line's read-outs) must
   * use this, so that a line never mixes powers of 1000 with powers of 1024 ("3 MB -> 2.86 MiB"
   * reads as a loss where there is none); {@link #format} keeps the units a descriptor was written
   * in.
   */
  public static String formatBinary(long bytes) {
    if (Math.abs(bytes) < 1024) {
      return bytes + " B";
    }
    int i = 0;
    double value = bytes;
    while (Math.abs(value) >= 1024 && i < IEC.length - 1) {
      value /= 1024;
      i++;
    }
    return trim(BigDecimal.valueOf(value).setScale(2, RoundingMode.HALF_UP)) + " " + IEC[i];
  }

  /**
   * Formats a size so that {@link #parse} gives the same number back: {@code 64KiB}, {@code 84GB},
   * or the plain number of bytes when no unit divides it.
   */
  public static String toText(long bytes) {
    String exact = exact(bytes, "", 0);
    return exact == null ? Long.toString(bytes) : exact;
  }

  /** The number with the largest unit (SI or IEC) that represents it exactly with up to {@code decimals}. */
  private static String exact(long bytes, String separator, int decimals) {
    if (bytes == 0) {
      return "0" + separator + "B";
    }
    String best = null;
    long bestUnit = 0;
    BigInteger value = BigInteger.valueOf(bytes);
    BigInteger scale = BigInteger.TEN.pow(decimals);
    for (int i = SI.length - 1; i >= 1; i--) {
      for (String[] units : new String[][] {SI, IEC}) {
        long unit = units == SI ? pow(1000, i) : 1L << (10 * i);
        if (unit > Math.abs(bytes) || unit <= bestUnit) {
          continue;
        }
        if (value.multiply(scale).mod(BigInteger.valueOf(unit)).signum() == 0) {
          BigDecimal number = new BigDecimal(value).divide(BigDecimal.valueOf(unit));
          best = trim(number) + separator + units[i];
          bestUnit = unit;
        }
      }
    }
    return best;
  }

  private static long pow(long base, int exponent) {
    long result = 1;
    for (int i = 0; i < exponent; i++) {
      result *= base;
    }
    return result;
  }

  private static String trim(BigDecimal number) {
    BigDecimal stripped = number.stripTrailingZeros();
    return stripped.scale() <= 0 ? stripped.toBigInteger().toString() : stripped.toPlainString();
  }
}
