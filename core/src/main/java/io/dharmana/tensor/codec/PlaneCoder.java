package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Codes one plane of byte symbols (an exponent plane, a sign-and-top-mantissa plane, a byte of a
 * delta, ...) as the cheapest of: raw bytes, one constant byte, or static rANS with frequency
 * tables fitted to this plane. The rANS tables may be conditioned on a context known to the
 * decoder before the symbol: the previous symbol of the same plane, or the same element's symbol
 * in an earlier plane (for example the exponent). Contexts that are frequent and distributed
 * differently enough to pay for their own table get one; the rest share a table.
 *
 * <p>rANS: 31-bit state in [2^15, 2^31), 16-bit renormalization, 12-bit frequencies, four
 * interleaved states so the decoder has four independent dependency chains.
 */
final class PlaneCoder {
  static final int SCALE_BITS = 12;
  static final int TOTAL = 1 << SCALE_BITS;
  static final int MASK = TOTAL - 1;
  static final int RANS_L = 1 << 15;
  static final int MAX_TABLES = 64;

  static final int MODE_RAW = 0;
  static final int MODE_CONST = 1;
  static final int MODE_RANS = 2;
  /** Since float coding format 2: a {@link HuffmanCoder} plane. */
  static final int MODE_HUFFMAN = 3;

  /**
   * How much larger than the best rANS coding a plane's Huffman coding may be and still be
   * chosen: it decodes ~2.6x faster (four-way table lookups, up to three symbols each, against a
   * multiply and a renormalization per symbol). On the exponent planes of weights it is ~1.5%
   * larger (0.15% of the file); where a context pays (the exponents of Adam moments, 7-22%
   * smaller conditioned on the previous one), rANS stays.
   */
  static final double HUFFMAN_MAX_LOSS = 0.02;

  /** Context candidates: the previous symbol of the plane, or (values >= 0) an earlier plane. */
  static final int CTX_NONE = -1;
  static final int CTX_SELF = -2;
  /**
   * Since format 2: the symbol four elements back, which the same rANS state decoded (element i
   * is in state i % 4). The previous symbol ({@link #CTX_SELF}) chains all four states into one
   * sequence of dependent loads; four back, each state is a chain of its own and the four run side
   * by side. On Adam moments' exponents it saves 0.2-1% less than the previous symbol does.
   */
  static final int CTX_LANE = -3;
  /** The context code of {@link #CTX_LANE} in the stream (codes 2.. name planes 0..). */
  private static final int LANE_CODE = 255;

  /** Contexts seen fewer times than this never get a table of their own. */
  private static final int MIN_CONTEXT_COUNT = 48;

  /** Bits per symbol of the order-0 coding above which a plane is treated as noise: no context is tried. */
  static final double NOISE_BITS = 7.99;

  /**
   * As {@link #NOISE_BITS}, for the sign-and-mantissa planes of a float split. On weights these
   * code at 7.95-7.97 bits per symbol, where the exponent as context saved 0.013% of two corpus
   * files and nothing on the others, yet counting its pairs cost ~5% of the encoder's time.
   */
  static final double FLOAT_MANTISSA_NOISE_BITS = 7.9;

  /**
   * The fraction of the order-0 coding's bits that conditioning a plane on its own previous symbol
   * must save. Decoding that context is a serial chain (each symbol picks the next one's table):
   * ~4.2 ns per symbol against ~2.2 for order-0. On weights' exponent planes it saved under 1%
   * (0.006% of the corpus files, which decode 1.12x faster without it); on Adam moments, 7-22%.
   */
  static final double SELF_CONTEXT_MIN_SAVING = 0.02;

  private static final int[] NO_CONTEXTS = new int[0];

  /** Symbols per call of a decoding loop (a multiple of 4); see {@code decodeRans}. */
  private static final int DECODE_SLICE = 4096;

  private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

  /** Every how many symbols the noise test samples, and how sure it must be (bits per symbol). */
  private static final int SAMPLE_STEP = 8;

  private static final double SAMPLE_MARGIN_BITS = 0.01;

  private static final double[] LOG2 = new double[TOTAL + 1];
  private static final float[] NLOG2N = new float[1 << 16];

  static {
    for (int i = 1; i <= TOTAL; i++) {
      LOG2[i] = Math.log(i) / Math.log(2);
    }
    for (int i = 1; i < NLOG2N.length; i++) {
      NLOG2N[i] = (float) (i * (Math.log(i) / Math.log(2)));
    }
  }

  private PlaneCoder() {}

  /** Per-thread working memory, so coding a chunk allocates little. */
  static final class Scratch {
    final int[] hist0 = new int[256];
    /** Full histograms of the planes of the current chunk counted so far, and their planes. */
    final int[][] counted = new int[8][256];
    final byte[][] countedPlane = new byte[8][];
    int countedNext;

    /** Forgets the counted planes: the plane arrays are reused, so counts of an earlier chunk are stale. */
    void newChunk() {
      Arrays.fill(countedPlane, null);
      countedNext = 0;
    }

    int countedSlot(byte[] plane) {
      for (int k = 0; k < countedPlane.length; k++) {
        if (countedPlane[k] == plane) {
          return k;
        }
      }
      return -1;
    }
    final int[] hist2 = new int[256 * 256];
    final int[] ctxTotal = new int[256];
    final int[] rest = new int[256];
    final int[] syms = new int[256];
    final int[] groupOf = new int[256];
    final int[] groupOfBest = new int[256];
    final int[] freq = new int[MAX_TABLES * 256];
    final int[] freqBest = new int[MAX_TABLES * 256];
    final int[] cum = new int[MAX_TABLES * 256];
    final int[] groupHist = new int[MAX_TABLES * 256];
    final int[] tmpFreq = new int[256];
    final int[] order = new int[256];
    final long[] orderKeys = new long[256];
    byte[] wordBytes = new byte[0];
    final int[] rowOf = new int[256];
    final long[] enc = new long[MAX_TABLES * 256];
    final int[] decodeMap = new int[256];
    final int[] dec = new int[MAX_TABLES * TOTAL];
    /**
     * Planes conditioned on their previous symbol: per slot, the symbol and the table of the next
     * element ({@code symbol | table << 8}). Each element's table depends on the element before,
     * so decoding is one chain of dependent loads; two-byte slots keep the hot tables in L1.
     */
    final char[] selfSlots = new char[MAX_TABLES * TOTAL];
    /** Per (table, symbol) of a self-conditioned plane: {@code freq << 12 | cumulative freq}. */
    final int[] selfFreq = new int[MAX_TABLES * 256];
    final int[] state = new int[9];
    final HuffmanCoder.Scratch huffman = new HuffmanCoder.Scratch();

    /** Room for the 16-bit words of {@code bytes / 2} symbols' coding, which fills it from the end. */
    byte[] wordBytes(int bytes) {
      if (wordBytes.length < bytes) {
        wordBytes = new byte[Math.max(bytes, wordBytes.length * 2)];
      }
      return wordBytes;
    }
  }

  static double nlog2n(int n) {
    return n < NLOG2N.length ? NLOG2N[n] : n * (Math.log(n) / Math.log(2));
  }

  /** Empirical order-0 entropy in bits of a histogram: what an ideal coder would spend. */
  static double entropyBits(int[] hist, int off) {
    long total = 0;
    double sum = 0;
    for (int s = 0; s < 256; s++) {
      int c = hist[off + s];
      if (c != 0) {
        total += c;
        sum += nlog2n(c);
      }
    }
    return total == 0 ? 0 : total * (Math.log(total) / Math.log(2)) - sum;
  }

