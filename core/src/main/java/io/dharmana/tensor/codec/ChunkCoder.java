package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;

/**
 * Codes one chunk of whole elements. A chunk starts with a mode byte: raw, the plane split of the
 * values, or the byte planes of a delta against the parent (XOR, or the zigzagged integer
 * difference of the bit patterns). The encoder estimates each candidate from plane entropies and
 * codes the cheapest, falling back to raw when coding would not shrink the chunk.
 */
final class ChunkCoder {
  static final int MODE_RAW = 0;
  static final int MODE_SPLIT = 1;
  static final int MODE_XOR = 2;
  static final int MODE_SUB = 3;

  private static final java.lang.invoke.VarHandle INT_LE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  private static final java.lang.invoke.VarHandle LONG_LE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  private ChunkCoder() {}

  /** Per-thread buffers: plane arrays and the plane coder's scratch. */
  static final class Scratch {
    final PlaneCoder.Scratch plane = new PlaneCoder.Scratch();
    final PlaneCoder.PlaneViews views = new PlaneCoder.PlaneViews();
    byte[][] planes = new byte[0][];
    byte[] delta = new byte[0];
    byte[] cur = new byte[0];
    byte[] par = new byte[0];

    byte[][] planes(int count, int n) {
      if (planes.length < count || planes[0].length < n) {
        planes = new byte[Math.max(count, 8)][Math.max(n, planes.length == 0 ? 0 : planes[0].length)];
      }
      return planes;
    }

    byte[] delta(int bytes) {
      if (delta.length < bytes) {
        delta = new byte[bytes];
      }
      return delta;
    }

    byte[] cur(int bytes) {
      if (cur.length < bytes) {
        cur = new byte[bytes];
      }
      return cur;
    }

    byte[] par(int bytes) {
      if (par.length < bytes) {
        par = new byte[bytes];
      }
      return par;
    }

    /** Output buffers kept between calls; a slot is null while its buffer is taken. */
    private final ByteSink[] sinks = new ByteSink[2];

    /**
     * An empty buffer of at least {@code capacity} bytes: the one kept in {@code slot}, or a new one
     * if it is taken (by a caller further up this thread's stack) or too small.
     */
    ByteSink takeSink(int slot, int capacity) {
      ByteSink s = sinks[slot];
      sinks[slot] = null;
      if (s == null || s.capacity() < capacity) {
        return new ByteSink(capacity);
      }
      s.truncate(0);
      return s;
    }

    /** Keeps {@code sink} for the next {@link #takeSink}, unless it is too large to hold on to. */
    void giveBackSink(int slot, ByteSink sink) {
      if (sink.capacity() <= KEPT_SINK_BYTES && (sinks[slot] == null || sinks[slot].capacity() < sink.capacity())) {
        sinks[slot] = sink;
      }
    }
  }

  /** Buffers up to this size are kept per thread; a huge tensor's is left to the collector. */
  private static final int KEPT_SINK_BYTES = 8 << 20;

  static void encode(
      Layout layout, int size, byte[] cur, byte[] par, int n, double minSaving, int format, ByteSink out, Scratch sc) {
    int bytes = n * size;
    int start = out.position();
    int mode = MODE_SPLIT;
    if (par != null) {
      double best = estimate(MODE_SPLIT, layout, size, cur, par, n, sc);
      double x = estimate(MODE_XOR, Layout.BYTES, size, cur, par, n, sc);
      if (x < best) {
        best = x;
        mode = MODE_XOR;
      }
      double s = estimate(MODE_SUB, Layout.BYTES, size, cur, par, n, sc);
      if (s < best) {
        mode = MODE_SUB;
      }
    }
    out.writeByte(mode);
    if (mode == MODE_SPLIT) {
      codePlanes(layout, size, cur, n, minSaving, format, out, sc);
    } else {
      codePlanes(Layout.BYTES, size, delta(mode, cur, par, n, size, sc), n, minSaving, format, out, sc);
    }
    if (out.position() - start > bytes + 1) {
      out.truncate(start);
      out.writeByte(MODE_RAW);
      out.write(cur, 0, bytes);
    }
  }

