package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The encoder sizes tables without writing them: the count must match what is written and read back. */
class PlaneCoderTableTest {
  static LongStream seeds() {
    return LongStream.range(0, 24).map(i -> 0x7AB1E000L + i * 104729);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void countedTableBitsMatchWrittenBitsAndTheTableReadsBack(long seed) {
    Random r = new Random(seed);
    int[] counts = new int[256];
    int symbols = 1 + r.nextInt(256);
    boolean runs = r.nextBoolean();
    int start = r.nextInt(256);
    for (int k = 0; k < symbols; k++) {
      int s = runs ? (start + k) & 0xFF : r.nextInt(256);
      counts[s] += r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(1 << r.nextInt(16));
    }
    long total = 0;
    for (int c : counts) {
      total += c;
    }
    int[] freq = new int[256];
    PlaneCoder.normalize(counts, 0, (int) total, freq, 0);

    ByteSink sink = new ByteSink(64);
    BitWriter bw = new BitWriter(sink);
    PlaneCoder.writeTable(bw, freq, 0);
    assertEquals(bw.bitsWritten(), PlaneCoder.tableBits(freq, 0), "seed " + seed);
    bw.flush();

    int[] back = new int[256];
    PlaneCoder.readTable(new BitReader(new ByteSource(sink.array(), 0, sink.position())), back, 0);
    for (int s = 0; s < 256; s++) {
      assertEquals(freq[s], back[s], "seed " + seed + " symbol " + s);
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void gammaCodesOfAnySizeReadBack(long seed) {
    Random r = new Random(seed);
    int[] values = new int[200];
    for (int i = 0; i < values.length; i++) {
      values[i] = i < 3 ? new int[] {0, Integer.MAX_VALUE, Integer.MAX_VALUE - 1}[i] : (r.nextInt() >>> 1) >>> r.nextInt(31);
    }
    ByteSink sink = new ByteSink(64);
    BitWriter bw = new BitWriter(sink);
    long bits = 0;
    for (int v : values) {
      bw.write(r.nextInt(2), 1); // misalign the codes
      bw.writeGamma(v);
      bits += 1 + BitWriter.gammaBits(v);
    }
    assertEquals(bits, bw.bitsWritten(), "seed " + seed);
    bw.flush();
    BitReader br = new BitReader(new ByteSource(sink.array(), 0, sink.position()));
    for (int i = 0; i < values.length; i++) {
      br.read(1);
      assertEquals(values[i], br.readGamma(), "seed " + seed + " value " + i);
    }
  }

  /** readGamma reads ahead; align must give those bytes back, however few follow the codes. */
  @ParameterizedTest
  @MethodSource("seeds")
  void bytesAfterGammaCodesReadBackAfterAlign(long seed) {
    Random r = new Random(seed);
    int[] values = new int[1 + r.nextInt(40)];
    for (int i = 0; i < values.length; i++) {
      values[i] = r.nextInt(1 << r.nextInt(24));
    }
    int trailing = r.nextInt(12);
    ByteSink sink = new ByteSink(64);
    BitWriter bw = new BitWriter(sink);
    for (int v : values) {
      bw.writeGamma(v);
    }
    bw.flush();
    int codesEnd = sink.position();
    for (int k = 0; k < trailing; k++) {
      sink.writeByte(k * 37 + 11);
    }
    ByteSource in = new ByteSource(sink.array(), 0, sink.position());
    BitReader br = new BitReader(in);
    for (int i = 0; i < values.length; i++) {
      assertEquals(values[i], br.readGamma(), "seed " + seed + " value " + i);
    }
    br.align();
    assertEquals(codesEnd, in.pos, "seed " + seed);
    for (int k = 0; k < trailing; k++) {
      assertEquals((k * 37 + 11) & 0xFF, in.readByte(), "seed " + seed + " trailing byte " + k);
    }
  }
}
