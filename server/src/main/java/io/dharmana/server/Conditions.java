package io.dharmana.server;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/**
 * S3's conditional request headers on reads ({@code If-Match}, {@code If-None-Match},
 * {@code If-Modified-Since}, {@code If-Unmodified-Since}), evaluated in RFC 9110's order with S3's
 * twist that a true If-Match overrides a false If-Unmodified-Since and a false If-None-Match
 * overrides a true If-Modified-Since.
 */
final class Conditions {
  enum Outcome { PROCEED, NOT_MODIFIED, PRECONDITION_FAILED }

  private Conditions() {}

  static Outcome evaluate(RequestHead request, String etag, Instant lastModified) {
    String ifMatch = request.header("if-match");
    String ifNoneMatch = request.header("if-none-match");
    Instant ifModifiedSince = date(request.header("if-modified-since"));
    Instant ifUnmodifiedSince = date(request.header("if-unmodified-since"));
    Instant modified = lastModified.truncatedTo(ChronoUnit.SECONDS);
    if (ifMatch != null) {
      if (!matches(ifMatch, etag)) {
        return Outcome.PRECONDITION_FAILED;
      }
    } else if (ifUnmodifiedSince != null && modified.isAfter(ifUnmodifiedSince)) {
      return Outcome.PRECONDITION_FAILED;
    }
    if (ifNoneMatch != null) {
      if (matches(ifNoneMatch, etag)) {
        return Outcome.NOT_MODIFIED;
      }
    } else if (ifModifiedSince != null && !modified.isAfter(ifModifiedSince)) {
      return Outcome.NOT_MODIFIED;
    }
    return Outcome.PROCEED;
  }

  /** Whether an If-Match / If-None-Match list names this ETag ("*" names any). */
  static boolean matches(String header, String etag) {
    for (String candidate : header.split(",")) {
      String c = candidate.trim();
      if (c.startsWith("W/")) {
        c = c.substring(2);
      }
      if (c.equals("*") || unquote(c).equals(unquote(etag))) {
        return true;
      }
    }
    return false;
  }

  static String unquote(String etag) {
    return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"") ? etag.substring(1, etag.length() - 1) : etag;
  }

  /** An HTTP date; an unparseable one is ignored as RFC 9110 says. */
  static Instant date(String value) {
    if (value == null) {
      return null;
    }
    try {
      return ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