  /** {@code cur} against {@code par} as chunk mode {@code mode} (XOR or SUB) codes it, in {@code sc.delta}. */
  private static byte[] delta(int mode, byte[] cur, byte[] par, int n, int size, Scratch sc) {
    byte[] d = sc.delta(n * size);
    if (mode == MODE_XOR) {
      xor(cur, par, d, n * size);
    } else {
      subtract(cur, par, d, n, size);
    }
    return d;
  }

  /**
   * Order-0 entropy of the planes chunk mode {@code mode} would code, in bits: cheap enough to
   * compare modes. Four-byte elements are sampled (every third one of large chunks) straight from
   * the data, their deltas computed for the samples alone.
   */
  private static double estimate(int mode, Layout layout, int size, byte[] cur, byte[] par, int n, Scratch sc) {
    int[] hist = sc.plane.hist2; // all zero between uses; cleared again below
    int count = layout.planes(size);
    int step = n >= 4096 ? 3 : 1;
    int samples = 0;
    if (size == 4 && (layout == Layout.F32 || layout == Layout.BYTES)) {
      boolean f32 = layout == Layout.F32;
      for (int j = 0; j < n * 4; j += 4 * step) {
        int u = (int) INT_LE.get(cur, j);
        if (mode == MODE_XOR) {
          u ^= (int) INT_LE.get(par, j);
        } else if (mode == MODE_SUB) {
          int d = u - (int) INT_LE.get(par, j);
          u = (d << 1) ^ (d >> 31); // as subtract
        }
        if (f32) {
          hist[u >>> 23 & 0xFF]++;
          hist[256 | (u >>> 24 & 0x80) | (u >>> 16 & 0x7F)]++;
        } else {
          hist[u >>> 24]++;
          hist[256 | (u >>> 16 & 0xFF)]++;
        }
        hist[512 | (u >>> 8 & 0xFF)]++;
        hist[768 | (u & 0xFF)]++;
        samples++;
      }
    } else {
      byte[][] planes = sc.planes(count, n);
      split(layout, size, mode == MODE_SPLIT ? cur : delta(mode, cur, par, n, size, sc), n, planes);
      for (int p = 0; p < count; p++) {
        byte[] pl = planes[p];
        for (int i = 0; i < n; i += step) {
          hist[p << 8 | (pl[i] & 0xFF)]++;
        }
      }
      samples = (n + step - 1) / step;
    }
    double bits = 0;
    for (int p = 0; p < count; p++) {
      bits += Math.min(PlaneCoder.entropyBits(hist, p << 8), 8.0 * samples);
    }
    java.util.Arrays.fill(hist, 0, count << 8, 0);
    return bits;
  }

  private static void codePlanes(
      Layout layout, int size, byte[] data, int n, double minSaving, int format, ByteSink out, Scratch sc) {
    int count = layout.planes(size);
    byte[][] planes = sc.planes(count, n);
    split(layout, size, data, n, planes);
    sc.plane.newChunk();
    for (int p = 0; p < count; p++) {
      PlaneCoder.encode(planes[p], n, planes, layout.contexts(p, format), layout.noiseBits(p), minSaving, format, out, sc.plane);
    }
  }