  /** As {@link #entropyBits(int[], int)}, visiting only the symbols {@code syms[0..k)} (ascending). */
  static double entropyBits(int[] hist, int off, int[] syms, int k) {
    long total = 0;
    double sum = 0;
    for (int j = 0; j < k; j++) {
      int c = hist[off + syms[j]];
      if (c != 0) {
        total += c;
        sum += nlog2n(c);
      }
    }
    return total == 0 ? 0 : total * (Math.log(total) / Math.log(2)) - sum;
  }

  // ---------------------------------------------------------------- encoding

  /**
   * Writes {@code sym[0..n)} in the cheapest mode.
   *
   * @param planes earlier planes of the same chunk (the decoder has them when it reaches this one)
   * @param contexts context candidates to try besides none: {@link #CTX_SELF} or a plane index
   * @param noiseBits bits per symbol of the order-0 coding above which no context is tried
   * @param minSaving the fraction of the raw size coding must save, else the plane stays raw
   * @param format the float coding format: 2 takes Huffman codings, 1 has none
   */
  static void encode(
      byte[] sym, int n, byte[][] planes, int[] contexts, double noiseBits, double minSaving, int format,
      ByteSink out, Scratch sc) {
    // No loops here, only in the small methods called: a loop would make the JIT compile this
    // large method on stack (once per hot loop, each compile inlining everything) before it
    // compiles it once normally. On a short run that compile time is the largest single cost.
    int[] hist0 = sc.hist0;
    if (minSaving > 0 && n >= 16 * SAMPLE_STEP && sampleLooksLikeNoise(sym, n, minSaving, hist0)) {
      writeRaw(sym, n, out);
      return;
    }
    histogram(sym, n, 1, hist0);
    // A later plane conditioned on this one needs these counts as its context totals.
    int slot = sc.countedNext++ & 7;
    System.arraycopy(hist0, 0, sc.counted[slot], 0, 256);
    sc.countedPlane[slot] = sym;
    int only = onlySymbol(hist0);
    if (only >= 0) {
      out.writeByte(MODE_CONST);
      out.writeByte(only);
      return;
    }
    // Candidate 1: one table for the whole plane.
    long bestBits = (long) (n * 8 * (1 - minSaving));
    int bestCtx = Integer.MIN_VALUE; // raw
    int bestTables = 0;
    normalize(hist0, 0, n, sc.freq, 0);
    long bits0 = codeBits(hist0, 0, sc.freq, 0) + tableBits(sc.freq, 0) + 20 * 8;
    if (bits0 < bestBits) {
      bestBits = bits0;
      bestCtx = CTX_NONE;
      bestTables = 1;
      System.arraycopy(sc.freq, 0, sc.freqBest, 0, 256);
    }
    // Candidates 2..: tables conditioned on a context.
    // Below this size no context can earn its own table; skip the histogram work.
    // Nor when the plane is close to noise (mantissa bits): contexts have never paid there.
    if (n >= 4 * MIN_CONTEXT_COUNT && bits0 <= n * noiseBits) {
      for (int ctx : contexts) {
        int distance = ctx == CTX_SELF ? 1 : ctx == CTX_LANE ? 4 : 0;
        int tables = groupContexts(sym, n, distance, distance > 0 ? sym : planes[ctx], sc);
        if (tables <= 1) {
          continue;
        }
        long bits = 20 * 8 + 8 + tables * 8 + groupedBits(tables, sc);
        long bar = distance > 0 ? Math.min(bestBits, (long) (bits0 * (1 - SELF_CONTEXT_MIN_SAVING))) : bestBits;
        if (bits < bar) {
          bestBits = bits;
          bestCtx = ctx;
          bestTables = tables;
          System.arraycopy(sc.freq, 0, sc.freqBest, 0, tables * 256);
          System.arraycopy(sc.groupOf, 0, sc.groupOfBest, 0, 256);
        }
      }
    }
    if (bestCtx == Integer.MIN_VALUE) {
      writeRaw(sym, n, out);
      return;
    }
    // A Huffman code takes at least the plane's order-0 entropy: where a context codes the plane
    // below that by more than the loss allowed, fitting a code (a sort and a tree per plane, 5% of
    // encoding a delta) cannot change the choice. The margin covers the entropy's float rounding.
    boolean huffmanMayDo = format >= 2
        && (bestCtx == CTX_NONE || entropyBits(hist0, 0) * (1 - 1e-6) <= bestBits * (1 + HUFFMAN_MAX_LOSS));
    if (huffmanMayDo && HuffmanCoder.fit(hist0, sc.huffman) <= bestBits * (1 + HUFFMAN_MAX_LOSS)) {
      out.writeByte(MODE_HUFFMAN);
      HuffmanCoder.encode(sym, n, out, sc.huffman);
      return;
    }
    out.writeByte(MODE_RANS);
    out.writeByte(bestCtx == CTX_NONE ? 0 : bestCtx == CTX_SELF ? 1 : bestCtx == CTX_LANE ? LANE_CODE : 2 + bestCtx);
    int[] map = sc.groupOfBest;
    if (bestCtx != CTX_NONE) {
      writeTableOwners(map, bestTables, out);
    }
    writeTables(sc.freqBest, bestTables, out);
    cumulative(sc.freqBest, bestTables, sc.cum);
    byte[] ctxPlane = bestCtx == CTX_NONE ? null : bestCtx < CTX_NONE ? sym : planes[bestCtx];
    ransEncode(sym, n, bestCtx, ctxPlane, map, sc.freqBest, sc.cum, out, sc);
  }

  private static void writeRaw(byte[] sym, int n, ByteSink out) {
    out.writeByte(MODE_RAW);
    out.write(sym, 0, n);
  }

  /**
   * Low mantissa bytes are noise: a sample tells so at an eighth of the cost of a histogram. The
   * sample's entropy is biased low; Miller-Madow adds back (K-1) / (2 N ln 2) bits.
   */
  private static boolean sampleLooksLikeNoise(byte[] sym, int n, double minSaving, int[] hist0) {
    int samples = histogram(sym, n, SAMPLE_STEP, hist0);
    int seen = 0;
    for (int s = 0; s < 256; s++) {
      seen += hist0[s] != 0 ? 1 : 0;
    }
    double perSymbol = entropyBits(hist0, 0) / samples + (seen - 1) / (2.0 * samples * Math.log(2));
    return perSymbol >= 8 * (1 - minSaving) + SAMPLE_MARGIN_BITS;
  }

  /** The one symbol a histogram holds, or -1 if it holds more than one. */
  private static int onlySymbol(int[] hist) {
    int distinct = 0;
    int only = 0;
    for (int s = 0; s < 256; s++) {
      if (hist[s] != 0) {
        distinct++;
        only = s;
      }
    }
    return distinct <= 1 ? only : -1;
  }

  /** Normalizes the grouped histograms into {@code sc.freq}; returns the bits of codes and tables. */
  private static long groupedBits(int tables, Scratch sc) {
    long bits = 0;
    for (int t = 0; t < tables; t++) {
      int total = 0;
      for (int s = 0; s < 256; s++) {
        total += sc.groupHist[t * 256 + s];
      }
      normalize(sc.groupHist, t * 256, total, sc.freq, t * 256);
      bits += codeBits(sc.groupHist, t * 256, sc.freq, t * 256) + tableBits(sc.freq, t * 256);
    }
    return bits;
  }

