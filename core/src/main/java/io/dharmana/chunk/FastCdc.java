package io.dharmana.chunk;

import java.util.SplittableRandom;

/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a Gear rolling hash, cut-point
 * skipping below the minimum size, and normalized chunking (a harder mask before the average
 * size, an easier one after it) so that chunk sizes cluster around the average.
 *
 * <p>The Gear hash shifts left, so bit k depends on the last k+1 bytes; the masks therefore use
 * the high bits, which depend on a window of up to 64 bytes. The Gear table comes from a fixed
 * seed: it is part of the chunk format, because changing it would move every boundary and defeat
 * deduplication against data already stored.
 */
final class FastCdc implements Chunker {
  private static final long[] GEAR = gearTable();

  private final int minSize;
  private final int avgSize;
  private final int maxSize;
  private final int align;
  private final long maskHard;
  private final long maskEasy;

  FastCdc(int minSize, int avgSize, int maxSize, int align) {
    this.minSize = minSize;
    this.avgSize = avgSize;
    this.maxSize = maxSize;
    this.align = align;
    int bits = Integer.numberOfTrailingZeros(avgSize);
    // normalization level 2, as recommended by the paper
    this.maskHard = topBits(bits + 2);
    this.maskEasy = topBits(bits - 2);
  }

  private static long topBits(int n) {
    return n <= 0 ? 0 : -1L << (64 - n);
  }

  private static long[] gearTable() {
    SplittableRandom random = new SplittableRandom(0x44686172_6d616e61L); // "Dharmana"
    long[] table = new long[256];
    for (int i = 0; i < table.length; i++) {
      table[i] = random.nextLong();
    }
    return table;
  }

  @Override
  public int maxSize() {
    return maxSize;
  }

  @Override
  public int nextBoundary(byte[] buf, int offset, int length, boolean last) {
    if (length <= minSize) {
      return length;
    }
    int end = Math.min(length, maxSize);
    int normal = Math.min(end, avgSize);
    long hash = 0;
    int i = minSize;
    for (; i < normal; i++) {
      hash = (hash << 1) + GEAR[buf[offset + i] & 0xff];
      if ((hash & maskHard) == 0) {
        return aligned(i + 1);
      }
    }
    for (; i < end; i++) {
      hash = (hash << 1) + GEAR[buf[offset + i] & 0xff];
      if ((hash & maskEasy) == 0) {
        return aligned(i + 1);
      }
    }
    return end == maxSize ? aligned(end) : end;
  }

  private int aligned(int cut) {
    if (align == 1) {
      return cut;
    }
    int rounded = cut - cut % align;
    return rounded >= minSize ? rounded : cut;
  }
}