  /** Decodes one chunk of {@code n} elements into {@code out[outOff..outOff+n*size)}. */
  static void decode(Layout layout, int size, ByteSource in, byte[] par, int n, byte[] out, int outOff, Scratch sc) {
    int mode = in.readByte();
    int bytes = n * size;
    switch (mode) {
      case MODE_RAW -> {
        in.require(bytes, "a raw chunk");
        System.arraycopy(in.buf, in.pos, out, outOff, bytes);
        in.pos += bytes;
      }
      case MODE_SPLIT -> {
        PlaneCoder.PlaneViews v = decodePlanes(layout, size, in, n, sc);
        merge(layout, size, v, n, out, outOff);
      }
      case MODE_XOR, MODE_SUB -> {
        if (par == null) {
          throw new CorruptDataException(
              "Cannot decode float coding: chunk was coded as a delta against a parent, but no parent was given");
        }
        PlaneCoder.PlaneViews v = decodePlanes(Layout.BYTES, size, in, n, sc);
        byte[] d = sc.delta(bytes);
        merge(Layout.BYTES, size, v, n, d, 0);
        if (mode == MODE_XOR) {
          xor(d, par, d, bytes);
        } else {
          add(d, par, n, size);
        }
        System.arraycopy(d, 0, out, outOff, bytes);
      }
      default -> throw new CorruptDataException("Cannot decode float coding: chunk mode " + mode + " is not 0..3");
    }
  }

  private static PlaneCoder.PlaneViews decodePlanes(Layout layout, int size, ByteSource in, int n, Scratch sc) {
    int count = layout.planes(size);
    byte[][] planes = sc.planes(count, n);
    PlaneCoder.PlaneViews v = sc.views;
    for (int p = 0; p < count; p++) {
      PlaneCoder.decode(in, planes[p], n, v, p, sc.plane);
    }
    return v;
  }

  // ---------------------------------------------------------------- plane split

  static void split(Layout layout, int size, byte[] b, int n, byte[][] planes) {
    // One small method per layout: the JIT compiles each hot loop once, not this switch per loop.
    switch (layout) {
      case F32 -> splitF32(b, n, planes[0], planes[1], planes[2], planes[3]);
      case BF16 -> splitBF16(b, n, planes[0], planes[1]);
      case F16 -> splitF16(b, n, planes[0], planes[1], planes[2]);
      case BYTES -> {
        if (size == 4) {
          splitBytes4(b, n, planes[0], planes[1], planes[2], planes[3]);
        } else {
          splitBytes(size, b, n, planes);
        }
      }
    }
  }

  /**
   * Eight elements at a time: four 8-byte loads are transposed into one long per byte of the
   * element (the inverse of {@link #put4}) and each plane gets one 8-byte store,
   * instead of four byte stores per element.
   */
  private static void splitF32(byte[] b, int n, byte[] e, byte[] h, byte[] m1, byte[] m0) {
    int i = 0;
    int j = 0;
    for (; i + 8 <= n; i += 8, j += 32) {
      long l0 = (long) LONG_LE.get(b, j);
      long l1 = (long) LONG_LE.get(b, j + 8);
      long l2 = (long) LONG_LE.get(b, j + 16);
      long l3 = (long) LONG_LE.get(b, j + 24);
      long e04 = l0 & LOW32 | l2 << 32;
      long e15 = l0 >>> 32 | l2 & HIGH32;
      long e26 = l1 & LOW32 | l3 << 32;
      long e37 = l1 >>> 32 | l3 & HIGH32;
      long lowEven = e04 & LOW16 | (e26 & LOW16) << 16; // bytes 0-1 of elements 0, 2, 4, 6
      long highEven = e04 >>> 16 & LOW16 | e26 & HIGH16; // bytes 2-3
      long lowOdd = e15 & LOW16 | (e37 & LOW16) << 16; // of elements 1, 3, 5, 7
      long highOdd = e15 >>> 16 & LOW16 | e37 & HIGH16;
      long b2 = evenBytes(highEven, highOdd);
      long b3 = oddBytes(highEven, highOdd);
      LONG_LE.set(e, i, (b3 & LOW7) << 1 | b2 >>> 7 & LOW_BITS);
      LONG_LE.set(h, i, b3 & HIGH_BITS | b2 & LOW7);
      LONG_LE.set(m1, i, oddBytes(lowEven, lowOdd));
      LONG_LE.set(m0, i, evenBytes(lowEven, lowOdd));
    }
    for (; i < n; i++, j += 4) {
      int u = (int) INT_LE.get(b, j);
      e[i] = (byte) (u >>> 23);
      h[i] = (byte) ((u >>> 24 & 0x80) | (u >>> 16 & 0x7F));
      m1[i] = (byte) (u >>> 8);
      m0[i] = (byte) u;
    }
  }

