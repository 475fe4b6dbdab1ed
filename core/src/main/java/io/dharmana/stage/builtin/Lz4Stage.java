package io.dharmana.stage.builtin;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 block compression. Format (version 1): the original length as 4 bytes little-endian, then
 * one LZ4 block. LZ4 blocks carry no checksum, so this stage does not claim to detect damage; it
 * only guarantees that damaged input fails with {@link CorruptDataException} or decodes to some
 * bytes, never reads out of bounds and never allocates more than the block could hold.
 */
final class Lz4Stage implements Stage {
  enum Mode {
    FAST,
    HIGH;

    String parameter() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private static final int HEADER = 4;
  /** Largest output decode will allocate, whatever a damaged length field claims. */
  static final long MAX_CONTENT_SIZE = 1L << 30;
  /**
   * An LZ4 sequence of n bytes expands to at most about 255 n bytes (one length byte per 255
   * matched bytes), so a longer claimed length means a damaged header.
   */
  private static final int MAX_RATIO = 256;

  private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();

  private final LZ4Compressor compressor;
  private final LZ4SafeDecompressor decompressor = LZ4.safeDecompressor();
  private final StageSpec spec;

  Lz4Stage(Mode mode, int version) {
    this.compressor = mode == Mode.FAST ? LZ4.fastCompressor() : LZ4.highCompressor();
    this.spec = new StageSpec(Lz4StageFactory.NAME, version, Map.of("mode", mode.parameter()));
  }


  @Override
  public StageSpec spec() {
    return spec;
  }

  @Override
  public byte[] encode(byte[] input, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, input.length);
    byte[] scratch = ScratchBuffers.atLeast(HEADER + compressor.maxCompressedLength(length));
    scratch[0] = (byte) length;
    scratch[1] = (byte) (length >>> 8);
    scratch[2] = (byte) (length >>> 16);
    scratch[3] = (byte) (length >>> 24);
    int written = compressor.compress(input, offset, length, scratch, HEADER, scratch.length - HEADER);
    return Arrays.copyOf(scratch, HEADER + written);
  }

  @Override
  public byte[] decode(byte[] encoded) {
    if (encoded.length < HEADER + 1) {
      throw corrupt(encoded, "it is shorter than a length and the smallest block (" + (HEADER + 1) + " bytes)");
    }
    long length = (encoded[0] & 0xffL) | (encoded[1] & 0xffL) << 8 | (encoded[2] & 0xffL) << 16 | (encoded[3] & 0xffL) << 24;
    long bound = Math.min(MAX_CONTENT_SIZE, (long) (encoded.length - HEADER) * MAX_RATIO);
    if (length > bound) {
      throw corrupt(encoded, "its header claims " + length + " bytes, more than the " + bound + " it can hold");
    }
    byte[] output = new byte[(int) length];
    int produced;
    try {
      produced = decompressor.decompress(encoded, HEADER, encoded.length - HEADER, output, 0, output.length);
    } catch (RuntimeException e) {
      // LZ4Exception for malformed blocks; the safe decompressor never reads or writes out of bounds
      throw new CorruptDataException("Cannot decode lz4 block of " + encoded.length + " bytes: " + e.getMessage(), e);
    }
    if (produced != length) {
      throw corrupt(encoded, "it decoded to " + produced + " bytes, its header says " + length);
    }
    return output;
  }

  private static CorruptDataException corrupt(byte[] encoded, String why) {
    return new CorruptDataException("Cannot decode lz4 block of " + encoded.length + " bytes: " + why);
  }

  @Override
  public String toString() {
    return spec.toString();
  }
}
