package io.dharmana.server;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parts of an HTTP request that S3 routing and signature checks look at, kept raw (as sent) so
 * the signature is computed over what the client signed.
 *
 * @param headers lower-cased names; values in arrival order
 * @param query decoded query parameters in arrival order (a parameter without '=' has value "")
 */
record RequestHead(
    String method, String rawPath, String rawQuery, Map<String, List<String>> headers, List<Map.Entry<String, String>> query) {

  static RequestHead of(String method, String rawPath, String rawQuery, Map<String, List<String>> rawHeaders) {
    Map<String, List<String>> headers = new TreeMap<>();
    rawHeaders.forEach((k, v) -> headers.computeIfAbsent(k.toLowerCase(Locale.ROOT), x -> new ArrayList<>()).addAll(v));
    return new RequestHead(method, rawPath, rawQuery == null ? "" : rawQuery, headers, parseQuery(rawQuery));
  }

  static List<Map.Entry<String, String>> parseQuery(String rawQuery) {
    List<Map.Entry<String, String>> result = new ArrayList<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return result;
    }
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      result.add(Map.entry(decode(name), decode(value)));
    }
    return result;
  }

  /** Percent-decoding as S3 does it: '+' in a query is a space (form encoding), as clients send it. */
  static String decode(String s) {
    if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
      return s;
    }
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw S3Failure.invalidArgument("Invalid percent-encoding in '" + s + "'");
    }
  }

  /** Decodes a path: '+' stays '+' (only queries use form encoding). */
  static String decodePath(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    return decode(s.replace("+", "%2B"));
  }

  String header(String name) {
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  String param(String name) {
    for (Map.Entry<String, String> e : query) {
      if (e.getKey().equals(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  boolean hasParam(String name) {
    return param(name) != null;
  }
}
