package io.dharmana.stage.builtin;

import io.dharmana.CorruptDataException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Appends a checksum of the input and verifies it on decode. Format (version 1): the input, then
 * its masked CRC-32C as 4 bytes little-endian or its SHA-256 as 32 bytes.
 *
 * <p>The CRC is masked as LevelDB and Snappy do (rotated right by 15 bits, plus {@code
 * 0xa282ead8}) because a bare CRC-32C makes some uniform fills valid: four zero bytes are the CRC
 * of nothing, and eight {@code 0xff} bytes are four {@code 0xff} bytes and their CRC. Zeroed or
 * erased media must not read back as valid data.
 *
 * <p>CRC-32C detects every single flipped bit and every burst of up to 32 bits, at several GB/s;
 * SHA-256 also resists deliberate tampering by someone without write access to the manifest.
 */
final class ChecksumStage implements Stage {
  enum Algorithm {
    CRC32C("crc32c", 4),
    SHA256("sha256", 32);

    final String parameter;
    final int size;

    Algorithm(String parameter, int size) {
      this.parameter = parameter;
      this.size = size;
    }
  }

  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(ChunkId::newDigest);

  private final Algorithm algorithm;
  private final StageSpec spec;

  ChecksumStage(Algorithm algorithm, int version) {
    this.algorithm = algorithm;
    this.spec = new StageSpec(ChecksumStageFactory.NAME, version, Map.of("algorithm", algorithm.parameter));
  }


  @Override
  public StageSpec spec() {
    return spec;
  }

  @Override
  public boolean detectsCorruption() {
    return true;
  }

  @Override
  public byte[] encode(byte[] input, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, input.length);
    byte[] out = new byte[length + algorithm.size];
    System.arraycopy(input, offset, out, 0, length);
    checksum(input, offset, length, out, length);
    return out;
  }

  @Override
  public byte[] decode(byte[] encoded) {
    int length = encoded.length - algorithm.size;
    if (length < 0) {
      throw new CorruptDataException(
          "Cannot verify " + algorithm.parameter + " checksum: input of " + encoded.length
              + " bytes is shorter than the checksum (" + algorithm.size + " bytes)");
    }
    byte[] actual = new byte[algorithm.size];
    checksum(encoded, 0, length, actual, 0);
    if (!Arrays.equals(actual, 0, actual.length, encoded, length, encoded.length)) {
      throw new CorruptDataException(
          "Cannot verify " + algorithm.parameter + " checksum of " + length + " bytes: expected "
              + HEX.formatHex(encoded, length, encoded.length) + ", actual " + HEX.formatHex(actual));
    }
    return Arrays.copyOf(encoded, length);
  }

  private void checksum(byte[] data, int offset, int length, byte[] out, int outOffset) {
    switch (algorithm) {
      case CRC32C -> {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        int value = mask((int) crc.getValue());
        out[outOffset] = (byte) value;
        out[outOffset + 1] = (byte) (value >>> 8);
        out[outOffset + 2] = (byte) (value >>> 16);
        out[outOffset + 3] = (byte) (value >>> 24);
      }
      case SHA256 -> {
        MessageDigest digest = SHA256.get();
        digest.update(data, offset, length);
        try {
          digest.digest(out, outOffset, algorithm.size);
        } catch (java.security.DigestException e) {
          throw new IllegalStateException("SHA-256 output of 32 bytes must fit its 32-byte slot", e);
        }
      }
    }
  }

  /** LevelDB's CRC mask; see the class comment. */
  static int mask(int crc) {
    return Integer.rotateRight(crc, 15) + 0xa282ead8;
  }

  @Override
  public String toString() {
    return spec.toString();
  }
}
