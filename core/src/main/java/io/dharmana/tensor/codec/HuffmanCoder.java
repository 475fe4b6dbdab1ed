package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Codes one plane of byte symbols with a canonical Huffman code limited to {@link #MAX_BITS}
 * bits, in four bit streams, each holding a quarter of the plane. It is the fast path of
 * {@link PlaneCoder} for planes whose order-0 coding is best: decoding one symbol is a table
 * load, a shift and a store with no multiply (rANS needs a multiply and a renormalization per
 * symbol), and the four streams are independent chains the processor runs side by side. A
 * Huffman code pays for whole bits per symbol: on the exponent planes of weights, ~1.5% more
 * than rANS, which {@link PlaneCoder} weighs against the speed.
 *
 * <p>Format: the code lengths (see {@link #lengthsBytes}), the byte length of each stream as a
 * varint, then the streams. Each stream holds its codes LSB-first, bit-reversed so the decoder
 * indexes its table with the low bits, and ends with zero bits to a whole byte.
 */
final class HuffmanCoder {
  static final int MAX_BITS = 11;
  private static final int TABLE_SIZE = 1 << MAX_BITS;
  private static final int MASK = TABLE_SIZE - 1;
  private static final int STREAMS = 4;

  private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private HuffmanCoder() {}

  /** Per-thread working memory. */
  static final class Scratch {
    /** Code length per symbol, 0 for an absent one. */
    final int[] lengths = new int[256];
    /** Per symbol: its bit-reversed code << 8 | its length. */
    final int[] codes = new int[256];
    /** Per {@link #MAX_BITS} bits of input: one symbol and its length, and the symbols a lookup yields. */
    final char[] single = new char[TABLE_SIZE];
    final int[] table = new int[TABLE_SIZE];
    final int[] bounds = new int[STREAMS + 1];
    final int[] state = new int[5 * STREAMS];
    final long[] acc = new long[STREAMS];
    final long[] keys = new long[256];
    final int[] work = new int[256];
    final int[] lengthCount = new int[256];
    byte[] streams = new byte[0];
  }

  /**
   * Fits code lengths of at most {@link #MAX_BITS} bits to {@code hist} (at least one symbol
   * present) into {@code sc.lengths}; returns the bits the plane takes coded, format included.
   */
  static long fit(int[] hist, Scratch sc) {
    long[] keys = sc.keys;
    int present = 0;
    for (int s = 0; s < 256; s++) {
      if (hist[s] != 0) {
        keys[present++] = (long) hist[s] << 8 | s;
      }
    }
    if (present == 1) {
      // A code needs two: a neighbour that never occurs completes it (the decoder wants a complete code).
      keys[present++] = ((int) keys[0] & 0xFF) ^ 1;
    }
    Arrays.sort(keys, 0, present);
    int[] a = sc.work;
    for (int k = 0; k < present; k++) {
      a[k] = (int) (keys[k] >>> 8);
    }
    huffmanLengths(a, present);
    int[] count = sc.lengthCount;
    Arrays.fill(count, 0);
    int longest = 0;
    for (int k = 0; k < present; k++) {
      count[a[k]]++;
      longest = Math.max(longest, a[k]);
    }
    limitLengths(count, longest);
    // The shortest lengths go to the most frequent symbols, at the end of the ascending order.
    int[] lengths = sc.lengths;
    Arrays.fill(lengths, 0);
    int k = 0;
    for (int len = MAX_BITS; len >= 1; len--) {
      for (int c = 0; c < count[len]; c++) {
        lengths[(int) keys[k++] & 0xFF] = len;
      }
    }
    long bits = 0;
    for (int s = 0; s < 256; s++) {
      bits += (long) hist[s] * lengths[s];
    }
    // Besides the codes: the lengths, each stream's length as a varint, and each stream's last
    // byte half padding on average.
    long streamBytes = bits / (8 * STREAMS) + 1;
    int varintBytes = (64 - Long.numberOfLeadingZeros(streamBytes) + 6) / 7;
    return bits + 8L * (lengthsBytes(lengths) + STREAMS * varintBytes) + STREAMS * 4;
  }

  /**
   * The bytes {@link #writeLengths} takes: the first and last symbol present, then per symbol
   * between them its length in 4 bits, a 0 being followed by the count of further absent ones
   * (Exp-Golomb): exponents of weights span a few dozen values, with outliers (0 for zeros and
   * subnormals, 255 for NaNs and infinities) that would otherwise cost 4 bits per value between.
   */
  private static int lengthsBytes(int[] lengths) {
    int first = firstCoded(lengths);
    int last = lastCoded(lengths);
    long bits = 0;
    for (int s = first; s <= last; s++) {
      bits += 4;
      if (lengths[s] == 0) {
        int run = absentAfter(lengths, s, last);
        bits += BitWriter.gammaBits(run);
        s += run;
      }
    }
    return 2 + (int) ((bits + 7) / 8);
  }

  private static int firstCoded(int[] lengths) {
    int s = 0;
    while (lengths[s] == 0) {
      s++;
    }
    return s;
  }

  private static int lastCoded(int[] lengths) {
    int s = 255;
    while (lengths[s] == 0) {
      s--;
    }
    return s;
  }

  /** How many symbols after the absent symbol {@code s}, up to {@code last}, are absent too. */
  private static int absentAfter(int[] lengths, int s, int last) {
    int run = 0;
    while (s + run + 1 <= last && lengths[s + run + 1] == 0) {
      run++;
    }
    return run;
  }

  private static void writeLengths(int[] lengths, ByteSink out) {
    int first = firstCoded(lengths);
    int last = lastCoded(lengths);
    out.writeByte(first);
    out.writeByte(last);
    BitWriter bw = new BitWriter(out);
    for (int s = first; s <= last; s++) {
      bw.write(lengths[s], 4);
      if (lengths[s] == 0) {
        int run = absentAfter(lengths, s, last);
        bw.writeGamma(run);
        s += run;
      }
    }
    bw.flush();
  }

  /** Reads what {@link #writeLengths} wrote into {@code lengths}, checking that they form a complete code. */
  private static void readLengths(ByteSource in, int[] lengths) {
    int first = in.readByte();
    int last = in.readByte();
    if (last < first) {
      throw new CorruptDataException("Cannot decode float coding: Huffman symbols " + first + ".." + last + " are empty");
    }
    Arrays.fill(lengths, 0);
    BitReader br = new BitReader(in);
    int kraft = 0;
    for (int s = first; s <= last; s++) {
      int len = br.read(4);
      if (len > MAX_BITS) {
        throw new CorruptDataException("Cannot decode float coding: Huffman code length " + len + " exceeds " + MAX_BITS);
      }
      lengths[s] = len;
      kraft += len == 0 ? 0 : TABLE_SIZE >>> len;
      if (len == 0) {
        int run = br.readGamma();
        if (run > last - s) {
          throw new CorruptDataException("Cannot decode float coding: a run of absent Huffman symbols passes symbol " + last);
        }
        s += run;
      }
    }
    br.align();
    if (kraft != TABLE_SIZE) {
      throw new CorruptDataException("Cannot decode float coding: Huffman code lengths do not form a complete code");
    }
  }

  /**
   * Huffman code lengths of the ascending frequencies {@code a[0..n)}, in place (Moffat and
   * Katajainen, "In-place calculation of minimum-redundancy codes", 1995).
   */
  private static void huffmanLengths(int[] a, int n) {
    a[0] += a[1];
    int root = 0;
    int leaf = 2;
    for (int next = 1; next < n - 1; next++) {
      if (leaf >= n || a[root] < a[leaf]) {
        a[next] = a[root];
        a[root++] = next;
      } else {
        a[next] = a[leaf++];
      }
      if (leaf >= n || (root < next && a[root] < a[leaf])) {
        a[next] += a[root];
        a[root++] = next;
      } else {
        a[next] += a[leaf++];
      }
    }
    a[n - 2] = 0;
    for (int next = n - 3; next >= 0; next--) {
      a[next] = a[a[next]] + 1;
    }
    int avail = 1;
    int used = 0;
    int depth = 0;
    root = n - 2;
    int next = n - 1;
    while (avail > 0) {
      while (root >= 0 && a[root] == depth) {
        used++;
        root--;
      }
      while (avail > used) {
        a[next--] = depth;
        avail--;
      }
      avail = 2 * used;
      depth++;
      used = 0;
    }
  }

  /**
   * Makes a complete code's length counts fit {@link #MAX_BITS}: two deepest leaves become one a
   * level up, and a shallower leaf becomes the parent of two (JPEG, ITU T.81 annex K.3).
   */
  private static void limitLengths(int[] count, int longest) {
    for (int i = longest; i > MAX_BITS; i--) {
      while (count[i] > 0) {
        int j = i - 2;
        while (count[j] == 0) {
          j--;
        }
        count[i] -= 2;
        count[i - 1]++;
        count[j + 1] += 2;
        count[j]--;
      }
    }
  }

  /** Writes {@code sym[0..n)} with the lengths {@link #fit} left in {@code sc}. */
  static void encode(byte[] sym, int n, ByteSink out, Scratch sc) {
    int[] lengths = sc.lengths;
    int[] codes = sc.codes;
    canonicalCodes(lengths, codes);
    writeLengths(lengths, out);
    int seg = (n + STREAMS - 1) / STREAMS;
    // At most 11 bits a code, and a long's slack for the last write.
    int room = (int) ((long) n * MAX_BITS / 8) + 16;
    if (sc.streams.length < room) {
      sc.streams = new byte[Math.max(room, sc.streams.length * 2)];
    }
    byte[] buf = sc.streams;
    int pos = 0;
    for (int k = 0; k < STREAMS; k++) {
      int from = Math.min(n, k * seg);
      int end = encodeStream(sym, from, Math.min(n, from + seg), codes, buf, pos);
      out.writeVarint(end - pos);
      pos = end;
    }
    out.write(buf, 0, pos);
  }

  /** Codes {@code sym[from..to)} into {@code buf} from {@code pos}; returns the end of the stream. */
  private static int encodeStream(byte[] sym, int from, int to, int[] codes, byte[] buf, int pos) {
    long acc = 0;
    int bits = 0;
    int i = from;
    // Four codes take at most 44 bits, and fewer than 8 are carried over: all fit one long,
    // written whole, of which the complete bytes are kept. No branch per code.
    for (; i + 4 <= to; i += 4) {
      for (int r = 0; r < 4; r++) {
        int c = codes[sym[i + r] & 0xFF];
        acc |= (long) (c >>> 8) << bits;
        bits += c & 0xFF;
      }
      LONG_LE.set(buf, pos, acc);
      pos += bits >>> 3;
      acc >>>= bits & ~7;
      bits &= 7;
    }
    // At most three codes more: 33 bits and the 7 carried fit the long.
    for (; i < to; i++) {
      int c = codes[sym[i] & 0xFF];
      acc |= (long) (c >>> 8) << bits;
      bits += c & 0xFF;
    }
    while (bits > 0) {
      buf[pos++] = (byte) acc;
      acc >>>= 8;
      bits -= 8;
    }
    return pos;
  }

  /** Canonical codes, bit-reversed for LSB-first streams: {@code codes[s] = reversed << 8 | length}. */
  private static void canonicalCodes(int[] lengths, int[] codes) {
    int[] next = new int[MAX_BITS + 2];
    int[] count = new int[MAX_BITS + 1];
    for (int s = 0; s < 256; s++) {
      count[lengths[s]]++;
    }
    count[0] = 0;
    int code = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
      code = (code + count[len - 1]) << 1;
      next[len] = code;
    }
    for (int s = 0; s < 256; s++) {
      int len = lengths[s];
      codes[s] = len == 0 ? 0 : (Integer.reverse(next[len]++) >>> (32 - len)) << 8 | len;
    }
  }

  /** Reads a plane written by {@link #encode} into {@code sym[0..n)}. */
  static void decode(ByteSource in, byte[] sym, int n, Scratch sc) {
    int[] lengths = sc.lengths;
    readLengths(in, lengths);
    int[] codes = sc.codes;
    canonicalCodes(lengths, codes);
    int[] table = sc.table;
    multiSymbolTable(lengths, codes, sc.single, table);
    int seg = (n + STREAMS - 1) / STREAMS;
    int[] bounds = sc.bounds;
    bounds[0] = 0;
    for (int k = 0; k < STREAMS; k++) {
      bounds[k + 1] = bounds[k] + in.readVarint(Integer.MAX_VALUE / STREAMS, "Huffman stream length");
    }
    in.require(bounds[STREAMS], "Huffman streams");
    for (int k = 0; k <= STREAMS; k++) {
      bounds[k] += in.pos;
    }
    in.pos = bounds[STREAMS];
    decodeStreams(table, lengths, in.buf, bounds, sym, n, seg, sc);
  }

  /**
   * Fills {@code table}: for every {@link #MAX_BITS} bits of input, the codes that lie whole in
   * them, at most three, as {@code symbols << 8 | count << 6 | bits they take}. A lookup yields
   * ~3 exponents of weights (codes of ~2.6 bits) for one load; the bits field is the shift itself.
   */
  private static void multiSymbolTable(int[] lengths, int[] codes, char[] single, int[] table) {
    for (int s = 0; s < 256; s++) {
      int len = lengths[s];
      if (len != 0) {
        char entry = (char) (s << 4 | len);
        for (int k = codes[s] >>> 8; k < TABLE_SIZE; k += 1 << len) {
          single[k] = entry;
        }
      }
    }
    // Branch-free: the second and third codes are looked up whether or not they fit, and kept
    // only if they do (the bits beyond the index read as zeros then; the codes are not used).
    for (int k = 0; k < TABLE_SIZE; k++) {
      int e1 = single[k];
      int l1 = e1 & 15;
      int e2 = single[k >>> l1];
      int l12 = l1 + (e2 & 15);
      int e3 = single[k >>> l12];
      int l123 = l12 + (e3 & 15);
      int two = (MAX_BITS - l12) >> 31; // -1 when the second code does not fit, else 0
      int three = (MAX_BITS - l123) >> 31 | two;
      int bits = l1 + (l12 - l1 & ~two) + (l123 - l12 & ~three);
      int count = 3 + two + three;
      int symbols = e1 >>> 4 | (e2 >>> 4 & ~two) << 8 | (e3 >>> 4 & ~three) << 16;
      table[k] = symbols << 8 | count << 6 | bits;
    }
  }

  /** Rounds per call of {@link #decodeRounds}; see {@code PlaneCoder}'s DECODE_SLICE. */
  private static final int ROUNDS_PER_CALL = 512;

  private static void decodeStreams(int[] table, int[] lengths, byte[] buf, int[] bounds, byte[] sym, int n, int seg, Scratch sc) {
    // Per stream k: st[k] the next byte to read, st[4 + k] the next symbol to write, st[8 + k]
    // the bits held in acc[k]; st[12 + k] and st[16 + k] the last read and write positions a
    // round may start at (it reads at most 8 bytes, and writes at most 12 symbols and one spare
    // byte: each lookup stores 4 bytes and keeps as many as it decoded).
    int[] st = sc.state;
    long[] acc = sc.acc;
    for (int k = 0; k < STREAMS; k++) {
      int symbolsEnd = Math.min(n, (k + 1) * seg);
      st[k] = bounds[k];
      st[4 + k] = Math.min(n, k * seg);
      st[8 + k] = 0;
      st[12 + k] = bounds[k + 1] - 8;
      st[16 + k] = symbolsEnd - 13;
      acc[k] = 0;
    }
    // In slices: the launcher turns off on-stack replacement, so a call that starts in the
    // interpreter stays there to its end. Sliced, only the first slices run interpreted.
    while (decodeRounds(table, buf, sym, acc, st)) {
      // the next slice
    }
    for (int k = 0; k < STREAMS; k++) {
      finishStream(table, lengths, buf, st[k], bounds[k + 1], acc[k], st[8 + k], sym, st[4 + k], Math.min(n, (k + 1) * seg));
    }
  }

  /**
   * Up to {@link #ROUNDS_PER_CALL} rounds of four lookups per stream from at least 56 bits (a
   * lookup takes at most 11). A refill loads eight bytes and keeps the whole ones it has room for
   * (Giesen's "variant 4"). Returns whether more rounds may follow.
   */
  private static boolean decodeRounds(int[] table, byte[] buf, byte[] sym, long[] acc, int[] st) {
    int p0 = st[0];
    int p1 = st[1];
    int p2 = st[2];
    int p3 = st[3];
    int q0 = st[4];
    int q1 = st[5];
    int q2 = st[6];
    int q3 = st[7];
    int b0 = st[8];
    int b1 = st[9];
    int b2 = st[10];
    int b3 = st[11];
    int e0 = st[12];
    int e1 = st[13];
    int e2 = st[14];
    int e3 = st[15];
    int l0 = st[16];
    int l1 = st[17];
    int l2 = st[18];
    int l3 = st[19];
    long a0 = acc[0];
    long a1 = acc[1];
    long a2 = acc[2];
    long a3 = acc[3];
    int rounds = 0;
    boolean more;
    while ((more = p0 <= e0 && p1 <= e1 && p2 <= e2 && p3 <= e3 && q0 <= l0 && q1 <= l1 && q2 <= l2 && q3 <= l3)
        && rounds++ < ROUNDS_PER_CALL) {
      a0 |= (long) LONG_LE.get(buf, p0) << b0;
      p0 += (63 - b0) >>> 3;
      b0 |= 56;
      a1 |= (long) LONG_LE.get(buf, p1) << b1;
      p1 += (63 - b1) >>> 3;
      b1 |= 56;
      a2 |= (long) LONG_LE.get(buf, p2) << b2;
      p2 += (63 - b2) >>> 3;
      b2 |= 56;
      a3 |= (long) LONG_LE.get(buf, p3) << b3;
      p3 += (63 - b3) >>> 3;
      b3 |= 56;
      for (int r = 0; r < 4; r++) {
        int t0 = table[(int) a0 & MASK];
        int t1 = table[(int) a1 & MASK];
        int t2 = table[(int) a2 & MASK];
        int t3 = table[(int) a3 & MASK];
        a0 >>>= t0;
        a1 >>>= t1;
        a2 >>>= t2;
        a3 >>>= t3;
        b0 -= t0 & 63;
        b1 -= t1 & 63;
        b2 -= t2 & 63;
        b3 -= t3 & 63;
        INT_LE.set(sym, q0, t0 >>> 8);
        INT_LE.set(sym, q1, t1 >>> 8);
        INT_LE.set(sym, q2, t2 >>> 8);
        INT_LE.set(sym, q3, t3 >>> 8);
        q0 += t0 >>> 6 & 3;
        q1 += t1 >>> 6 & 3;
        q2 += t2 >>> 6 & 3;
        q3 += t3 >>> 6 & 3;
      }
    }
    st[0] = p0;
    st[1] = p1;
    st[2] = p2;
    st[3] = p3;
    st[4] = q0;
    st[5] = q1;
    st[6] = q2;
    st[7] = q3;
    st[8] = b0;
    st[9] = b1;
    st[10] = b2;
    st[11] = b3;
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return more;
  }

  /**
   * Decodes {@code sym[i..to)} from a stream one code at a time, each read checked against the
   * stream's end, then checks that only the zero padding of the last byte is left.
   */
  private static void finishStream(int[] table, int[] lengths, byte[] buf, int p, int end, long a, int b, byte[] sym, int i, int to) {
    for (; i < to; i++) {
      while (b <= 56 && p < end) {
        a |= (long) (buf[p++] & 0xFF) << b;
        b += 8;
      }
      int t = table[(int) a & MASK] >>> 8 & 0xFF;
      int len = lengths[t];
      if (len > b) {
        throw new CorruptDataException("Cannot decode float coding: a Huffman stream ended before its last symbol");
      }
      sym[i] = (byte) t;
      a >>>= len;
      b -= len;
    }
    if (p != end || b >= 8 || (a & ((1L << b) - 1)) != 0) {
      throw new CorruptDataException("Cannot decode float coding: a Huffman stream holds more than its symbols");
    }
  }
}