  /**
   * Of the 16-bit units of four even elements and of four odd ones (unit k of element 2k and of
   * element 2k + 1), their low bytes in element order: the inverse of {@link #interleaveEven} and
   * {@link #interleaveOdd}.
   */
  private static long evenBytes(long even, long odd) {
    return even & LOW8 | (odd & LOW8) << 8;
  }

  /** As {@link #evenBytes}, their high bytes. */
  private static long oddBytes(long even, long odd) {
    return even >>> 8 & LOW8 | odd & HIGH8;
  }

  /** As {@link #splitF32}: two 8-byte loads give eight elements, the inverse of {@link #put2}. */
  private static void splitBF16(byte[] b, int n, byte[] e, byte[] h) {
    int i = 0;
    int j = 0;
    for (; i + 8 <= n; i += 8, j += 16) {
      long l0 = (long) LONG_LE.get(b, j);
      long l1 = (long) LONG_LE.get(b, j + 8);
      long e0145 = l0 & LOW32 | l1 << 32;
      long e2367 = l0 >>> 32 | l1 & HIGH32;
      long even = e0145 & LOW16 | (e2367 & LOW16) << 16; // elements 0, 2, 4, 6
      long odd = e0145 >>> 16 & LOW16 | e2367 & HIGH16; // elements 1, 3, 5, 7
      long b0 = evenBytes(even, odd);
      long b1 = oddBytes(even, odd);
      LONG_LE.set(e, i, (b1 & LOW7) << 1 | b0 >>> 7 & LOW_BITS);
      LONG_LE.set(h, i, b1 & HIGH_BITS | b0 & LOW7);
    }
    for (; i < n; i++, j += 2) {
      int b0 = b[j];
      int b1 = b[j + 1];
      e[i] = (byte) ((b1 << 1) | ((b0 >>> 7) & 1));
      h[i] = (byte) ((b1 & 0x80) | (b0 & 0x7F));
    }
  }

  private static void splitF16(byte[] b, int n, byte[] e, byte[] h, byte[] l) {
    for (int i = 0, j = 0; i < n; i++, j += 2) {
      int u = (b[j] & 0xFF) | (b[j + 1] & 0xFF) << 8;
      e[i] = (byte) ((u >>> 10) & 0x1F);
      h[i] = (byte) (((u >>> 8) & 0x80) | ((u >>> 3) & 0x7F));
      l[i] = (byte) (u & 7);
    }
  }

  /** As {@link #splitF32}, each byte as it is, most significant first (delta planes, int32). */
  private static void splitBytes4(byte[] b, int n, byte[] p0, byte[] p1, byte[] p2, byte[] p3) {
    int i = 0;
    int j = 0;
    for (; i + 8 <= n; i += 8, j += 32) {
      long l0 = (long) LONG_LE.get(b, j);
      long l1 = (long) LONG_LE.get(b, j + 8);
      long l2 = (long) LONG_LE.get(b, j + 16);
      long l3 = (long) LONG_LE.get(b, j + 24);
      long e04 = l0 & LOW32 | l2 << 32;
      long e15 = l0 >>> 32 | l2 & HIGH32;
      long e26 = l1 & LOW32 | l3 << 32;
      long e37 = l1 >>> 32 | l3 & HIGH32;
      long lowEven = e04 & LOW16 | (e26 & LOW16) << 16;
      long highEven = e04 >>> 16 & LOW16 | e26 & HIGH16;
      long lowOdd = e15 & LOW16 | (e37 & LOW16) << 16;
      long highOdd = e15 >>> 16 & LOW16 | e37 & HIGH16;
      LONG_LE.set(p0, i, oddBytes(highEven, highOdd));
      LONG_LE.set(p1, i, evenBytes(highEven, highOdd));
      LONG_LE.set(p2, i, oddBytes(lowEven, lowOdd));
      LONG_LE.set(p3, i, evenBytes(lowEven, lowOdd));
    }
    for (; i < n; i++, j += 4) {
      int u = (int) INT_LE.get(b, j);
      p0[i] = (byte) (u >>> 24);
      p1[i] = (byte) (u >>> 16);
      p2[i] = (byte) (u >>> 8);
      p3[i] = (byte) u;
    }
  }

