package io.dharmana.chunk;

import io.dharmana.descriptor.ChunkingSpec;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;

/** Creates chunkers from descriptors and cuts streams with them. */
public final class Chunkers {
  private Chunkers() {}

  public static Chunker of(ChunkingSpec spec) {
    return switch (spec.kind()) {
      case "cdc" -> new FastCdc(spec.minSize(), spec.avgSize(), spec.maxSize(), spec.align());
      case "fixed" -> new FixedChunker(spec.avgSize());
      default -> throw new IllegalArgumentException("Invalid chunking kind " + spec.kind());
    };
  }

  /**
   * Reads {@code in} to the end and hands each chunk, in order, to {@code sink} as a fresh array
   * that the sink may keep. Returns the number of bytes read.
   */
  public static long split(InputStream in, Chunker chunker, Consumer<byte[]> sink) throws IOException {
    int window = Math.max(chunker.maxSize() * 4, 1 << 20);
    byte[] buf = new byte[window];
    int start = 0;
    int end = 0;
    boolean eof = false;
    long total = 0;
    while (true) {
      if (!eof && end - start < chunker.maxSize()) {
        if (start > 0) {
          System.arraycopy(buf, start, buf, 0, end - start);
          end -= start;
          start = 0;
        }
        while (end < buf.length) {
          int n = in.read(buf, end, buf.length - end);
          if (n < 0) {
            eof = true;
            break;
          }
          end += n;
          total += n;
        }
      }
      int available = end - start;
      if (available == 0) {
        return total;
      }
      int cut = chunker.nextBoundary(buf, start, available, eof);
      byte[] chunk = new byte[cut];
      System.arraycopy(buf, start, chunk, 0, cut);
      sink.accept(chunk);
      start += cut;
    }
  }
}
