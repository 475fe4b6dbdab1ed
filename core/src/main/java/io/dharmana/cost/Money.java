package io.dharmana.cost;

import java.math.BigDecimal;
import java.math.MathContext;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/**
 * How every amount of money is written (cost reports, the repository report, plans, the demo),
 * so that amounts printed side by side read alike.
 */
public final class Money {
  private Money() {}

  /**
   * US dollars: in cents from one dollar up ($64.40, $1,234.57), with two significant digits
   * below ($0.50, $0.011, $0.0090, $0.0028), so that small amounts next to each other keep the
   * same precision; $0.00 for zero, "-" for what is not a number.
   */
  public static String usd(double value) {
    if (!Double.isFinite(value)) {
      return "-";
    }
    if (value != 0 && Math.abs(value) < 1) {
      BigDecimal rounded = new BigDecimal(value).round(new MathContext(2));
      if (rounded.abs().compareTo(BigDecimal.ONE) < 0) {
        return "$" + (rounded.scale() < 2 ? rounded.setScale(2) : rounded).toPlainString();
      }
    }
    return "$" + new DecimalFormat("#,##0.00", DecimalFormatSymbols.getInstance(Locale.ROOT)).format(value);
  }
}