  private static void splitBytes(int size, byte[] b, int n, byte[][] planes) {
    for (int p = 0; p < size; p++) {
      byte[] pl = planes[p];
      int off = size - 1 - p;
      for (int i = 0, j = off; i < n; i++, j += size) {
        pl[i] = b[j];
      }
    }
  }


  /** Merges the planes where {@code v} says they are into elements at {@code b[base..)}. */
  static void merge(Layout layout, int size, PlaneCoder.PlaneViews v, int n, byte[] b, int base) {
    byte[][] a = v.array;
    int[] o = v.offset;
    switch (layout) {
      case F32 -> mergeF32(a[0], o[0], a[1], o[1], a[2], o[2], a[3], o[3], n, b, base);
      case BF16 -> mergeBF16(a[0], o[0], a[1], o[1], n, b, base);
      case F16 -> mergeF16(a[0], o[0], a[1], o[1], a[2], o[2], n, b, base);
      case BYTES -> {
        if (size == 4) {
          // Most significant plane first: byte 0 of an element comes from plane 3.
          merge4(a[3], o[3], a[2], o[2], a[1], o[1], a[0], o[0], n, b, base);
        } else {
          mergeBytes(size, a, o, n, b, base);
        }
      }
    }
  }

  private static final long LOW_BITS = 0x0101010101010101L;
  private static final long LOW7 = 0x7F7F7F7F7F7F7F7FL;
  private static final long HIGH_BITS = 0x8080808080808080L;

  /**
   * Eight elements at a time from one 8-byte load per plane: the two top bytes of each element are
   * computed for all eight at once, and the four planes are interleaved with shifts and masks
   * (a byte transpose), so the loop stores four longs instead of assembling eight ints byte by byte.
   */
  private static void mergeF32(
      byte[] e, int eo, byte[] h, int ho, byte[] m1, int m1o, byte[] m0, int m0o, int n, byte[] b, int base) {
    int i = 0;
    int j = base;
    for (; i + 8 <= n; i += 8, j += 32) {
      long ee = (long) LONG_LE.get(e, eo + i);
      long hh = (long) LONG_LE.get(h, ho + i);
      put4(b, j, (long) LONG_LE.get(m0, m0o + i), (long) LONG_LE.get(m1, m1o + i), expLowAndTopMantissa(ee, hh),
          signAndExpHigh(ee, hh));
    }
    for (; i < n; i++, j += 4) {
      int hi = h[ho + i];
      int u = (hi & 0x80) << 24 | (e[eo + i] & 0xFF) << 23 | (hi & 0x7F) << 16 | (m1[m1o + i] & 0xFF) << 8 | (m0[m0o + i] & 0xFF);
      INT_LE.set(b, j, u);
    }
  }

  /**
   * For eight elements at once, from eight exponent bytes {@code e} and eight sign+top-mantissa
   * bytes {@code h}: the float's second-highest byte (an fp32's byte 2, a bf16's byte 0), the
   * exponent's low bit over the top seven mantissa bits.
   */
  private static long expLowAndTopMantissa(long e, long h) {
    return (e & LOW_BITS) << 7 | h & LOW7;
  }

  /** As {@link #expLowAndTopMantissa}, the highest byte: the sign over the exponent's top seven bits. */
  private static long signAndExpHigh(long e, long h) {
    return h & HIGH_BITS | e >>> 1 & LOW7;
  }