  /** Table 0 is the shared one; lists the context owning each other table. */
  private static void writeTableOwners(int[] map, int tables, ByteSink out) {
    out.writeVarint(tables - 1);
    for (int t = 1; t < tables; t++) {
      for (int c = 0; c < 256; c++) {
        if (map[c] == t) {
          out.writeByte(c);
          break;
        }
      }
    }
  }

  private static void writeTables(int[] freq, int tables, ByteSink out) {
    BitWriter bw = new BitWriter(out);
    for (int t = 0; t < tables; t++) {
      writeTable(bw, freq, t * 256);
    }
    bw.flush();
  }

  private static void cumulative(int[] freq, int tables, int[] cum) {
    for (int t = 0; t < tables; t++) {
      int c = 0;
      for (int s = 0; s < 256; s++) {
        cum[t * 256 + s] = c;
        c += freq[t * 256 + s];
      }
    }
  }

  /** Counts every {@code step}-th symbol of {@code sym[0..n)} into {@code hist}; returns how many. */
  private static int histogram(byte[] sym, int n, int step, int[] hist) {
    if (step == 1 && n >= 4096) {
      return histogram4(sym, n, hist);
    }
    Arrays.fill(hist, 0);
    int samples = 0;
    for (int i = 0; i < n; i += step) {
      hist[sym[i] & 0xFF]++;
      samples++;
    }
    return samples;
  }

  /**
   * Greedy grouping: contexts in order of frequency get their own table while the estimated saving
   * exceeds the table's cost. Fills {@code sc.groupOf} and {@code sc.groupHist}; returns the count.
   */
  private static int groupContexts(byte[] sym, int n, int distance, byte[] ctxPlane, Scratch sc) {
    // hist2 is all zero between calls: only the rows of contexts seen are cleared afterwards.
    int[] hist2 = sc.hist2;
    int[] ctxTotal = sc.ctxTotal;
    // One increment per element: the context totals follow from counts already known.
    if (distance > 0) {
      // The contexts are `distance` zeros followed by every symbol but the last `distance`: the
      // plane's histogram, shifted.
      System.arraycopy(sc.hist0, 0, ctxTotal, 0, 256);
      for (int k = 1; k <= Math.min(distance, n); k++) {
        ctxTotal[0]++;
        ctxTotal[sym[n - k] & 0xFF]--;
      }
      selfPairCounts(sym, n, distance, hist2);
    } else {
      int known = sc.countedSlot(ctxPlane);
      if (known >= 0) {
        System.arraycopy(sc.counted[known], 0, ctxTotal, 0, 256);
      } else {
        histogram(ctxPlane, n, 1, ctxTotal);
      }
      pairCounts(ctxPlane, sym, n, hist2);
    }
    int candidates = contextsByCount(ctxTotal, sc.order, sc.orderKeys);
    // Only symbols of the plane can have counts: an exponent plane has a few dozen of 256.
    // Visiting them in ascending order keeps every sum (and so every decision) as before.
    int k0 = presentSymbols(sc.hist0, sc.syms);
    int tables = chooseTables(hist2, candidates, k0, sc);
    if (tables > 1) {
      groupHistograms(hist2, ctxTotal, k0, tables, sc);
    }
    clearRows(hist2, ctxTotal, sc.syms, k0);
    return tables;
  }

  /** The contexts frequent enough for a table of their own, most frequent first; returns how many. */
  private static int contextsByCount(int[] ctxTotal, int[] order, long[] keys) {
    // Sorted as primitive keys (count descending, then context ascending: the order a stable sort
    // of the ascending contexts by count gives), not as boxed contexts with a comparator, which
    // cost ~4% of a compression's CPU.
    int candidates = 0;
    for (int c = 0; c < 256; c++) {
      if (ctxTotal[c] >= MIN_CONTEXT_COUNT) {
        keys[candidates++] = (long) (Integer.MAX_VALUE - ctxTotal[c]) << 8 | c;
      }
    }
    Arrays.sort(keys, 0, candidates);
    for (int k = 0; k < candidates; k++) {
      order[k] = (int) (keys[k] & 0xFF);
    }
    return candidates;
  }

  /** The symbols with a nonzero count, ascending, into {@code syms}; returns how many. */
  private static int presentSymbols(int[] hist, int[] syms) {
    int k0 = 0;
    for (int s = 0; s < 256; s++) {
      if (hist[s] != 0) {
        syms[k0++] = s;
      }
    }
    return k0;
  }

  /** The greedy choice: fills {@code sc.groupOf}; returns the table count. */
  private static int chooseTables(int[] hist2, int candidates, int k0, Scratch sc) {
    int[] rest = sc.rest;
    System.arraycopy(sc.hist0, 0, rest, 0, 256);
    Arrays.fill(sc.groupOf, 0);
    double restBits = entropyBits(rest, 0);
    int tables = 1;
    int[] minus = sc.tmpFreq;
    int[] syms = sc.syms;
    for (int k = 0; k < candidates && tables < MAX_TABLES; k++) {
      int c = sc.order[k];
      int present = 0;
      for (int j = 0; j < k0; j++) {
        int s = syms[j];
        int h = hist2[(c << 8) | s];
        minus[s] = rest[s] - h;
        if (h != 0) {
          present++;
        }
      }
      double own = entropyBits(hist2, c << 8, syms, k0);
      double minusBits = entropyBits(minus, 0, syms, k0);
      double gain = restBits - minusBits - own - (present * 5 + 24);
      if (gain > 0) {
        for (int j = 0; j < k0; j++) {
          rest[syms[j]] = minus[syms[j]];
        }
        restBits = minusBits;
        sc.groupOf[c] = tables++;
      }
    }
    return tables;
  }

  /** Sums the context rows of {@code hist2} per table into {@code sc.groupHist}. */
  private static void groupHistograms(int[] hist2, int[] ctxTotal, int k0, int tables, Scratch sc) {
    int[] syms = sc.syms;
    Arrays.fill(sc.groupHist, 0, tables * 256, 0);
    for (int c = 0; c < 256; c++) {
      if (ctxTotal[c] == 0) {
        continue;
      }
      int g = sc.groupOf[c] << 8;
      for (int j = 0; j < k0; j++) {
        int s = syms[j];
        sc.groupHist[g + s] += hist2[(c << 8) | s];
      }
    }
  }

  /** Zeroes the rows of the contexts seen, so {@code hist2} is all zero for the next plane. */
  private static void clearRows(int[] hist2, int[] ctxTotal, int[] syms, int k0) {
    for (int c = 0; c < 256; c++) {
      if (ctxTotal[c] != 0) {
        for (int j = 0; j < k0; j++) {
          hist2[(c << 8) | syms[j]] = 0;
        }
      }
    }
  }

  /**
   * As {@link #histogram} with step 1, in four interleaved counters: runs of one symbol (common
   * in exponent planes) then do not wait on the previous increment of the same counter.
   */
  private static int histogram4(byte[] sym, int n, int[] hist) {
    int[] lanes = new int[4 * 256];
    int n4 = n & ~3;
    for (int i = 0; i < n4; i += 4) {
      lanes[sym[i] & 0xFF]++;
      lanes[256 | (sym[i + 1] & 0xFF)]++;
      lanes[512 | (sym[i + 2] & 0xFF)]++;
      lanes[768 | (sym[i + 3] & 0xFF)]++;
    }
    for (int i = n4; i < n; i++) {
      lanes[sym[i] & 0xFF]++;
    }
    for (int k = 0; k < 256; k++) {
      hist[k] = lanes[k] + lanes[256 + k] + lanes[512 + k] + lanes[768 + k];
    }
    return n;
  }

