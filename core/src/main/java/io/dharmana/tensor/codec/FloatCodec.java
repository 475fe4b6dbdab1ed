package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Lossless coding of tensor data that exploits the structure of floating-point numbers.
 *
 * <p>Each element is split into planes: for fp32, bf16 and fp16 the exponent, the sign with the
 * top seven mantissa bits, and the remaining mantissa bits; for every other dtype (fp8, fp64,
 * integers) the bytes of the element, most significant first. Each plane of each chunk is
 * entropy-coded (static rANS) with tables fitted to that chunk, optionally conditioned on a
 * context the decoder already knows (the previous exponent, the element's exponent, the more
 * significant byte), or kept raw or constant when that is cheaper. Since format 2, a plane whose
 * best coding is close to what a Huffman code takes is Huffman-coded instead, which decodes
 * several times faster. With a parent (the same tensor
 * in a base checkpoint), each chunk may instead be coded as the byte planes of the XOR or of the
 * integer difference of the bit patterns, whichever is estimated to be smallest.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>{@code decode(encode(x))} must reproduce {@code x} bit for bit for every input: any byte
 *       length (including 0 and lengths that are not a multiple of the element size), NaNs with
 *       payloads, infinities, subnormals and negative zero.
 *   <li>The encoded form is self-describing (format version, layout, element size, length, chunk
 *       size and each chunk's mode) and does not depend on the options used to decode it.
 *   <li>Decoding damaged input throws {@link CorruptDataException}; it never fails with an index
 *       error and never allocates more than the caller's output size allows.
 *   <li>Instances are immutable and safe for concurrent use.
 * </ul>
 *
 * <p>Deltas need the parent at decode time; the caller (the tensor file format or the checkpoint
 * store) must record which checkpoint is the parent. A {@code delta} pipeline stage cannot get a
 * parent through the stage SPI, so deltas are used through this class only.
 */
public final class FloatCodec {
  /** The format written: 2 adds Huffman-coded planes. Format 1 is still read, and written on request. */
  static final int FORMAT_VERSION = 2;

  private static final ThreadLocal<ChunkCoder.Scratch> SCRATCH = ThreadLocal.withInitial(ChunkCoder.Scratch::new);

  private final FloatCodecOptions options;
  private final int format;

  private FloatCodec(FloatCodecOptions options, int format) {
    this.options = options;
    this.format = format;
  }

  public static FloatCodec create(FloatCodecOptions options) {
    return create(options, FORMAT_VERSION);
  }

  /** A codec writing format {@code format}: 1 for stage versions that must write what they always wrote. */
  static FloatCodec create(FloatCodecOptions options, int format) {
    if (format != 1 && format != FORMAT_VERSION) {
      throw new IllegalArgumentException("Invalid float coding format " + format + ": must be 1 or " + FORMAT_VERSION);
    }
    return new FloatCodec(Objects.requireNonNull(options, "options"), format);
  }

  public FloatCodecOptions options() {
    return options;
  }

  /**
   * Encodes the remaining bytes of {@code data} (little-endian elements of {@code dtype}), without
   * moving its position.
   *
   * @param parentOrNull the same tensor in the parent checkpoint (same dtype and byte size), or
   *     null to code without a delta
   * @throws IllegalArgumentException if the parent's size differs from the data's
   */
  public byte[] encode(DType dtype, ByteBuffer data, ByteBuffer parentOrNull) {
    Objects.requireNonNull(dtype, "dtype");
    Layout layout = Layout.of(dtype);
    return encode(layout, dtype.size(), data, parentOrNull);
  }

  byte[] encode(Layout layout, int size, ByteBuffer data, ByteBuffer parentOrNull) {
    int length = data.remaining();
    checkParentSize(length, parentOrNull);
    int chunkElements = Math.max(1, options.chunkBytes() / size);
    long elements = length / size;
    int chunks = (int) ((elements + chunkElements - 1) / chunkElements);
    // Reused per thread (when not in use further up this thread's stack): a fresh buffer the
    // size of the tensor per call costs more in zeroing and first-touch page faults than coding
    // a small tensor does.
    ChunkCoder.Scratch sc = SCRATCH.get();
    ByteSink out = sc.takeSink(0, length + 16 * chunks + 64);
    try {
      encodeInto(out, layout, size, data, parentOrNull, length, chunkElements, elements, chunks, sc);
      return out.toByteArray();
    } finally {
      sc.giveBackSink(0, out);
    }
  }

  private static void checkParentSize(int length, ByteBuffer parentOrNull) {
    if (parentOrNull != null && parentOrNull.remaining() != length) {
      throw new IllegalArgumentException(
          "Cannot delta-code " + length + " bytes against a parent of " + parentOrNull.remaining()
              + " bytes: the parent must have the same size");
    }
  }

  /**
   * As {@link #encode(DType, ByteBuffer, ByteBuffer)}, writing into {@code buffer} instead of a new
   * array: a caller coding many tensors can keep one, sized by {@link #maxEncodedLength}.
   *
   * @param buffer where to write, or null for a new array
   * @return the encoding, from position 0 to the limit: backed by {@code buffer}, or by a new array
   *     if {@code buffer} was null or too small
   */
  public ByteBuffer encode(DType dtype, ByteBuffer data, ByteBuffer parentOrNull, byte[] buffer) {
    Objects.requireNonNull(dtype, "dtype");
    Layout layout = Layout.of(dtype);
    int size = dtype.size();
    int length = data.remaining();
    checkParentSize(length, parentOrNull);
    int chunkElements = Math.max(1, options.chunkBytes() / size);
    long elements = length / size;
    int chunks = (int) ((elements + chunkElements - 1) / chunkElements);
    ByteSink out = buffer == null ? new ByteSink(length + 16 * chunks + 64) : new ByteSink(buffer);
    encodeInto(out, layout, size, data, parentOrNull, length, chunkElements, elements, chunks, SCRATCH.get());
    return ByteBuffer.wrap(out.array(), 0, out.position());
  }

  /**
   * The most bytes {@link #encode} writes for {@code length} bytes of data: a chunk is never
   * stored larger than raw plus its mode byte, plus per chunk a length (at most 5 bytes), plus the
   * header (at most 12 bytes) and the tail of a partial element (at most 7).
   */
  public long maxEncodedLength(long length) {
    // A chunk holds at least chunkBytes - 7 >= chunkBytes / 2 bytes (whole elements of <= 8 bytes).
    long chunks = length / (options.chunkBytes() / 2) + 1;
    return length + 6 * chunks + 19;
  }

  private void encodeInto(
      ByteSink out, Layout layout, int size, ByteBuffer data, ByteBuffer parentOrNull, int length, int chunkElements,
      long elements, int chunks, ChunkCoder.Scratch sc) {
    out.writeByte(format);
    out.writeByte(layout.code);
    out.writeByte(size);
    out.writeVarint(length);
    out.writeVarint((long) chunkElements * size);
    if (options.threads() > 1 && chunks > 1) {
      byte[][] coded = new byte[chunks][];
      inParallel(chunks, c -> {
        ByteSink sink = new ByteSink((int) Math.min((long) chunkElements * size, length) + 1024);
        encodeChunk(layout, size, data, parentOrNull, c, chunkElements, elements, sink);
        coded[c] = sink.toByteArray();
      });
      for (byte[] c : coded) {
        out.writeVarint(c.length);
        out.write(c, 0, c.length);
      }
    } else {
      ByteSink sink = sc.takeSink(1, (int) Math.min((long) chunkElements * size, length) + 1024);
      try {
        for (int c = 0; c < chunks; c++) {
          sink.truncate(0);
          encodeChunk(layout, size, data, parentOrNull, c, chunkElements, elements, sink);
          out.writeVarint(sink.position());
          out.write(sink.array(), 0, sink.position());
        }
      } finally {
        sc.giveBackSink(1, sink);
      }
    }
    int tail = (int) (length - elements * size);
    for (int i = 0; i < tail; i++) {
      out.writeByte(data.get(data.position() + length - tail + i));
    }
  }

  /** Runs {@code body} for chunks 0..chunks-1 on at most {@code threads} common-pool threads. */
  private void inParallel(int chunks, java.util.function.IntConsumer body) {
    int groups = Math.min(options.threads(), chunks);
    // Chunk c goes to group c % groups: neighbouring chunks (often similar in cost) spread out.
    IntStream.range(0, groups).parallel().forEach(g -> {
      for (int c = g; c < chunks; c += groups) {
        body.accept(c);
      }
    });
  }

  private void encodeChunk(
      Layout layout, int size, ByteBuffer data, ByteBuffer parent, int c, int chunkElements, long elements, ByteSink sink) {
    ChunkCoder.Scratch sc = SCRATCH.get();
    int n = (int) Math.min(chunkElements, elements - (long) c * chunkElements);
    int bytes = n * size;
    int off = c * chunkElements * size;
    byte[] cur = sc.cur(bytes);
    data.get(data.position() + off, cur, 0, bytes);
    byte[] par = null;
    if (parent != null) {
      par = sc.par(bytes);
      parent.get(parent.position() + off, par, 0, bytes);
    }
    ChunkCoder.encode(layout, size, cur, par, n, options.minPlaneSaving(), format, sink, sc);
  }

  /**
   * Decodes what {@link #encode} produced into {@code out}, filling exactly its remaining bytes and
   * advancing its position past them.
   *
   * @param parentOrNull the parent given to {@link #encode}, required if it was not null
   * @throws CorruptDataException if {@code encoded} is damaged, was written for another dtype or
   *     size, or needs a parent that was not given
   */
  public void decode(byte[] encoded, DType dtype, ByteBuffer parentOrNull, ByteBuffer out) {
    decode(encoded, 0, encoded.length, dtype, parentOrNull, out);
  }

  /**
   * As {@link #decode(byte[], DType, ByteBuffer, ByteBuffer)}, the encoding being
   * {@code encoded[offset..offset+length)}: a caller reading many tensors can keep one buffer.
   *
   * @throws IndexOutOfBoundsException if the range lies outside {@code encoded}
   */
  public void decode(byte[] encoded, int offset, int length, DType dtype, ByteBuffer parentOrNull, ByteBuffer out) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.checkFromIndexSize(offset, length, encoded.length);
    decode(encoded, offset, offset + length, Layout.of(dtype), dtype.size(), parentOrNull, out);
  }

  /**
   * The bytes of data {@code encoded} holds, from its header: the room the output given to {@link
   * #decode} must have. Lets a reader that kept only the encoding allocate for it.
   *
   * @throws CorruptDataException if the header is damaged or of an unknown format version
   */
  public static long decodedLength(byte[] encoded) {
    ByteSource in = new ByteSource(encoded, 0, encoded.length);
    readVersion(in);
    in.skip(2, "the layout and element size");
    long length = in.readVarint();
    if (length < 0) {
      throw new CorruptDataException("Cannot decode float coding: data length " + length + " is negative");
    }
    return length;
  }

  private static void readVersion(ByteSource in) {
    int version = in.readByte();
    if (version != 1 && version != FORMAT_VERSION) {
      throw new CorruptDataException(
          "Cannot decode float coding: format version " + version + " is not 1 or " + FORMAT_VERSION + ", the ones this build reads");
    }
  }

  /** Decodes with the layout taken from the header when {@code layout} is null. */
  void decode(byte[] encoded, Layout expectedLayout, int expectedSize, ByteBuffer parent, ByteBuffer out) {
    decode(encoded, 0, encoded.length, expectedLayout, expectedSize, parent, out);
  }

  private void decode(byte[] encoded, int start, int end, Layout expectedLayout, int expectedSize, ByteBuffer parent, ByteBuffer out) {
    try {
      decodeChecked(encoded, start, end, expectedLayout, expectedSize, parent, out);
    } catch (IndexOutOfBoundsException | NegativeArraySizeException e) {
      // Every length is validated; this is the last line of defense against a case we missed.
      throw new CorruptDataException("Cannot decode float coding: damaged input (" + e + ")", e);
    }
  }

  private void decodeChecked(
      byte[] encoded, int start, int end, Layout expectedLayout, int expectedSize, ByteBuffer parent, ByteBuffer out) {
    ByteSource in = new ByteSource(encoded, start, end);
    readVersion(in);
    Layout layout = Layout.ofCode(in.readByte());
    int size = in.readByte();
    if (layout == null || size < 1 || size > 8) {
      throw new CorruptDataException("Cannot decode float coding: unknown layout or element size " + size);
    }
    if (expectedLayout != null && (layout != expectedLayout || size != expectedSize)) {
      throw new CorruptDataException(
          "Cannot decode float coding: written as " + layout + " with " + size + "-byte elements, read as "
              + expectedLayout + " with " + expectedSize + "-byte elements");
    }
    if ((layout == Layout.F32 && size != 4) || ((layout == Layout.BF16 || layout == Layout.F16) && size != 2)) {
      throw new CorruptDataException("Cannot decode float coding: layout " + layout + " with element size " + size);
    }
    int length = out.remaining();
    long declared = in.readVarint();
    if (declared != length) {
      throw new CorruptDataException(
          "Cannot decode float coding: encoded " + declared + " bytes but the output has room for " + length);
    }
    if (parent != null && parent.remaining() != length) {
      throw new IllegalArgumentException(
          "Cannot decode against a parent of " + parent.remaining() + " bytes: the tensor has " + length);
    }
    int chunkBytes = in.readVarint(FloatCodecOptions.MAX_CHUNK_BYTES, "chunk size");
    if (chunkBytes < size || chunkBytes % size != 0) {
      throw new CorruptDataException("Cannot decode float coding: chunk size " + chunkBytes + " for element size " + size);
    }
    int chunkElements = chunkBytes / size;
    long elements = length / size;
    int chunks = (int) ((elements + chunkElements - 1) / chunkElements);
    if (chunks > in.remaining()) {
      // Every chunk takes at least its length byte; a damaged chunk size must not make us allocate.
      throw new CorruptDataException(
          "Cannot decode float coding: " + chunks + " chunks of " + chunkBytes + " bytes cannot fit in " + in.remaining() + " bytes");
    }
    int[] starts = new int[chunks];
    int[] ends = new int[chunks];
    for (int c = 0; c < chunks; c++) {
      int len = in.readVarint(Integer.MAX_VALUE, "chunk length");
      in.require(len, "chunk " + c);
      starts[c] = in.pos;
      ends[c] = in.pos + len;
      in.pos += len;
    }
    int tail = (int) (length - elements * size);
    if (in.remaining() != tail) {
      throw new CorruptDataException(
          "Cannot decode float coding: " + in.remaining() + " bytes after the chunks, expected " + tail);
    }
    int base = out.position();
    if (options.threads() > 1 && chunks > 1) {
      inParallel(chunks, c -> decodeChunk(encoded, layout, size, starts[c], ends[c], parent, c, chunkElements, elements, out, base));
    } else {
      for (int c = 0; c < chunks; c++) {
        decodeChunk(encoded, layout, size, starts[c], ends[c], parent, c, chunkElements, elements, out, base);
      }
    }
    out.put(base + length - tail, encoded, in.pos, tail);
    out.position(base + length);
  }

  private static void decodeChunk(
      byte[] encoded, Layout layout, int size, int start, int end, ByteBuffer parent, int c, int chunkElements,
      long elements, ByteBuffer out, int base) {
    ChunkCoder.Scratch sc = SCRATCH.get();
    int n = (int) Math.min(chunkElements, elements - (long) c * chunkElements);
    int bytes = n * size;
    int off = c * chunkElements * size;
    byte[] par = null;
    if (parent != null) {
      par = sc.par(bytes);
      parent.get(parent.position() + off, par, 0, bytes);
    }
    ByteSource in = new ByteSource(encoded, start, end);
    if (out.hasArray()) {
      // Straight into the caller's array: no copy of the decoded chunk.
      ChunkCoder.decode(layout, size, in, par, n, out.array(), out.arrayOffset() + base + off, sc);
    } else {
      byte[] cur = sc.cur(bytes);
      ChunkCoder.decode(layout, size, in, par, n, cur, 0, sc);
      out.put(base + off, cur, 0, bytes);
    }
    if (in.remaining() != 0) {
      throw new CorruptDataException("Cannot decode float coding: chunk " + c + " has " + in.remaining() + " bytes left over");
    }
  }
}
