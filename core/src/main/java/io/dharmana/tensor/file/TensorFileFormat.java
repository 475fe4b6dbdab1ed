package io.dharmana.tensor.file;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Layout of a {@code .dhz} file:
 *
 * <pre>
 *   magic "DHARMANZ" (8 bytes), format version (int32 LE)
 *   encoded tensors, back to back, at the offsets the index records
 *   header, zstd-compressed: binary ({@link BinaryHeader}) in versions 2 to 4, UTF-8 JSON ({@link FileHeader}) in version 1
 *   trailer (24 bytes): header offset (int64 LE), compressed header length (int64 LE),
 *                       CRC-32C of the compressed header (int32 LE), end magic "DHZ1"
 * </pre>
 *
 * The header comes last so the file is written in one pass; readers find it through the trailer
 * and read single tensors by their index entry without touching the others. Version 2 changed only
 * the header's encoding. Version 3 changed only how a full decompression is checked: instead of the
 * SHA-256 of the whole output (one serial pass, the reason decompression hardly scaled with
 * threads) the header records the CRC-32C of the original's header region and of the whole output,
 * which follows from the tensors' CRC-32Cs that the decoding threads check in parallel. Version 4
 * is version 3 whose index may store a tensor larger than 256 MiB as several entries of its name,
 * pieces of its rows ({@link TensorPieces}); it is written only for such a file, so
 * that older readers refuse it by its version instead of misreading its index. The tensors'
 * encodings are the same in all versions, and all are read.
 */
final class TensorFileFormat {
  static final byte[] MAGIC = "DHARMANZ".getBytes(StandardCharsets.US_ASCII);
  static final byte[] END_MAGIC = "DHZ1".getBytes(StandardCharsets.US_ASCII);
  /** The version written, unless a tensor is stored in pieces. */
  static final int VERSION = 3;
  /** Version 3 with tensors stored in pieces ({@link TensorPieces}): written only for a file that has such a tensor. */
  static final int VERSION_PIECES = 4;
  /** The binary header with SHA-256s of the original and the output; still read. */
  static final int VERSION_SHA256 = 2;
  /** The first version, whose header is JSON; still read. */
  static final int VERSION_JSON_HEADER = 1;
  static final int PREAMBLE_BYTES = 12;
  static final int TRAILER_BYTES = 24;
  /** Headers larger than this are rejected before allocation. */
  static final long MAX_HEADER_BYTES = 1L << 30;

  private TensorFileFormat() {}

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }
}