  /** Counts the pairs (ctx[i], sym[i]) for i in [0, n) into {@code hist2[ctx << 8 | sym]}. */
  private static void pairCounts(byte[] ctx, byte[] sym, int n, int[] hist2) {
    for (int i = 0; i < n; i++) {
      hist2[(ctx[i] & 0xFF) << 8 | (sym[i] & 0xFF)]++;
    }
  }

  /**
   * As {@link #pairCounts} with each symbol's predecessor as its context (0 for the first): the
   * predecessor is kept from the step before instead of loaded again.
   */
  private static void selfPairCounts(byte[] sym, int n, int distance, int[] hist2) {
    int head = Math.min(distance, n);
    for (int i = 0; i < head; i++) {
      hist2[sym[i] & 0xFF]++;
    }
    for (int i = head; i < n; i++) {
      hist2[(sym[i - distance] & 0xFF) << 8 | sym[i] & 0xFF]++;
    }
  }

  /** Scales counts to frequencies summing to {@link #TOTAL}, every present symbol at least 1. */
  static void normalize(int[] counts, int off, int total, int[] freq, int fOff) {
    if (total == 0) {
      Arrays.fill(freq, fOff, fOff + 256, 0);
      return;
    }
    int sum = 0;
    int maxS = 0;
    for (int s = 0; s < 256; s++) {
      int c = counts[off + s];
      int f = 0;
      if (c != 0) {
        f = (int) (((long) c * TOTAL + total / 2) / total);
        if (f == 0) {
          f = 1;
        }
      }
      freq[fOff + s] = f;
      sum += f;
      if (f > freq[fOff + maxS]) {
        maxS = s;
      }
    }
    int diff = TOTAL - sum;
    if (freq[fOff + maxS] + diff >= 1) {
      freq[fOff + maxS] += diff;
      return;
    }
    // Many rare symbols were rounded up to 1: take the excess from the largest ones in turn.
    while (sum > TOTAL) {
      int big = 0;
      for (int s = 1; s < 256; s++) {
        if (freq[fOff + s] > freq[fOff + big]) {
          big = s;
        }
      }
      int take = Math.min(sum - TOTAL, Math.max(1, freq[fOff + big] / 2));
      freq[fOff + big] -= take;
      sum -= take;
    }
    freq[fOff + maxS] += TOTAL - sum;
  }

  private static long codeBits(int[] counts, int off, int[] freq, int fOff) {
    double bits = 0;
    for (int s = 0; s < 256; s++) {
      int c = counts[off + s];
      if (c != 0) {
        bits += c * (SCALE_BITS - LOG2[freq[fOff + s]]);
      }
    }
    return (long) Math.ceil(bits);
  }

  /** The bits {@link #writeTable} would write, counted without writing them. */
  static long tableBits(int[] freq, int off) {
    long bits = 0;
    int runs = 0;
    int prevEnd = 0;
    int present = 0;
    int s = 0;
    while (s < 256) {
      if (freq[off + s] == 0) {
        s++;
        continue;
      }
      int start = s;
      while (s < 256 && freq[off + s] != 0) {
        s++;
      }
      runs++;
      bits += BitWriter.gammaBits(start - prevEnd) + BitWriter.gammaBits(s - start - 1);
      present += s - start;
      prevEnd = s;
    }
    bits += BitWriter.gammaBits(runs);
    int prev = 0;
    int written = 0;
    for (int k = 0; k < 256 && written < present - 1; k++) {
      int f = freq[off + k];
      if (f == 0) {
        continue;
      }
      int d = f - prev;
      bits += BitWriter.gammaBits((d << 1) ^ (d >> 31));
      prev = f;
      written++;
    }
    return bits;
  }

  /** Present symbols as runs, then frequencies as zigzag differences; the last one is implied. */
  static void writeTable(BitWriter bw, int[] freq, int off) {
    int runs = 0;
    for (int s = 0; s < 256; s++) {
      if (freq[off + s] != 0 && (s == 0 || freq[off + s - 1] == 0)) {
        runs++;
      }
    }
    bw.writeGamma(runs);
    int prevEnd = 0;
    int s = 0;
    int present = 0;
    while (s < 256) {
      if (freq[off + s] == 0) {
        s++;
        continue;
      }
      int start = s;
      while (s < 256 && freq[off + s] != 0) {
        s++;
      }
      bw.writeGamma(start - prevEnd);
      bw.writeGamma(s - start - 1);
      present += s - start;
      prevEnd = s;
    }
    int prev = 0;
    int written = 0;
    for (int k = 0; k < 256 && written < present - 1; k++) {
      int f = freq[off + k];
      if (f == 0) {
        continue;
      }
      int d = f - prev;
      bw.writeGamma((d << 1) ^ (d >> 31));
      prev = f;
      written++;
    }
  }

  /**
   * Encodes backwards (rANS is last-in first-out) with four states, element i in state i % 4.
   * Division by the frequency uses a reciprocal (Alverson), exact for 31-bit states.
   */
  private static void ransEncode(
      byte[] sym, int n, int ctxKind, byte[] ctxPlane, int[] map, int[] freq, int[] cum, ByteSink out, Scratch sc) {
    int tables = ctxKind == CTX_NONE ? 1 : tableCount(map);
    long[] enc = sc.enc;
    encodingTable(freq, cum, tables, enc);
    // Every context kind as one shape, row = rowOf[ctx[i + ctxOff]] | sym[i]: no context reads
    // the plane itself with a zero row table, the previous symbol is the plane one element back.
    int[] rowOf = sc.rowOf;
    byte[] ctx = ctxKind < 0 ? sym : ctxPlane;
    for (int c = 0; c < 256; c++) {
      rowOf[c] = ctxKind == CTX_NONE ? 0 : map[c] << 8;
    }
    byte[] words = sc.wordBytes(2 * n + 4);
    int[] state = sc.state;
    ransLoop(sym, ctx, ctxKind == CTX_SELF ? -1 : ctxKind == CTX_LANE ? -4 : 0, rowOf, n, enc, words, state);
    int w = state[4];
    int nWords = (words.length - w) / 2;
    out.writeInt(state[0]);
    out.writeInt(state[1]);
    out.writeInt(state[2]);
    out.writeInt(state[3]);
    out.writeVarint(nWords);
    out.write(words, w, 2 * nWords);
  }

  private static int tableCount(int[] map) {
    int tables = 0;
    for (int c = 0; c < 256; c++) {
      tables = Math.max(tables, map[c] + 1);
    }
    return tables;
  }

  /**
   * One long per (table, symbol): reciprocal << 32 | bias << 19 | (TOTAL - freq) << 6 | shift,
   * the shift being the whole right shift of x times the reciprocal (32 + ceil(log2 freq) - 1). So
   * the loop takes the bias with one shift of the low int and divides with one shift by the entry
   * itself (a long's shift distance is its low six bits).
   */
  private static void encodingTable(int[] freq, int[] cum, int tables, long[] enc) {
    for (int k = 0; k < tables * 256; k++) {
      int f = freq[k];
      if (f == 0) {
        continue;
      }
      long rcp;
      int shift;
      int bias;
      if (f < 2) {
        rcp = 0xFFFFFFFFL;
        shift = 32;
        bias = cum[k] + TOTAL - 1;
      } else {
        int sh = 32 - Integer.numberOfLeadingZeros(f - 1); // ceil(log2 f)
        rcp = ((1L << (sh + 31)) + f - 1) / f;
        shift = 31 + sh;
        bias = cum[k];
      }
      enc[k] = rcp << 32 | (long) bias << 19 | (long) (TOTAL - f) << 6 | shift;
    }
  }

