package io.dharmana.bench;

import io.dharmana.chunk.ChunkId;
import io.dharmana.chunk.Chunker;
import io.dharmana.chunk.Chunkers;
import io.dharmana.descriptor.ChunkingSpec;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of content-defined chunking (FastCDC, Gear hash) and of the chunk id (SHA-256) over
 * 64 MiB of random bytes; the score is operations per second, so MB/s = score × 64 MiB. A memory
 * copy of the same buffer is measured beside them as the physical limit.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class ChunkingBenchmark {
  static final int SIZE = 64 << 20;
  byte[] data;
  byte[] copy;
  Chunker cdc;

  @Setup
  public void setUp() {
    data = new byte[SIZE];
    copy = new byte[SIZE];
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < SIZE; i += 8) {
      long v = r.nextLong();
      for (int k = 0; k < 8; k++) {
        data[i + k] = (byte) (v >>> (8 * k));
      }
    }
    cdc = Chunkers.of(ChunkingSpec.DEFAULT);
  }

  @Benchmark
  public int fastCdc() {
    int chunks = 0;
    int off = 0;
    while (off < SIZE) {
      off += cdc.nextBoundary(data, off, SIZE - off, true);
      chunks++;
    }
    return chunks;
  }

  @Benchmark
  public int sha256() {
    int h = 0;
    for (int off = 0; off < SIZE; off += 65536) {
      h += ChunkId.of(data, off, 65536).hashCode();
    }
    return h;
  }

  @Benchmark
  public byte[] memoryCopy() {
    System.arraycopy(data, 0, copy, 0, SIZE);
    return copy;
  }
}
