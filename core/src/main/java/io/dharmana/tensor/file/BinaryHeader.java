package io.dharmana.tensor.file;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The header of a format version 2 or 3 {@code .dhz} file: the same fields as the version 1 JSON
 * ({@link FileHeader}), as length-prefixed binary read in one pass without a JSON parser.
 *
 * <p>Why: a checkpoint indexes thousands of tensors; parsing them as JSON in a cold JVM took about
 * 0.3 s of CPU per command (Jackson, interpreted, then compiled), a tenth of a 510 MB decompression.
 *
 * <pre>
 *   int64 original size, then
 *     version 2: 32 bytes original SHA-256, 32 bytes decoded SHA-256
 *     version 3: uint32 CRC-32C of the original's header region, uint32 CRC-32C of the decoded output
 *   u8 flags (1 = lossy, 2 = has parent), int32 block
 *   [has parent] string parent name, 32 bytes parent SHA-256
 *   error report: int64 count, float64 max abs error, sum of squared error, sum of squared reference
 *   varint chain length, strings
 *   varint original safetensors header length, its bytes
 *   varint tensor count, then per tensor in the original file's order:
 *     string name, string dtype, varint rank, varint dims,
 *     varint begin, varint end, u8 codec id, u8 delta (0 or 1), varint offset, varint length,
 *     uint32 CRC-32C, [lossy codec] error report
 * </pre>
 *
 * Integers are little-endian; varints are unsigned LEB128; strings are a varint byte count and UTF-8.
 * Nothing may follow the last entry.
 */
final class BinaryHeader {
  private static final int SHA256_BYTES = 32;
  private static final int FLAG_LOSSY = 1;
  private static final int FLAG_PARENT = 2;
  /** Bytes of the smallest possible entry: empty name, one-letter dtype, rank 0, six one-byte fields, CRC. */
  private static final int MIN_ENTRY_BYTES = 1 + 2 + 1 + 2 + 2 + 2 + 4;

  private BinaryHeader() {}

  /** Writes {@code h} in version 3 when it holds CRC-32Cs of the output ({@link FileHeader#checkedByCrc}), else in version 2. */
  static byte[] write(FileHeader h) {
    Sink out = new Sink(512 + h.originalHeader().length + h.tensors().size() * 96);
    out.int64(h.originalSize());
    if (h.checkedByCrc()) {
      out.int32((int) h.headerCrc32c());
      out.int32((int) h.decodedCrc32c());
    } else {
      out.bytes(HexFormat.of().parseHex(h.originalSha256()));
      out.bytes(HexFormat.of().parseHex(h.decodedSha256()));
    }
    out.u8((h.lossy() ? FLAG_LOSSY : 0) | (h.parentName() != null ? FLAG_PARENT : 0));
    out.int32(h.block());
    if (h.parentName() != null) {
      out.string(h.parentName());
      out.bytes(HexFormat.of().parseHex(h.parentSha256()));
    }
    out.error(h.error());
    out.varint(h.chain().size());
    for (String c : h.chain()) {
      out.string(c);
    }
    out.varint(h.originalHeader().length);
    out.bytes(h.originalHeader());
    out.varint(h.tensors().size());
    for (TensorFileEntry e : h.tensors()) {
      out.string(e.name());
      out.string(e.dtype().name());
      long[] shape = e.shape();
      out.varint(shape.length);
      for (long d : shape) {
        out.varint(d);
      }
      out.varint(e.begin());
      out.varint(e.end());
      out.u8(e.codec().id());
      out.u8(e.delta() ? 1 : 0);
      out.varint(e.offset());
      out.varint(e.length());
      out.int32((int) e.crc32c());
      if (e.codec().lossy()) {
        out.error(e.error());
      }
    }
    return out.toByteArray();
  }