  /**
   * The rANS coding loop over {@code sym[0..n)}, backwards, element i's table row being
   * {@code rowOf[ctx[i + ctxOff]] | sym[i]} (a context before the first element is 0). The 16-bit
   * words go little-endian into {@code words} from its end backwards; leaves the four final states
   * and the offset of the first word in {@code state}.
   */
  private static void ransLoop(byte[] sym, byte[] ctx, int ctxOff, int[] rowOf, int n, long[] enc, byte[] words, int[] state) {
    int w = words.length;
    // Four states, element i in state i % 4; the encoder runs backwards, so the tail first.
    // A state is renormalized (one word out) when x >= freq << 19, i.e. (x >>> 19) >= freq; the
    // word is stored unconditionally and kept only then, so there is no branch to mispredict.
    // Elements 0..3 are coded one at a time too: with ctxOff -1 (or -4), element 0 (or 0..3) has
    // no context byte.
    int[] x = {RANS_L, RANS_L, RANS_L, RANS_L};
    int n4 = n & ~3;
    int first = Math.min(4, n4);
    for (int i = n - 1; i >= n4; i--) {
      w = ransStep(enc[rowOf[contextOf(ctx, i + ctxOff)] | sym[i] & 0xFF], x, i & 3, words, w);
    }
    int x0 = x[0];
    int x1 = x[1];
    int x2 = x[2];
    int x3 = x[3];
    for (int i = n4 - 4; i >= first; i -= 4) {
      long e3 = enc[rowOf[ctx[i + ctxOff + 3] & 0xFF] | sym[i + 3] & 0xFF];
      long e2 = enc[rowOf[ctx[i + ctxOff + 2] & 0xFF] | sym[i + 2] & 0xFF];
      long e1 = enc[rowOf[ctx[i + ctxOff + 1] & 0xFF] | sym[i + 1] & 0xFF];
      long e0 = enc[rowOf[ctx[i + ctxOff] & 0xFF] | sym[i] & 0xFF];
      int cm3 = (int) e3 >>> 6 & 0xFFF;
      int m3 = (TOTAL - cm3 - 1 - (x3 >>> 19)) >> 31;
      SHORT_LE.set(words, w - 2, (short) x3);
      w += m3 & -2;
      x3 >>>= m3 & 16;
      x3 += ((int) e3 >>> 19) + (int) ((x3 * (e3 >>> 32)) >>> e3) * cm3;
      int cm2 = (int) e2 >>> 6 & 0xFFF;
      int m2 = (TOTAL - cm2 - 1 - (x2 >>> 19)) >> 31;
      SHORT_LE.set(words, w - 2, (short) x2);
      w += m2 & -2;
      x2 >>>= m2 & 16;
      x2 += ((int) e2 >>> 19) + (int) ((x2 * (e2 >>> 32)) >>> e2) * cm2;
      int cm1 = (int) e1 >>> 6 & 0xFFF;
      int m1 = (TOTAL - cm1 - 1 - (x1 >>> 19)) >> 31;
      SHORT_LE.set(words, w - 2, (short) x1);
      w += m1 & -2;
      x1 >>>= m1 & 16;
      x1 += ((int) e1 >>> 19) + (int) ((x1 * (e1 >>> 32)) >>> e1) * cm1;
      int cm0 = (int) e0 >>> 6 & 0xFFF;
      int m0 = (TOTAL - cm0 - 1 - (x0 >>> 19)) >> 31;
      SHORT_LE.set(words, w - 2, (short) x0);
      w += m0 & -2;
      x0 >>>= m0 & 16;
      x0 += ((int) e0 >>> 19) + (int) ((x0 * (e0 >>> 32)) >>> e0) * cm0;
    }
    x[0] = x0;
    x[1] = x1;
    x[2] = x2;
    x[3] = x3;
    for (int i = first - 1; i >= 0; i--) {
      w = ransStep(enc[rowOf[contextOf(ctx, i + ctxOff)] | sym[i] & 0xFF], x, i & 3, words, w);
    }
    System.arraycopy(x, 0, state, 0, 4);
    state[4] = w;
  }

  /** The context symbol at {@code ctx[c]}, 0 before the first element. */
  private static int contextOf(byte[] ctx, int c) {
    return c < 0 ? 0 : ctx[c] & 0xFF;
  }

  /** Codes one element with table entry {@code e} into state {@code x[k]}; returns the new word offset. */
  private static int ransStep(long e, int[] x, int k, byte[] words, int w) {
    int xs = x[k];
    int cm = (int) e >>> 6 & 0xFFF;
    int m = (TOTAL - cm - 1 - (xs >>> 19)) >> 31;
    SHORT_LE.set(words, w - 2, (short) xs);
    w += m & -2;
    xs >>>= m & 16;
    x[k] = xs + ((int) e >>> 19) + (int) ((xs * (e >>> 32)) >>> e) * cm;
    return w;
  }

  // ---------------------------------------------------------------- decoding

  /**
   * Reads a plane written by {@link #encode}. Its symbols are left in {@code views.array[planeIndex]}
   * from {@code views.offset[planeIndex]}: {@code sym} for a coded or constant plane, the encoded
   * buffer itself for a raw one (not copied: the merge reads it there).
   *
   * @param views the planes decoded before this one (its possible contexts), and this one's after
   */
  static void decode(ByteSource in, byte[] sym, int n, PlaneViews views, int planeIndex, Scratch sc) {
    int mode = in.readByte();
    switch (mode) {
      case MODE_CONST -> {
        Arrays.fill(sym, 0, n, (byte) in.readByte());
        views.set(planeIndex, sym, 0);
      }
      case MODE_RAW -> {
        in.require(n, "a raw plane");
        views.set(planeIndex, in.buf, in.pos);
        in.pos += n;
      }
      case MODE_RANS -> {
        decodeRans(in, sym, n, views, planeIndex, sc);
        views.set(planeIndex, sym, 0);
      }
      case MODE_HUFFMAN -> {
        HuffmanCoder.decode(in, sym, n, sc.huffman);
        views.set(planeIndex, sym, 0);
      }
      default -> throw new CorruptDataException("Cannot decode float coding: plane mode " + mode + " is not 0, 1, 2 or 3");
    }
  }

  /** Where the symbols of each decoded plane of a chunk are: an array and the offset of the first. */
  static final class PlaneViews {
    final byte[][] array = new byte[8][];
    final int[] offset = new int[8];

    void set(int plane, byte[] a, int off) {
      array[plane] = a;
      offset[plane] = off;
    }
  }

