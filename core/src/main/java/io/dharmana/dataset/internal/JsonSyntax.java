package io.dharmana.dataset.internal;

/**
 * Checks that a line of a JSON Lines file holds one JSON value (RFC 8259, UTF-8), without building
 * it. Written out rather than asking a parser: a parser per line (Jackson's, fields not
 * canonicalized) made a pack of a million 190-byte lines 1.4 times as long, nearly all of it in the
 * parser's set-up and its interpreted first hundred thousand lines; this is one small method the JIT
 * compiles early.
 */
final class JsonSyntax {
  /** Deeper nesting is refused, as Jackson refuses it by default, so that a line cannot overflow the stack. */
  static final int MAX_DEPTH = 1000;

  private final byte[] text;
  private int pos;

  private JsonSyntax(byte[] text) {
    this.text = text;
  }

  /**
   * What is wrong with {@code line} as one JSON value, with the column (of bytes, from 1) where it
   * goes wrong; null when it holds one value or is blank.
   */
  static String problem(byte[] line) {
    JsonSyntax s = new JsonSyntax(line);
    try {
      s.space();
      if (s.pos == line.length) {
        return null;
      }
      s.value(0);
      s.space();
      if (s.pos < line.length) {
        int start = s.pos;
        try {
          s.value(0);
        } catch (Malformed notAValue) {
          return s.at(start, "expected the end of the line after the value, found " + s.found(start));
        }
        return s.at(start, "a second JSON value follows the first (one value a line)");
      }
      return null;
    } catch (Malformed e) {
      return e.getMessage();
    }
  }

  /** Ends the check: carries the message only, no stack trace (a refused line is no programming error). */
  private static final class Malformed extends RuntimeException {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  private String at(int at, String what) {
    return what + " at column " + (at + 1);
  }

  private Malformed fail(String expected) {
    return new Malformed(at(pos, "expected " + expected + ", found " + found(pos)));
  }

  private String found(int at) {
    if (at >= text.length) {
      return "the end of the line";
    }
    int end = at;
    while (end < text.length && Character.isLetter(text[end])) {
      end++;
    }
    if (end > at) { // a word, as typed: "found 'nul'", not "found 'l'"
      return "'" + new String(text, at, end - at, java.nio.charset.StandardCharsets.US_ASCII) + "'";
    }
    int c = text[at] & 0xff;
    return c > 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c);
  }

  private void space() {
    while (pos < text.length && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\r' || text[pos] == '\n')) {
      pos++;
    }
  }

  private void value(int depth) {
    if (pos == text.length) {
      throw fail("a value");
    }
    switch (text[pos]) {
      case '{' -> object(depth + 1);
      case '[' -> array(depth + 1);
      case '"' -> string();
      case 't' -> literal("true");
      case 'f' -> literal("false");
      case 'n' -> literal("null");
      default -> {
        if (text[pos] == '-' || (text[pos] >= '0' && text[pos] <= '9')) {
          number();
        } else {
          throw fail("a value");
        }
      }
    }
  }

  private void object(int depth) {
    if (depth > MAX_DEPTH) {
      throw new Malformed(at(pos, "nested deeper than " + MAX_DEPTH + " levels"));
    }
    pos++;
    space();
    if (pos < text.length && text[pos] == '}') {
      pos++;
      return;
    }
    while (true) {
      if (pos == text.length || text[pos] != '"') {
        throw fail("a field name in double quotes");
      }
      string();
      space();
      if (pos == text.length || text[pos] != ':') {
        throw fail("':'");
      }
      pos++;
      space();
      value(depth);
      space();
      if (pos < text.length && text[pos] == ',') {
        pos++;
        space();
      } else if (pos < text.length && text[pos] == '}') {
        pos++;
        return;
      } else {
        throw fail("',' or '}'");
      }
    }
  }

  private void array(int depth) {
    if (depth > MAX_DEPTH) {
      throw new Malformed(at(pos, "nested deeper than " + MAX_DEPTH + " levels"));
    }
    pos++;
    space();
    if (pos < text.length && text[pos] == ']') {
      pos++;
      return;
    }
    while (true) {
      value(depth);
      space();
      if (pos < text.length && text[pos] == ',') {
        pos++;
        space();
      } else if (pos < text.length && text[pos] == ']') {
        pos++;
        return;
      } else {
        throw fail("',' or ']'");
      }
    }
  }

  private void string() {
    int start = pos++;
    while (true) {
      if (pos == text.length) {
        throw new Malformed(at(start, "the string that starts here does not end on the line"));
      }
      int c = text[pos] & 0xff;
      if (c == '"') {
        pos++;
        return;
      } else if (c == '\\') {
        pos++;
        if (pos < text.length && "\"\\/bfnrt".indexOf(text[pos]) >= 0) {
          pos++;
        } else if (pos < text.length && text[pos] == 'u') {
          for (int i = 1; i <= 4; i++) {
            if (pos + i >= text.length || Character.digit(text[pos + i], 16) < 0) {
              pos += i;
              throw fail("4 hexadecimal digits after \\u");
            }
          }
          pos += 5;
        } else {
          throw fail("an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX) after '\\'");
        }
      } else if (c < 0x20) {
        throw fail("a character of the string (control characters are escaped in JSON)");
      } else if (c < 0x80) {
        pos++;
      } else {
        utf8(c);
      }
    }
  }

  /** One multi-byte UTF-8 sequence starting with {@code lead}: no overlong forms, no surrogates, nothing past U+10FFFF. */
  private void utf8(int lead) {
    int more;
    int low = 0x80;
    int high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      more = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      more = 2;
      low = lead == 0xe0 ? 0xa0 : 0x80;
      high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      more = 3;
      low = lead == 0xf0 ? 0x90 : 0x80;
      high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
      throw fail("UTF-8 text");
    }
    for (int i = 1; i <= more; i++) {
      int c = pos + i < text.length ? text[pos + i] & 0xff : -1;
      if (c < (i == 1 ? low : 0x80) || c > (i == 1 ? high : 0xbf)) {
        throw fail("UTF-8 text");
      }
    }
    pos += more + 1;
  }

  private void number() {
    if (text[pos] == '-') {
      pos++;
    }
    if (pos < text.length && text[pos] == '0') {
      pos++;
    } else {
      digits();
    }
    if (pos < text.length && text[pos] == '.') {
      pos++;
      digits();
    }
    if (pos < text.length && (text[pos] == 'e' || text[pos] == 'E')) {
      pos++;
      if (pos < text.length && (text[pos] == '+' || text[pos] == '-')) {
        pos++;
      }
      digits();
    }
  }

  private void digits() {
    if (pos == text.length || text[pos] < '0' || text[pos] > '9') {
      throw fail("a digit");
    }
    while (pos < text.length && text[pos] >= '0' && text[pos] <= '9') {
      pos++;
    }
  }

  private void literal(String word) {
    int start = pos;
    for (int i = 0; i < word.length(); i++, pos++) {
      if (pos == text.length || text[pos] != word.charAt(i)) {
        pos = start;
        throw fail("a value");
      }
    }
  }
}
