package io.dharmana.metrics;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoUnit;

/**
 * How moments are shown to people and to scripts, so every command and the report show them
 * alike. Repositories and the metrics history record nanoseconds; nobody reading a listing or a
 * report has use for them. People get ISO-8601 in UTC to the second; {@code --json} gets ISO-8601
 * to the millisecond, always three digits, so that scripts can sort and diff it.
 */
public final class Timestamps {
  private static final DateTimeFormatter MILLIS = new DateTimeFormatterBuilder().appendInstant(3).toFormatter();

  private Timestamps() {}

  /** {@code 2026-11-22T15:02:11Z}: for tables, summaries and pages. */
  public static String toSecond(Instant at) {
    return at.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** {@code 2026-11-22T15:02:11.120Z}: for {@code --json} (see {@link MetricsHistory#toJson}). */
  public static String toMillisecond(Instant at) {
    return MILLIS.format(at);
  }
}
