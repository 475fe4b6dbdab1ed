package io.dharmana.dataset.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import io.dharmana.InvalidDescriptorException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Checks that every line of one JSON Lines file holds one JSON value (RFC 8259, UTF-8), or none.
 * Jackson's strict parser does the work, without building values: one non-blocking parser reads the
 * whole file as a stream of root-level values, fed a line at a time, and this class checks that each
 * value starts and ends on its own line. One parser rather than one a line, because setting up a
 * parser for each line of a million made the pack 1.4 times as long.
 *
 * <p>Jackson lets through a few byte sequences that are not UTF-8 (overlong forms, code points past
 * U+10FFFF) and skips a byte order mark at the start; the JDK's UTF-8 decoder refuses the first, and
 * the second is refused here, as a reader that decodes a sample alone would choke on it.
 *
 * <p>Not thread-safe; one instance reads one file, lines in order. After a refused line it is spent.
 */
final class JsonLinesCheck implements AutoCloseable {
  /** Deeper nesting is refused (Jackson's default), so that a line cannot exhaust memory or a reader's stack. */
  static final int MAX_DEPTH = StreamReadConstraints.DEFAULT_MAX_DEPTH;

  // Lengths of strings, names and numbers are a reader's business; the check is about syntax.
  private static final JsonFactory JSON = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder()
          .maxNestingDepth(MAX_DEPTH)
          .maxStringLength(Integer.MAX_VALUE)
          .maxNameLength(Integer.MAX_VALUE)
          .maxNumberLength(Integer.MAX_VALUE)
          .build())
      .build();
  private static final byte[] NEWLINE = {'\n'};
  private static final byte[] BYTE_ORDER_MARK = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

  private final Path file;
  private final JsonParser parser;
  private final ByteArrayFeeder feeder;
  private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();
  private CharBuffer decoded = CharBuffer.allocate(256);
  private long lineNumber;
  private int depth;
  private int valueColumn;
  private boolean valueOnLine;

  JsonLinesCheck(Path file) {
    this.file = file;
    try {
      this.parser = JSON.createNonBlockingByteArrayParser();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
  }

  /**
   * Checks the next line of the file, without its terminator.
   *
   * @throws InvalidDescriptorException naming the file, the line (from 1) and what is wrong
   */
  void line(byte[] line) {
    lineNumber++;
    if (lineNumber == 1 && startsWithByteOrderMark(line)) {
      throw invalid("a byte order mark (EF BB BF, which JSON Lines has not) at column 1");
    }
    valueOnLine = false;
    try {
      if (line.length > 0) {
        feeder.feedInput(line, 0, line.length);
        readAvailableTokens();
      }
      // the newline ends a number or word at the end of the line; it is JSON whitespace otherwise
      feeder.feedInput(NEWLINE, 0, 1);
      readAvailableTokens();
    } catch (JsonProcessingException e) {
      String column = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
      throw invalid(withoutParserAdvice(e.getOriginalMessage()) + column);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (depth > 0) {
      throw invalid("the value that starts at column " + valueColumn + " does not end on the line");
    }
    checkUtf8(line);
  }

  private void readAvailableTokens() throws IOException {
    for (JsonToken t = parser.nextToken(); t != JsonToken.NOT_AVAILABLE; t = parser.nextToken()) {
      if (t.isStructStart()) {
        if (depth++ == 0) {
          rootValue();
        }
      } else if (t.isStructEnd()) {
        depth--;
      } else if (depth == 0) {
        rootValue();
      }
    }
  }

  private void rootValue() {
    int column = parser.currentTokenLocation().getColumnNr();
    if (valueOnLine) {
      throw invalid("a second JSON value follows the first (one value a line) at column " + column);
    }
    valueOnLine = true;
    valueColumn = column;
  }

  private void checkUtf8(byte[] line) {
    if (decoded.capacity() < line.length) {
      decoded = CharBuffer.allocate(line.length);
    }
    ByteBuffer in = ByteBuffer.wrap(line);
    CoderResult result = utf8.reset().decode(in, decoded.clear(), true);
    if (result.isError()) {
      throw invalid(String.format("invalid UTF-8 (byte 0x%02x) at column %d", line[in.position()] & 0xff, in.position() + 1));
    }
  }

  private static boolean startsWithByteOrderMark(byte[] line) {
    return line.length >= 3 && line[0] == BYTE_ORDER_MARK[0] && line[1] == BYTE_ORDER_MARK[1] && line[2] == BYTE_ORDER_MARK[2];
  }

  /** Jackson's hints name its own switches ("enable `JsonReadFeature.X` to allow"), which a user of Dharmana cannot turn. */
  private static String withoutParserAdvice(String message) {
    return message.replaceAll(": enable `[^`]*` to allow$", "").replaceAll(" \\(not recognized as one since Feature '[A-Z_]+' not enabled for parser\\)", "");
  }

  private InvalidDescriptorException invalid(String problem) {
    return new InvalidDescriptorException("Invalid input " + file + ", line " + lineNumber + ": not JSON: " + problem);
  }

  @Override
  public void close() {
    try {
      parser.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