  private static void decodeRans(ByteSource in, byte[] sym, int n, PlaneViews views, int planeIndex, Scratch sc) {
    int ctxCode = in.readByte();
    int ctxKind;
    byte[] ctxPlane = null;
    int ctxOff = 0;
    if (ctxCode == 0) {
      ctxKind = CTX_NONE;
    } else if (ctxCode == 1) {
      ctxKind = CTX_SELF;
    } else if (ctxCode == LANE_CODE) {
      ctxKind = CTX_LANE;
    } else {
      ctxKind = ctxCode - 2;
      if (ctxKind >= planeIndex) {
        throw new CorruptDataException(
            "Cannot decode float coding: plane " + planeIndex + " names context plane " + ctxKind + ", not an earlier one");
      }
      ctxPlane = views.array[ctxKind];
      ctxOff = views.offset[ctxKind];
    }
    int[] map = sc.decodeMap;
    Arrays.fill(map, 0);
    int tables = ctxKind == CTX_NONE ? 1 : readTableOwners(in, map);
    int[] dec = sc.dec;
    BitReader br = new BitReader(in);
    for (int t = 0; t < tables; t++) {
      decodingTable(br, t, ctxKind < CTX_NONE, map, sc);
    }
    br.align();
    int x0 = in.readInt();
    int x1 = in.readInt();
    int x2 = in.readInt();
    int x3 = in.readInt();
    int nWords = in.readVarint(Integer.MAX_VALUE / 2, "rANS word count");
    in.require(2L * nWords, "rANS words");
    if (x0 < RANS_L || x1 < RANS_L || x2 < RANS_L || x3 < RANS_L) {
      throw new CorruptDataException("Cannot decode float coding: rANS state outside [2^15, 2^31)");
    }
    byte[] buf = in.buf;
    int p = in.pos;
    int end = p + 2 * nWords;
    // Words are read in element order; each state takes one only when it fell below 2^15,
    // and a state never falls so low that one word is not enough. Only the stream end needs a check:
    // reading up to 4 words per group, stop at end - 8 and finish the rest one element at a time.
    int n4 = n & ~3;
    int[] st = sc.state;
    st[0] = x0;
    st[1] = x1;
    st[2] = x2;
    st[3] = x3;
    st[4] = p;
    // The first element's context (with CTX_LANE, the first four's) is symbol 0.
    Arrays.fill(st, 5, 9, map[0] >>> SCALE_BITS);
    // In slices: the launcher turns off on-stack replacement, so a call that starts in the
    // interpreter stays there to its end. Sliced, only the first slices of the first planes are
    // interpreted; the rest run compiled as soon as the compiler is done.
    int i = 0;
    while (true) {
      int to = Math.min(n4, i + DECODE_SLICE);
      int reached;
      if (ctxKind == CTX_NONE) {
        reached = decodeOrder0(dec, buf, end, sym, i, to, st);
      } else if (ctxKind >= 0) {
        reached = decodeByPlane(dec, map, ctxPlane, ctxOff, buf, end, sym, i, to, st);
      } else if (ctxKind == CTX_LANE) {
        reached = decodeByLane(sc.selfSlots, sc.selfFreq, buf, end, sym, i, to, st);
      } else {
        reached = decodeBySelf(sc.selfSlots, sc.selfFreq, buf, end, sym, i, to, st);
      }
      i = reached;
      if (reached < to || to == n4) {
        break; // near the stream end (the tail checks each word) or done
      }
    }
    decodeTail(dec, map, ctxKind, ctxPlane, ctxOff, buf, end, sym, i, n, st, sc);
    in.pos = end;
  }

  /** Reads which context owns each table but the shared table 0 into {@code map}; returns the table count. */
  private static int readTableOwners(ByteSource in, int[] map) {
    int tables = in.readVarint(MAX_TABLES - 1, "context table count") + 1;
    for (int t = 1; t < tables; t++) {
      map[in.readByte()] = t << SCALE_BITS;
    }
    return tables;
  }

  /**
   * Reads table {@code t} and fills its slots: of {@code sc.dec}, or for self contexts of
   * {@code sc.selfSlots} and {@code sc.selfFreq}.
   */
  private static void decodingTable(BitReader br, int t, boolean self, int[] map, Scratch sc) {
    int[] freq = sc.freq;
    Arrays.fill(freq, t * 256, t * 256 + 256, 0);
    readTable(br, freq, t * 256);
    int c = self ? selfTable(freq, t, map, sc.selfSlots, sc.selfFreq) : slotTable(freq, t, sc.dec);
    if (c == 0) {
      // An empty table: any slot is damage. Decoding it yields garbage that the final state
      // check rejects; the entries must still be well-formed (frequency 1, table 0).
      Arrays.fill(sc.dec, t * TOTAL, t * TOTAL + TOTAL, 0);
      Arrays.fill(sc.selfSlots, t * TOTAL, t * TOTAL + TOTAL, (char) 0);
      sc.selfFreq[t * 256] = 1 << SCALE_BITS;
    }
  }

  /** Fills table {@code t} of {@code dec}: {@code symbol | (freq - 1) << 8 | (slot - cum) << 20}; returns the frequency sum. */
  private static int slotTable(int[] freq, int t, int[] dec) {
    int c = 0;
    int base = t * TOTAL;
    for (int s = 0; s < 256; s++) {
      int f = freq[t * 256 + s];
      int packed = s | (f - 1) << 8;
      // An or with a constant array: the compiler vectorizes this loop, not one on k << 20.
      for (int k = 0; k < f; k++) {
        dec[base + c + k] = packed | SLOT_OFFSETS[k];
      }
      c += f;
    }
    return c;
  }

  /** {@code k << 20} for every slot offset k in [0, TOTAL): the last field of a {@code dec} entry. */
  private static final int[] SLOT_OFFSETS = new int[TOTAL];

  static {
    for (int k = 0; k < TOTAL; k++) {
      SLOT_OFFSETS[k] = k << 20;
    }
  }

  /** Fills table {@code t} of the self-context tables; returns the frequency sum. */
  private static int selfTable(int[] freq, int t, int[] map, char[] slots, int[] symFreq) {
    int c = 0;
    int base = t * TOTAL;
    for (int s = 0; s < 256; s++) {
      int f = freq[t * 256 + s];
      if (f != 0) {
        Arrays.fill(slots, base + c, base + c + f, (char) (s | (map[s] >>> SCALE_BITS) << 8));
        symFreq[t * 256 + s] = f << SCALE_BITS | c;
        c += f;
      }
    }
    return c;
  }

  /**
   * Decodes elements {@code i..n} one at a time with the stream end checked (tail elements, or the
   * last groups), then checks that the stream ended where and as the encoder began it.
   */
  private static void decodeTail(
      int[] dec, int[] map, int ctxKind, byte[] ctxPlane, int ctxOff, byte[] buf, int end, byte[] sym, int i, int n, int[] st,
      Scratch sc) {
    if (ctxKind < CTX_NONE) {
      decodeTailSelf(sc.selfSlots, sc.selfFreq, map, ctxKind == CTX_SELF ? 1 : 4, buf, end, sym, i, n, st);
      return;
    }
    int p = st[4];
    int[] x = {st[0], st[1], st[2], st[3]};
    for (; i < n; i++) {
      int t = ctxKind == CTX_NONE ? 0 : ctxKind == CTX_SELF ? map[i == 0 ? 0 : sym[i - 1] & 0xFF] : map[ctxPlane[ctxOff + i] & 0xFF];
      int xs = x[i & 3];
      int e = dec[t | (xs & MASK)];
      xs = ((e >>> 8 & 0xFFF) + 1) * (xs >>> SCALE_BITS) + (e >>> 20);
      sym[i] = (byte) e;
      if (xs < RANS_L) {
        if (p >= end) {
          throw ended();
        }
        xs = xs << 16 | (buf[p] & 0xFF) | (buf[p + 1] & 0xFF) << 8;
        p += 2;
      }
      x[i & 3] = xs;
    }
    requireEndState(p, end, x);
  }

