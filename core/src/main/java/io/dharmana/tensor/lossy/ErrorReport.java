package io.dharmana.tensor.lossy;

/**
 * Error of an approximation against a reference, as a mergeable snapshot: element count, maximum
 * absolute error, sum of squared errors and sum of squared reference values.
 *
 * <p>{@link #relativeRms()} is {@code sqrt(sum(err^2) / sum(ref^2))} (the RMS error relative to
 * the reference's RMS); {@link #snrDb()} is {@code 10 log10(sum(ref^2) / sum(err^2))}, infinite for
 * an exact approximation. Reports of parts {@link #plus add up} to the report of the whole.
 */
public record ErrorReport(long count, double maxAbsError, double sumSquaredError, double sumSquaredReference) {
  public static final ErrorReport EXACT = new ErrorReport(0, 0, 0, 0);

  public ErrorReport {
    if (count < 0 || !(maxAbsError >= 0) || !(sumSquaredError >= 0) || !(sumSquaredReference >= 0)) {
      throw new IllegalArgumentException("Invalid error report: counts and sums must be >= 0 and not NaN");
    }
  }

  /** Compares {@code approximation} with {@code reference} element by element. */
  public static ErrorReport compare(float[] reference, float[] approximation) {
    if (reference.length != approximation.length) {
      throw new IllegalArgumentException(
          "Cannot compare " + reference.length + " values with " + approximation.length + ": lengths differ");
    }
    Accumulator acc = new Accumulator();
    for (int i = 0; i < reference.length; i++) {
      acc.add(reference[i], approximation[i]);
    }
    return acc.report();
  }

  public ErrorReport plus(ErrorReport other) {
    return new ErrorReport(
        count + other.count,
        Math.max(maxAbsError, other.maxAbsError),
        sumSquaredError + other.sumSquaredError,
        sumSquaredReference + other.sumSquaredReference);
  }

  public double rmsError() {
    return count == 0 ? 0 : Math.sqrt(sumSquaredError / count);
  }

  public double relativeRms() {
    if (sumSquaredError == 0) {
      return 0;
    }
    return sumSquaredReference == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(sumSquaredError / sumSquaredReference);
  }

  public double snrDb() {
    if (sumSquaredError == 0) {
      return Double.POSITIVE_INFINITY;
    }
    return 10 * Math.log10(sumSquaredReference / sumSquaredError);
  }

  @Override
  public String toString() {
    return String.format("max abs %.3g, rel RMS %.4f%%, SNR %.1f dB", maxAbsError, 100 * relativeRms(), snrDb());
  }

  /** Mutable accumulator for one thread. */
  public static final class Accumulator {
    private long count;
    private double max;
    private double sse;
    private double ssr;

    public void add(double reference, double approximation) {
      double err = Math.abs(reference - approximation);
      count++;
      if (err > max || Double.isNaN(err)) {
        max = err;
      }
      sse += err * err;
      ssr += reference * reference;
    }

    public ErrorReport report() {
      return new ErrorReport(count, Double.isNaN(max) ? Double.MAX_VALUE : max, sse, ssr);
    }
  }
}