  /**
   * Reads a header written by {@link #write} in file format {@code version} (2 or 3).
   *
   * @throws CorruptDataException naming {@code path} and the field, if the bytes end early, hold an
   *     impossible value or have bytes left over
   */
  static FileHeader read(byte[] bytes, Path path, int version) {
    Source in = new Source(bytes, path);
    long originalSize = in.int64("original size");
    String originalSha = null;
    String decodedSha = null;
    long headerCrc = -1;
    long decodedCrc = -1;
    if (version >= TensorFileFormat.VERSION) {
      headerCrc = in.int32("header CRC-32C") & 0xFFFFFFFFL;
      decodedCrc = in.int32("decoded CRC-32C") & 0xFFFFFFFFL;
    } else {
      originalSha = in.sha256("original SHA-256");
      decodedSha = in.sha256("decoded SHA-256");
    }
    int flags = in.u8("flags");
    if ((flags & ~(FLAG_LOSSY | FLAG_PARENT)) != 0) {
      throw in.corrupt("unknown flags " + flags);
    }
    int block = in.int32("block");
    String parentName = null;
    String parentSha = null;
    if ((flags & FLAG_PARENT) != 0) {
      parentName = in.string("parent name");
      parentSha = in.sha256("parent SHA-256");
    }
    ErrorReport error = in.error("overall error");
    int chainLength = in.count(1, "chain length");
    List<String> chain = new ArrayList<>(chainLength);
    for (int i = 0; i < chainLength; i++) {
      chain.add(in.string("chain"));
    }
    byte[] originalHeader = in.bytes(in.count(1, "original header length"), "original header");
    int count = in.count(MIN_ENTRY_BYTES, "tensor count");
    List<TensorFileEntry> tensors = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      in.entry = i;
      String name = in.string("name");
      DType dtype = in.dtype();
      long[] shape = new long[in.count(1, "rank")];
      for (int d = 0; d < shape.length; d++) {
        shape[d] = in.varint("shape");
      }
      long begin = in.varint("begin");
      long end = in.varint("end");
      TensorCodec codec = in.codec();
      int delta = in.u8("delta");
      if (delta > 1) {
        throw in.corrupt("delta flag " + delta + " is not 0 or 1");
      }
      long offset = in.varint("offset");
      long length = in.varint("length");
      long crc = in.int32("CRC-32C") & 0xFFFFFFFFL;
      ErrorReport tensorError = codec.lossy() ? in.error("error") : ErrorReport.EXACT;
      tensors.add(new TensorFileEntry(name, dtype, shape, begin, end, codec, delta == 1, offset, length, crc, tensorError));
    }
    in.entry = -1;
    if (in.pos != bytes.length) {
      throw in.corrupt((bytes.length - in.pos) + " bytes follow the last tensor entry");
    }
    return new FileHeader(originalSize, originalSha, decodedSha, originalHeader, chain, (flags & FLAG_LOSSY) != 0, block,
        parentName, parentSha, error, tensors, headerCrc, decodedCrc);
  }

  private static final class Sink extends ByteArrayOutputStream {
    Sink(int capacity) {
      super(capacity);
    }

    void u8(int v) {
      write(v);
    }

    void int32(int v) {
      for (int i = 0; i < 4; i++) {
        write(v >>> (8 * i));
      }
    }

    void int64(long v) {
      int32((int) v);
      int32((int) (v >>> 32));
    }

    void varint(long v) {
      if (v < 0) {
        throw new IllegalStateException("Cannot write tensor file header: negative number " + v);
      }
      while (v >= 0x80) {
        write((int) (v & 0x7F) | 0x80);
        v >>>= 7;
      }
      write((int) v);
    }

    void bytes(byte[] b) {
      write(b, 0, b.length);
    }

    void string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      varint(b.length);
      bytes(b);
    }

    void error(ErrorReport r) {
      int64(r.count());
      int64(Double.doubleToRawLongBits(r.maxAbsError()));
      int64(Double.doubleToRawLongBits(r.sumSquaredError()));
      int64(Double.doubleToRawLongBits(r.sumSquaredReference()));
    }
  }

  /** Reads with every length checked against what is left; errors name the file, the entry and the field. */
  private static final class Source {
    private final byte[] buf;
    private final Path path;
    int pos;
    int entry = -1;

    Source(byte[] buf, Path path) {
      this.buf = buf;
      this.path = path;
    }

    CorruptDataException corrupt(String what) {
      String where = entry < 0 ? "" : " in tensor entry " + entry;
      return new CorruptDataException("Cannot read tensor file " + path + ": damaged index" + where + " at byte " + pos + ": " + what);
    }

    private void require(long n, String field) {
      if (n > buf.length - pos) {
        throw corrupt("the index ends inside field '" + field + "' (" + n + " bytes needed, " + (buf.length - pos) + " left)");
      }
    }

    int u8(String field) {
      require(1, field);
      return buf[pos++] & 0xFF;
    }

    int int32(String field) {
      require(4, field);
      int v = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16 | (buf[pos + 3] & 0xFF) << 24;
      pos += 4;
      return v;
    }

    long int64(String field) {
      long low = int32(field) & 0xFFFFFFFFL;
      return low | (long) int32(field) << 32;
    }

    long varint(String field) {
      long v = 0;
      for (int shift = 0; shift < 63; shift += 7) {
        int b = u8(field);
        v |= (long) (b & 0x7F) << shift;
        if (b < 0x80) {
          return v;
        }
      }
      throw corrupt("field '" + field + "' is not a number below 2^63");
    }

    /** A count of items of at least {@code minItemBytes} each, which must fit in what is left. */
    int count(int minItemBytes, String field) {
      long n = varint(field);
      if (n > (buf.length - pos) / minItemBytes) {
        throw corrupt("field '" + field + "' is " + n + " but only " + (buf.length - pos) + " bytes are left");
      }
      return (int) n;
    }

    byte[] bytes(int n, String field) {
      require(n, field);
      byte[] b = java.util.Arrays.copyOfRange(buf, pos, pos + n);
      pos += n;
      return b;
    }

    String string(String field) {
      int n = count(1, field);
      String s = new String(buf, pos, n, StandardCharsets.UTF_8);
      pos += n;
      return s;
    }

    String sha256(String field) {
      require(SHA256_BYTES, field);
      String hex = HexFormat.of().formatHex(buf, pos, pos + SHA256_BYTES);
      pos += SHA256_BYTES;
      return hex;
    }

    ErrorReport error(String field) {
      long count = int64(field);
      double maxAbs = Double.longBitsToDouble(int64(field));
      double sse = Double.longBitsToDouble(int64(field));
      double ssr = Double.longBitsToDouble(int64(field));
      try {
        return new ErrorReport(count, maxAbs, sse, ssr);
      } catch (IllegalArgumentException e) {
        throw corrupt("field '" + field + "': " + e.getMessage());
      }
    }

    DType dtype() {
      String name = string("dtype");
      try {
        return DType.parse(name);
      } catch (InvalidDescriptorException e) {
        throw corrupt(e.getMessage());
      }
    }

    TensorCodec codec() {
      int id = u8("codec");
      try {
        return TensorCodec.ofId(id);
      } catch (CorruptDataException e) {
        throw corrupt("unknown codec id " + id);
      }
    }
  }
}