  /** A stream decoded whole ends at its last word with every state back at its initial value. */
  private static void requireEndState(int p, int end, int[] x) {
    if (p != end || x[0] != RANS_L || x[1] != RANS_L || x[2] != RANS_L || x[3] != RANS_L) {
      throw new CorruptDataException("Cannot decode float coding: rANS stream did not end in its initial state");
    }
  }

  /** As {@link #decodeTail} for a plane conditioned on its previous symbol. */
  private static void decodeTailSelf(
      char[] slots, int[] symFreq, int[] map, int distance, byte[] buf, int end, byte[] sym, int i, int n, int[] st) {
    int p = st[4];
    int[] x = {st[0], st[1], st[2], st[3]};
    for (; i < n; i++) {
      int t = map[i < distance ? 0 : sym[i - distance] & 0xFF] >>> SCALE_BITS;
      int xs = x[i & 3];
      int slot = xs & MASK;
      int e = slots[t << SCALE_BITS | slot];
      int v = symFreq[t << 8 | (e & 0xFF)];
      xs = (v >>> SCALE_BITS) * (xs >>> SCALE_BITS) + slot - (v & MASK);
      sym[i] = (byte) e;
      if (xs < RANS_L) {
        if (p >= end) {
          throw ended();
        }
        xs = xs << 16 | (buf[p] & 0xFF) | (buf[p + 1] & 0xFF) << 8;
        p += 2;
      }
      x[i & 3] = xs;
    }
    requireEndState(p, end, x);
  }

  /**
   * Elements {@code from..n4}, four at a time with one table, while four words surely remain.
   * Returns the index reached; the states and the word position go in and out through {@code st}.
   */
  private static int decodeOrder0(int[] dec, byte[] buf, int end, byte[] sym, int from, int n4, int[] st) {
    int x0 = st[0];
    int x1 = st[1];
    int x2 = st[2];
    int x3 = st[3];
    int p = st[4];
    int i = from;
    for (; i < n4 && p <= end - 8; i += 4) {
      int e0 = dec[x0 & MASK];
      int e1 = dec[x1 & MASK];
      int e2 = dec[x2 & MASK];
      int e3 = dec[x3 & MASK];
      x0 = ((e0 >>> 8 & 0xFFF) + 1) * (x0 >>> SCALE_BITS) + (e0 >>> 20);
      x1 = ((e1 >>> 8 & 0xFFF) + 1) * (x1 >>> SCALE_BITS) + (e1 >>> 20);
      x2 = ((e2 >>> 8 & 0xFFF) + 1) * (x2 >>> SCALE_BITS) + (e2 >>> 20);
      x3 = ((e3 >>> 8 & 0xFFF) + 1) * (x3 >>> SCALE_BITS) + (e3 >>> 20);
      INT_LE.set(sym, i, e0 & 0xFF | (e1 & 0xFF) << 8 | (e2 & 0xFF) << 16 | e3 << 24);
      long w = (long) LONG_LE.get(buf, p);
      // The group takes at most four words: all of them are in w, read with one load. A state
      // needing a word (m = -1, no branch to mispredict) shifts left by 16 and takes w's low word.
      int m0 = (x0 - RANS_L) >> 31;
      x0 = x0 << (m0 & 16) | (int) w & m0 & 0xFFFF;
      w >>>= m0 & 16;
      int m1 = (x1 - RANS_L) >> 31;
      x1 = x1 << (m1 & 16) | (int) w & m1 & 0xFFFF;
      w >>>= m1 & 16;
      int m2 = (x2 - RANS_L) >> 31;
      x2 = x2 << (m2 & 16) | (int) w & m2 & 0xFFFF;
      w >>>= m2 & 16;
      int m3 = (x3 - RANS_L) >> 31;
      x3 = x3 << (m3 & 16) | (int) w & m3 & 0xFFFF;
      p -= (m0 + m1 + m2 + m3) << 1;
    }
    st[0] = x0;
    st[1] = x1;
    st[2] = x2;
    st[3] = x3;
    st[4] = p;
    return i;
  }

  /** As {@link #decodeOrder0}, the table chosen by the same element of an earlier plane. */
  private static int decodeByPlane(
      int[] dec, int[] map, byte[] ctxPlane, int ctxOff, byte[] buf, int end, byte[] sym, int from, int n4, int[] st) {
    int x0 = st[0];
    int x1 = st[1];
    int x2 = st[2];
    int x3 = st[3];
    int p = st[4];
    int i = from;
    for (int c = ctxOff + from; i < n4 && p <= end - 8; i += 4, c += 4) {
      int e0 = dec[map[ctxPlane[c] & 0xFF] | (x0 & MASK)];
      int e1 = dec[map[ctxPlane[c + 1] & 0xFF] | (x1 & MASK)];
      int e2 = dec[map[ctxPlane[c + 2] & 0xFF] | (x2 & MASK)];
      int e3 = dec[map[ctxPlane[c + 3] & 0xFF] | (x3 & MASK)];
      x0 = ((e0 >>> 8 & 0xFFF) + 1) * (x0 >>> SCALE_BITS) + (e0 >>> 20);
      x1 = ((e1 >>> 8 & 0xFFF) + 1) * (x1 >>> SCALE_BITS) + (e1 >>> 20);
      x2 = ((e2 >>> 8 & 0xFFF) + 1) * (x2 >>> SCALE_BITS) + (e2 >>> 20);
      x3 = ((e3 >>> 8 & 0xFFF) + 1) * (x3 >>> SCALE_BITS) + (e3 >>> 20);
      INT_LE.set(sym, i, e0 & 0xFF | (e1 & 0xFF) << 8 | (e2 & 0xFF) << 16 | e3 << 24);
      long w = (long) LONG_LE.get(buf, p);
      // The group takes at most four words: all of them are in w, read with one load. A state
      // needing a word (m = -1, no branch to mispredict) shifts left by 16 and takes w's low word.
      int m0 = (x0 - RANS_L) >> 31;
      x0 = x0 << (m0 & 16) | (int) w & m0 & 0xFFFF;
      w >>>= m0 & 16;
      int m1 = (x1 - RANS_L) >> 31;
      x1 = x1 << (m1 & 16) | (int) w & m1 & 0xFFFF;
      w >>>= m1 & 16;
      int m2 = (x2 - RANS_L) >> 31;
      x2 = x2 << (m2 & 16) | (int) w & m2 & 0xFFFF;
      w >>>= m2 & 16;
      int m3 = (x3 - RANS_L) >> 31;
      x3 = x3 << (m3 & 16) | (int) w & m3 & 0xFFFF;
      p -= (m0 + m1 + m2 + m3) << 1;
    }
    st[0] = x0;
    st[1] = x1;
    st[2] = x2;
    st[3] = x3;
    st[4] = p;
    return i;
  }