  /** Four-byte elements whose byte k (least significant first) is plane {@code pk}'s symbol. */
  private static void merge4(
      byte[] p0, int o0, byte[] p1, int o1, byte[] p2, int o2, byte[] p3, int o3, int n, byte[] b, int base) {
    int i = 0;
    int j = base;
    for (; i + 8 <= n; i += 8, j += 32) {
      put4(b, j, (long) LONG_LE.get(p0, o0 + i), (long) LONG_LE.get(p1, o1 + i), (long) LONG_LE.get(p2, o2 + i),
          (long) LONG_LE.get(p3, o3 + i));
    }
    for (; i < n; i++, j += 4) {
      INT_LE.set(b, j, (p0[o0 + i] & 0xFF) | (p1[o1 + i] & 0xFF) << 8 | (p2[o2 + i] & 0xFF) << 16 | p3[o3 + i] << 24);
    }
  }

  /**
   * Stores eight four-byte elements at {@code b[j..j+32)}: byte k of element i is byte i of {@code bk}.
   * Elements are built in 16-bit units, even and odd elements apart: an even element's bytes
   * stay in place and an odd one's move by one byte, so each unit costs a mask, a shift and an or
   * (about half the operations of spreading every plane's bytes apart first).
   */
  private static void put4(byte[] b, int j, long b0, long b1, long b2, long b3) {
    long lowEven = interleaveEven(b0, b1); // bytes 0-1 of elements 0, 2, 4, 6
    long lowOdd = interleaveOdd(b0, b1); // of elements 1, 3, 5, 7
    long highEven = interleaveEven(b2, b3); // bytes 2-3
    long highOdd = interleaveOdd(b2, b3);
    long e04 = lowEven & LOW16 | (highEven & LOW16) << 16; // elements 0 and 4
    long e26 = lowEven >>> 16 & LOW16 | highEven & HIGH16;
    long e15 = lowOdd & LOW16 | (highOdd & LOW16) << 16;
    long e37 = lowOdd >>> 16 & LOW16 | highOdd & HIGH16;
    LONG_LE.set(b, j, e04 & 0xFFFFFFFFL | e15 << 32);
    LONG_LE.set(b, j + 8, e26 & 0xFFFFFFFFL | e37 << 32);
    LONG_LE.set(b, j + 16, e04 >>> 32 | e15 & 0xFFFFFFFF00000000L);
    LONG_LE.set(b, j + 24, e26 >>> 32 | e37 & 0xFFFFFFFF00000000L);
  }

  private static final long LOW8 = 0x00FF00FF00FF00FFL;
  private static final long HIGH8 = 0xFF00FF00FF00FF00L;
  private static final long LOW16 = 0x0000FFFF0000FFFFL;
  private static final long HIGH16 = 0xFFFF0000FFFF0000L;
  private static final long LOW32 = 0x00000000FFFFFFFFL;
  private static final long HIGH32 = 0xFFFFFFFF00000000L;

  /** The 16-bit units {@code lo[i] | hi[i] << 8} of the even bytes i = 0, 2, 4, 6 of two longs. */
  private static long interleaveEven(long lo, long hi) {
    return lo & LOW8 | (hi & LOW8) << 8;
  }

  /** As {@link #interleaveEven}, of the odd bytes 1, 3, 5, 7. */
  private static long interleaveOdd(long lo, long hi) {
    return lo >>> 8 & LOW8 | hi & HIGH8;
  }

  /** Stores eight two-byte elements at {@code b[j..j+16)}: byte k of element i is byte i of {@code bk}. */
  private static void put2(byte[] b, int j, long b0, long b1) {
    long even = interleaveEven(b0, b1); // elements 0, 2, 4, 6
    long odd = interleaveOdd(b0, b1); // elements 1, 3, 5, 7
    long e0145 = even & LOW16 | (odd & LOW16) << 16;
    long e2367 = even >>> 16 & LOW16 | odd & HIGH16;
    LONG_LE.set(b, j, e0145 & 0xFFFFFFFFL | e2367 << 32);
    LONG_LE.set(b, j + 8, e0145 >>> 32 | e2367 & 0xFFFFFFFF00000000L);
  }

