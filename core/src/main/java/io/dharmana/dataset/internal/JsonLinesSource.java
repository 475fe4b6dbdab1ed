package io.dharmana.dataset.internal;

import io.dharmana.dataset.SourceInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Every line of a JSON Lines file is a sample (field {@code json}, without its terminator). The
 * terminator ({@code \n}, {@code \r\n} or none on a last line) is kept as the restore byte so
 * that unpacking gives the file back byte-identical.
 *
 * <p>Each line must hold one JSON value ({@link JsonLinesCheck}): a line that does not is refused
 * with the file, its number and what is wrong, before a reader of the dataset meets it. Blank lines
 * pass, as empty samples, so that the file still comes back byte for byte.
 */
final class JsonLinesSource implements SourceReader {
  static final String FIELD = "json";
  static final byte NO_TERMINATOR = 0;
  static final byte LF = 1;
  static final byte CRLF = 2;

  private final Path file;
  private final String name;
  private final InputStream in;
  private final JsonLinesCheck check;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  // lines are cut out of this buffer with a scan for '\n', not read a byte at a time
  private final byte[] buffer = new byte[1 << 20];
  private int position;
  private int limit;
  private PackedSample next;
  private long lineNumber;
  private long bytes;
  private boolean eof;

  JsonLinesSource(Path file) throws IOException {
    this.file = file;
    this.name = file.getFileName().toString();
    this.in = Files.newInputStream(file);
    this.check = new JsonLinesCheck(file);
  }

  @Override
  public boolean hasNext() {
    if (next == null && !eof) {
      next = readLine();
    }
    return next != null;
  }

  @Override
  public PackedSample next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    PackedSample s = next;
    next = null;
    return s;
  }

  private PackedSample readLine() {
    try {
      line.reset();
      boolean newline = false;
      while (true) {
        if (position == limit) {
          int n = in.read(buffer);
          if (n < 0) {
            break;
          }
          position = 0;
          limit = n;
        }
        int end = position;
        while (end < limit && buffer[end] != '\n') {
          end++;
        }
        line.write(buffer, position, end - position);
        if (end < limit) {
          position = end + 1;
          newline = true;
          break;
        }
        position = limit;
      }
      if (!newline) {
        eof = true;
        if (line.size() == 0) {
          return null;
        }
      }
      byte[] data = line.toByteArray();
      byte terminator = newline ? LF : NO_TERMINATOR;
      if (terminator == LF && data.length > 0 && data[data.length - 1] == '\r') {
        terminator = CRLF;
        data = java.util.Arrays.copyOf(data, data.length - 1);
      }
      lineNumber++;
      check.line(data);
      bytes += data.length + (terminator == NO_TERMINATOR ? 0 : terminator == LF ? 1 : 2);
      return new PackedSample(name + "#" + lineNumber, List.of(FIELD), List.of(data), new byte[] {terminator});
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public SourceInfo info(long firstSample, long samples) {
    return new SourceInfo(SourceInfo.JSONL, name, firstSample, samples, bytes, null, 0);
  }

  @Override
  public void close() throws IOException {
    try (in) {
      check.close();
    }
  }
}