  /**
   * As {@link #decodeOrder0}, the table chosen by the previous symbol: each slot names the table
   * of the next element, so the chain from one element to the next is one two-byte load. The
   * table of the element after the last one decoded goes out in {@code st[5]}.
   */
  private static int decodeBySelf(char[] slots, int[] symFreq, byte[] buf, int end, byte[] sym, int from, int n4, int[] st) {
    int x0 = st[0];
    int x1 = st[1];
    int x2 = st[2];
    int x3 = st[3];
    int p = st[4];
    int i = from;
    int t = st[5];
    for (; i < n4 && p <= end - 8; i += 4) {
      int s0 = x0 & MASK;
      int e0 = slots[t << SCALE_BITS | s0];
      int s1 = x1 & MASK;
      int e1 = slots[(e0 >>> 8) << SCALE_BITS | s1];
      int s2 = x2 & MASK;
      int e2 = slots[(e1 >>> 8) << SCALE_BITS | s2];
      int s3 = x3 & MASK;
      int e3 = slots[(e2 >>> 8) << SCALE_BITS | s3];
      int v0 = symFreq[t << 8 | (e0 & 0xFF)];
      int v1 = symFreq[(e0 >>> 8) << 8 | (e1 & 0xFF)];
      int v2 = symFreq[(e1 >>> 8) << 8 | (e2 & 0xFF)];
      int v3 = symFreq[(e2 >>> 8) << 8 | (e3 & 0xFF)];
      t = e3 >>> 8;
      x0 = (v0 >>> SCALE_BITS) * (x0 >>> SCALE_BITS) + s0 - (v0 & MASK);
      x1 = (v1 >>> SCALE_BITS) * (x1 >>> SCALE_BITS) + s1 - (v1 & MASK);
      x2 = (v2 >>> SCALE_BITS) * (x2 >>> SCALE_BITS) + s2 - (v2 & MASK);
      x3 = (v3 >>> SCALE_BITS) * (x3 >>> SCALE_BITS) + s3 - (v3 & MASK);
      sym[i] = (byte) e0;
      sym[i + 1] = (byte) e1;
      sym[i + 2] = (byte) e2;
      sym[i + 3] = (byte) e3;
      // As in decodeOrder0, the group's words come from one 8-byte load: with the shorter
      // renormalization the loop's live values now fit the registers.
      long w = (long) LONG_LE.get(buf, p);
      int m0 = (x0 - RANS_L) >> 31;
      x0 = x0 << (m0 & 16) | (int) w & m0 & 0xFFFF;
      w >>>= m0 & 16;
      int m1 = (x1 - RANS_L) >> 31;
      x1 = x1 << (m1 & 16) | (int) w & m1 & 0xFFFF;
      w >>>= m1 & 16;
      int m2 = (x2 - RANS_L) >> 31;
      x2 = x2 << (m2 & 16) | (int) w & m2 & 0xFFFF;
      w >>>= m2 & 16;
      int m3 = (x3 - RANS_L) >> 31;
      x3 = x3 << (m3 & 16) | (int) w & m3 & 0xFFFF;
      p -= (m0 + m1 + m2 + m3) << 1;
    }
    st[0] = x0;
    st[1] = x1;
    st[2] = x2;
    st[3] = x3;
    st[4] = p;
    st[5] = t;
    return i;
  }
  /**
   * As {@link #decodeBySelf}, the table chosen by the symbol four back: by the same state's
   * previous symbol, so each state's chain of table loads is its own ({@code st[5..8]} in and out).
   */
  private static int decodeByLane(char[] slots, int[] symFreq, byte[] buf, int end, byte[] sym, int from, int n4, int[] st) {
    int x0 = st[0];
    int x1 = st[1];
    int x2 = st[2];
    int x3 = st[3];
    int p = st[4];
    int t0 = st[5];
    int t1 = st[6];
    int t2 = st[7];
    int t3 = st[8];
    int i = from;
    for (; i < n4 && p <= end - 8; i += 4) {
      int s0 = x0 & MASK;
      int s1 = x1 & MASK;
      int s2 = x2 & MASK;
      int s3 = x3 & MASK;
      int e0 = slots[t0 << SCALE_BITS | s0];
      int e1 = slots[t1 << SCALE_BITS | s1];
      int e2 = slots[t2 << SCALE_BITS | s2];
      int e3 = slots[t3 << SCALE_BITS | s3];
      int v0 = symFreq[t0 << 8 | (e0 & 0xFF)];
      int v1 = symFreq[t1 << 8 | (e1 & 0xFF)];
      int v2 = symFreq[t2 << 8 | (e2 & 0xFF)];
      int v3 = symFreq[t3 << 8 | (e3 & 0xFF)];
      t0 = e0 >>> 8;
      t1 = e1 >>> 8;
      t2 = e2 >>> 8;
      t3 = e3 >>> 8;
      x0 = (v0 >>> SCALE_BITS) * (x0 >>> SCALE_BITS) + s0 - (v0 & MASK);
      x1 = (v1 >>> SCALE_BITS) * (x1 >>> SCALE_BITS) + s1 - (v1 & MASK);
      x2 = (v2 >>> SCALE_BITS) * (x2 >>> SCALE_BITS) + s2 - (v2 & MASK);
      x3 = (v3 >>> SCALE_BITS) * (x3 >>> SCALE_BITS) + s3 - (v3 & MASK);
      INT_LE.set(sym, i, e0 & 0xFF | (e1 & 0xFF) << 8 | (e2 & 0xFF) << 16 | e3 << 24);
      long w = (long) LONG_LE.get(buf, p);
      int m0 = (x0 - RANS_L) >> 31;
      x0 = x0 << (m0 & 16) | (int) w & m0 & 0xFFFF;
      w >>>= m0 & 16;
      int m1 = (x1 - RANS_L) >> 31;
      x1 = x1 << (m1 & 16) | (int) w & m1 & 0xFFFF;
      w >>>= m1 & 16;
      int m2 = (x2 - RANS_L) >> 31;
      x2 = x2 << (m2 & 16) | (int) w & m2 & 0xFFFF;
      w >>>= m2 & 16;
      int m3 = (x3 - RANS_L) >> 31;
      x3 = x3 << (m3 & 16) | (int) w & m3 & 0xFFFF;
      p -= (m0 + m1 + m2 + m3) << 1;
    }
    st[0] = x0;
    st[1] = x1;
    st[2] = x2;
    st[3] = x3;
    st[4] = p;
    st[5] = t0;
    st[6] = t1;
    st[7] = t2;
    st[8] = t3;
    return i;
  }


  private static CorruptDataException ended() {
    return new CorruptDataException("Cannot decode float coding: rANS stream ends early");
  }

  static void readTable(BitReader br, int[] freq, int off) {
    int runs = br.readGamma();
    if (runs > 128) {
      throw new CorruptDataException("Cannot decode float coding: frequency table with " + runs + " runs");
    }
    int pos = 0;
    int present = 0;
    for (int r = 0; r < runs; r++) {
      int start = pos + br.readGamma();
      int len = br.readGamma() + 1;
      if (start + (long) len > 256) {
        throw new CorruptDataException("Cannot decode float coding: frequency table symbols past 255");
      }
      for (int s = start; s < start + len; s++) {
        freq[off + s] = -1; // present, frequency still to read
      }
      pos = start + len;
      present += len;
    }
    int prev = 0;
    int sum = 0;
    int read = 0;
    int last = -1;
    for (int s = 0; s < 256; s++) {
      if (freq[off + s] != -1) {
        continue;
      }
      if (read == present - 1) {
        last = s;
        break;
      }
      int z = br.readGamma();
      int f = prev + ((z >>> 1) ^ -(z & 1));
      if (f < 1 || f >= TOTAL) {
        throw new CorruptDataException("Cannot decode float coding: frequency " + f + " outside [1, " + (TOTAL - 1) + "]");
      }
      freq[off + s] = f;
      prev = f;
      sum += f;
      read++;
      if (sum >= TOTAL) {
        throw new CorruptDataException("Cannot decode float coding: frequencies sum past " + TOTAL);
      }
    }
    if (present > 0) {
      freq[off + last] = TOTAL - sum;
    }
  }
}
