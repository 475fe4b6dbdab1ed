package io.dharmana.chunk;

import io.dharmana.descriptor.ChunkingSpec;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ArrayBlockingQueue;
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

  /** The window a split starts with; most objects of a gateway or a dataset are smaller than a full window. */
  private static final int FIRST_WINDOW = 64 << 10;

  /**
   * Full windows that finished splits handed back. A full window is 1 MiB or more, which G1
   * allocates as a humongous object straight in the old generation (and a stream of such
   * allocations starts marking cycles); concurrent writers reuse these instead.
   */
  private static final ArrayBlockingQueue<byte[]> WINDOWS = new ArrayBlockingQueue<>(16);

  /**
   * Reads {@code in} to the end and hands each chunk, in order, to {@code sink} as a fresh array
   * that the sink may keep. Returns the number of bytes read.
   */
  public static long split(InputStream in, Chunker chunker, Consumer<byte[]> sink) throws IOException {
    int window = Math.max(chunker.maxSize() * 4, 1 << 20);
    // starts small and takes the full window only for a stream that fills the first; a cut is made
    // only with maxSize bytes at hand (or at the end), so the cuts do not depend on the size
    byte[] buf = new byte[Math.min(window, FIRST_WINDOW)];
    int start = 0;
    int end = 0;
    boolean eof = false;
    long total = 0;
    try {
      while (true) {
        if (!eof && end - start < chunker.maxSize()) {
          if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
          }
          while (true) {
            while (end < buf.length) {
              int n = in.read(buf, end, buf.length - end);
              if (n < 0) {
                eof = true;
                break;
              }
              end += n;
              total += n;
            }
            if (eof || buf.length >= window) {
              break;
            }
            buf = grow(buf, end, window);
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
    } finally {
      if (buf.length == window) {
        // nothing refers to the window any more: chunks are copies
        WINDOWS.offer(buf);
      }
    }
  }

  /**
   * The full window, reused if one is free: straight from the first, since every step between
   * (128 KiB, 256 KiB, 512 KiB) would be one more allocation, and 512 KiB already a humongous one.
   */
  private static byte[] grow(byte[] buf, int used, int window) {
    byte[] bigger = WINDOWS.poll();
    if (bigger == null || bigger.length != window) {
      bigger = new byte[window]; // none free, or another chunker's size: that one is let go
    }
    System.arraycopy(buf, 0, bigger, 0, used);
    return bigger;
  }
}