  private static void mergeBF16(byte[] e, int eo, byte[] h, int ho, int n, byte[] b, int base) {
    int i = 0;
    int j = base;
    for (; i + 8 <= n; i += 8, j += 16) {
      long ee = (long) LONG_LE.get(e, eo + i);
      long hh = (long) LONG_LE.get(h, ho + i);
      put2(b, j, expLowAndTopMantissa(ee, hh), signAndExpHigh(ee, hh));
    }
    for (; i < n; i++, j += 2) {
      int ei = e[eo + i] & 0xFF;
      int hi = h[ho + i] & 0xFF;
      b[j] = (byte) ((ei << 7) | (hi & 0x7F));
      b[j + 1] = (byte) ((hi & 0x80) | (ei >>> 1));
    }
  }

  private static void mergeF16(byte[] e, int eo, byte[] h, int ho, byte[] l, int lo, int n, byte[] b, int base) {
    for (int i = 0, j = base; i < n; i++, j += 2) {
      int hi = h[ho + i];
      int u = ((hi & 0x80) << 8) | ((e[eo + i] & 0x1F) << 10) | ((hi & 0x7F) << 3) | (l[lo + i] & 7);
      b[j] = (byte) u;
      b[j + 1] = (byte) (u >>> 8);
    }
  }

  private static void mergeBytes(int size, byte[][] planes, int[] offsets, int n, byte[] b, int base) {
    for (int p = 0; p < size; p++) {
      byte[] pl = planes[p];
      int o = offsets[p];
      for (int i = 0, j = base + size - 1 - p; i < n; i++, j += size) {
        b[j] = pl[o + i];
      }
    }
  }


  // ---------------------------------------------------------------- deltas

  static void xor(byte[] a, byte[] b, byte[] out, int bytes) {
    int i = 0;
    for (; i + 8 <= bytes; i += 8) {
      LONG_LE.set(out, i, (long) LONG_LE.get(a, i) ^ (long) LONG_LE.get(b, i));
    }
    for (; i < bytes; i++) {
      out[i] = (byte) (a[i] ^ b[i]);
    }
  }

  /** out = zigzag(cur - par) per element, as little-endian integers of {@code size} bytes. */
  static void subtract(byte[] cur, byte[] par, byte[] out, int n, int size) {
    if (size == 4) {
      for (int j = 0; j < n * 4; j += 4) {
        int d = (int) INT_LE.get(cur, j) - (int) INT_LE.get(par, j);
        INT_LE.set(out, j, (d << 1) ^ (d >> 31));
      }
      return;
    }
    int bits = size * 8;
    for (int i = 0, j = 0; i < n; i++, j += size) {
      long d = read(cur, j, size) - read(par, j, size);
      d = (d << (64 - bits)) >> (64 - bits); // wrap to the element width, sign-extended
      long z = (d << 1) ^ (d >> 63);
      write(out, j, size, z);
    }
  }

  /** Inverse of {@link #subtract}, in place: {@code b} holds the zigzag differences. */
  static void add(byte[] b, byte[] par, int n, int size) {
    if (size == 4) {
      for (int j = 0; j < n * 4; j += 4) {
        int z = (int) INT_LE.get(b, j);
        INT_LE.set(b, j, (int) INT_LE.get(par, j) + ((z >>> 1) ^ -(z & 1)));
      }
      return;
    }
    for (int i = 0, j = 0; i < n; i++, j += size) {
      long z = read(b, j, size);
      long d = (z >>> 1) ^ -(z & 1);
      write(b, j, size, read(par, j, size) + d);
    }
  }

  private static long read(byte[] b, int off, int size) {
    long v = 0;
    for (int k = size - 1; k >= 0; k--) {
      v = (v << 8) | (b[off + k] & 0xFF);
    }
    return v;
  }

  private static void write(byte[] b, int off, int size, long v) {
    for (int k = 0; k < size; k++) {
      b[off + k] = (byte) v;
      v >>>= 8;
    }
  }
}
