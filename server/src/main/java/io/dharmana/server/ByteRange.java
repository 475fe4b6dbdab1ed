package io.dharmana.server;

/**
 * One byte range of an HTTP {@code Range: bytes=...} header, resolved against the object size.
 * Multiple ranges are not supported (S3 does not support them either); an unparseable header is
 * ignored, as RFC 9110 says, and a range that starts past the end is S3's InvalidRange (416).
 *
 * @param first offset of the first byte
 * @param length number of bytes (may be 0 only for an empty object)
 */
record ByteRange(long first, long length) {

  long last() {
    return first + length - 1;
  }

  /** The range, or null when the whole object is to be served. */
  static ByteRange parse(String header, long size) {
    if (header == null) {
      return null;
    }
    String h = header.trim();
    if (!h.startsWith("bytes=") || h.indexOf(',') >= 0) {
      return null;
    }
    String spec = h.substring("bytes=".length()).trim();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    String a = spec.substring(0, dash).trim();
    String b = spec.substring(dash + 1).trim();
    try {
      if (a.isEmpty()) {
        if (b.isEmpty()) {
          return null;
        }
        long suffix = Long.parseLong(b);
        if (suffix <= 0) {
          throw invalid(header, size);
        }
        long n = Math.min(suffix, size);
        if (n == 0) {
          throw invalid(header, size);
        }
        return new ByteRange(size - n, n);
      }
      long first = Long.parseLong(a);
      long last = b.isEmpty() ? size - 1 : Long.parseLong(b);
      if (first >= size && first >= 0) {
        throw invalid(header, size);
      }
      if (first < 0 || last < first) {
        return null;
      }
      last = Math.min(last, size - 1);
      return new ByteRange(first, last - first + 1);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static S3Failure invalid(String header, long size) {
    return new S3Failure(416, "InvalidRange", "The requested range '" + header + "' is not satisfiable for an object of " + size + " bytes");
  }
}
