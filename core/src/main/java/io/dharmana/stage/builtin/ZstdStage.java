package io.dharmana.stage.builtin;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.SupportsBufferDecode;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * Zstandard compression, one frame per chunk, with the content size and the frame's content
 * checksum recorded so that decoding can size its output exactly and detect damage.
 *
 * <p>A chunk of at least {@link #PROBE_MIN_LENGTH} bytes is first probed: small samples of it
 * (one from its middle, or {@link #PROBE_SAMPLES} spread over it from {@link #FULL_PROBE_LENGTH}
 * bytes on) are compressed at a fast level, and when they do not shrink by
 * {@link #PROBE_MIN_SAVING_PERCENT} percent (random bytes, already-compressed media, encrypted
 * data) the chunk is compressed at the fastest level, {@link #MIN_LEVEL}, instead of the
 * configured one. The output is the same kind of frame (zstd stores what it cannot shrink as raw
 * blocks, checksummed as any frame), so every reader decodes it; the stage spec still records the
 * configured level. The decision depends on the input bytes alone, so encoding stays
 * deterministic. On incompressible data this halves the CPU of level 3 and saves far more at high
 * levels; a compressible chunk pays the probe, about 1/30 of compressing a 1 MiB chunk (one
 * sample: a 4 KiB compression at level 1 for a chunk of 16 KiB to 128 KiB).
 *
 * <p>Compression and decompression contexts are kept per thread (shared by every zstd stage on
 * that thread, the level being set per call) because creating one costs more than compressing a
 * small chunk.
 */
final class ZstdStage implements Stage, SupportsBufferDecode {
  static final int DEFAULT_LEVEL = 3;
  static final int MIN_LEVEL = -7;
  static final int MAX_LEVEL = 22;

  /**
   * Chunks shorter than this are compressed at their level without probing: the probe would cost
   * too much of it. From here to {@link #FULL_PROBE_LENGTH} one sample decides: most chunks of the
   * default chunking (16-256 KiB, 64 KiB on average) are that short, and on a random 64 KiB chunk
   * level 3 costs about 33 us against level -7's 13 us and the sample's 5 us.
   */
  static final int PROBE_MIN_LENGTH = 16 << 10;
  /** Chunks of at least this many bytes are probed with {@link #PROBE_SAMPLES} samples. */
  static final int FULL_PROBE_LENGTH = 128 << 10;
  static final int PROBE_SAMPLES = 8;
  static final int PROBE_SAMPLE_BYTES = 4 << 10;
  /** The probe's samples must compress by at least this much for the chunk to get its configured level. */
  static final int PROBE_MIN_SAVING_PERCENT = 3;
  private static final int PROBE_LEVEL = 1;

  /** Largest output decode will allocate, whatever a damaged frame header claims. */
  static final long MAX_CONTENT_SIZE = 1L << 30;

  private static final int MAGIC = 0xFD2FB528;
  /** Bits of the frame header descriptor that a frame written here always has clear: unused and reserved. */
  private static final int FHD_MUST_BE_CLEAR = 0x18;
  private static final int FHD_CHECKSUM_FLAG = 0x04;
  private static final int FHD_DICTIONARY_ID = 0x03;
  private static final int FHD_SINGLE_SEGMENT = 0x20;
  private static final int MAX_BLOCK_SIZE = 128 << 10;
  /** Smallest frame: magic, header descriptor, one block header. */
  private static final int MIN_FRAME = 4 + 1 + 3;

  /**
   * zstd-jni contexts hold native memory (about a megabyte at level 3) that only {@code close()}
   * frees; a thread's contexts are closed once the thread is gone and its slot unreachable.
   */
  private static final Cleaner CLEANER = Cleaner.create();

  private static final ThreadLocal<CompressSlot> COMPRESS = ThreadLocal.withInitial(CompressSlot::new);
  private static final ThreadLocal<DecompressSlot> DECOMPRESS = ThreadLocal.withInitial(DecompressSlot::new);

  private final int level;
  private final StageSpec spec;

  ZstdStage(int level, int version) {
    this.level = level;
    this.spec = new StageSpec(ZstdStageFactory.NAME, version, Map.of("level", Integer.toString(level)));
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
    CompressSlot slot = COMPRESS.get();
    ZstdCompressCtx ctx = slot.at(level > MIN_LEVEL && incompressible(slot, input, offset, length) ? MIN_LEVEL : level);
    byte[] scratch = ScratchBuffers.atLeast(Math.toIntExact(Zstd.compressBound(length)));
    int written = ctx.compressByteArray(scratch, 0, scratch.length, input, offset, length);
    return Arrays.copyOf(scratch, written);
  }

  /**
   * Whether the samples compress by less than {@link #PROBE_MIN_SAVING_PERCENT} percent at {@link
   * #PROBE_LEVEL}: one from the middle of a chunk shorter than {@link #FULL_PROBE_LENGTH}, else
   * {@link #PROBE_SAMPLES} spread evenly over it (the first at its start, the last at its end).
   */
  static boolean incompressible(CompressSlot slot, byte[] input, int offset, int length) {
    if (length < PROBE_MIN_LENGTH) {
      return false;
    }
    int samples = length < FULL_PROBE_LENGTH ? 1 : PROBE_SAMPLES;
    long first = samples == 1 ? (length - PROBE_SAMPLE_BYTES) / 2 : 0;
    long stride = samples == 1 ? 0 : (long) (length - PROBE_SAMPLE_BYTES) / (samples - 1);
    long compressed = 0;
    for (int i = 0; i < samples; i++) {
      int from = offset + (int) (first + i * stride);
      compressed += slot.probe.compressByteArray(slot.probeOut, 0, slot.probeOut.length, input, from, PROBE_SAMPLE_BYTES);
    }
    long sampled = (long) samples * PROBE_SAMPLE_BYTES;
    return compressed * 100 > sampled * (100 - PROBE_MIN_SAVING_PERCENT);
  }

  @Override
  public byte[] decode(byte[] encoded) {
    int contentSize = decodedLength(ByteBuffer.wrap(encoded));
    byte[] output = new byte[contentSize];
    int produced;
    try {
      produced = DECOMPRESS.get().ctx.decompressByteArray(output, 0, output.length, encoded, 0, encoded.length);
    } catch (RuntimeException e) {
      // zstd-jni reports every decoding failure (checksum, malformed block, size) as ZstdException
      throw new CorruptDataException("Cannot decode zstd frame of " + encoded.length + " bytes: " + e.getMessage(), e);
    }
    checkProduced(encoded.length, produced, contentSize);
    return output;
  }

  @Override
  public int decodedLength(ByteBuffer encoded) {
    checkHeader(encoded);
    int at = encoded.position();
    int length = encoded.remaining();
    long contentSize = encoded.hasArray()
        ? Zstd.getFrameContentSize(encoded.array(), encoded.arrayOffset() + at, length)
        : encoded.isDirect() ? Zstd.getDirectByteBufferFrameContentSize(encoded, at, length) : contentSizeOfCopy(encoded);
    if (contentSize < 0) {
      throw corrupt(length, "its frame header is damaged (content size " + contentSize + ")");
    }
    checkWindow(encoded, contentSize);
    // A block holds at most 128 KiB and costs at least 3 bytes, so a frame of n bytes cannot
    // hold more than n / 3 blocks: a damaged size field beyond that is caught before allocating.
    long bound = Math.min(MAX_CONTENT_SIZE, ((long) length / 3 + 1) * MAX_BLOCK_SIZE);
    if (contentSize > bound) {
      throw corrupt(length, "its header claims " + contentSize + " bytes, more than the " + bound + " it can hold");
    }
    return (int) contentSize;
  }

  /** A read-only heap buffer hides its array: the header is read from a copy of it. */
  private static long contentSizeOfCopy(ByteBuffer encoded) {
    byte[] header = new byte[Math.min(encoded.remaining(), 18)]; // the longest frame header
    encoded.get(encoded.position(), header);
    return Zstd.getFrameContentSize(header, 0, header.length);
  }

  @Override
  public int decode(ByteBuffer encoded, ByteBuffer out) {
    if (!out.isDirect()) {
      throw new IllegalArgumentException("Invalid output buffer: it must be direct, it is a heap buffer");
    }
    int contentSize = decodedLength(encoded);
    if (out.remaining() < contentSize) {
      throw new IllegalArgumentException(
          "Invalid output buffer: " + out.remaining() + " bytes remain, the frame holds " + contentSize);
    }
    int at = encoded.position();
    int length = encoded.remaining();
    ZstdDecompressCtx ctx = DECOMPRESS.get().ctx;
    int produced;
    try {
      if (encoded.isDirect()) {
        produced = ctx.decompressDirectByteBuffer(out, out.position(), contentSize, encoded, at, length);
      } else if (encoded.hasArray()) {
        produced = ctx.decompressByteArrayToDirectByteBuffer(out, out.position(), contentSize,
            encoded.array(), encoded.arrayOffset() + at, length);
      } else {
        byte[] copy = new byte[length];
        encoded.get(at, copy);
        produced = ctx.decompressByteArrayToDirectByteBuffer(out, out.position(), contentSize, copy, 0, length);
      }
    } catch (RuntimeException e) {
      throw new CorruptDataException("Cannot decode zstd frame of " + length + " bytes: " + e.getMessage(), e);
    }
    checkProduced(length, produced, contentSize);
    out.position(out.position() + produced);
    return produced;
  }

  private static void checkProduced(int length, int produced, long contentSize) {
    if (produced != contentSize) {
      throw corrupt(length, "it decoded to " + produced + " bytes, its header says " + contentSize);
    }
  }

  /**
   * Checks what the zstd decoder would accept but a frame written here never has, so that a
   * flipped bit there is reported rather than ignored.
   */
  private static void checkHeader(ByteBuffer encoded) {
    int length = encoded.remaining();
    if (length < MIN_FRAME) {
      throw corrupt(length, "it is shorter than the smallest frame (" + MIN_FRAME + " bytes)");
    }
    int at = encoded.position();
    int magic = (encoded.get(at) & 0xff) | (encoded.get(at + 1) & 0xff) << 8 | (encoded.get(at + 2) & 0xff) << 16
        | (encoded.get(at + 3) & 0xff) << 24;
    if (magic != MAGIC) {
      throw corrupt(length, "it does not start with the zstd frame magic number");
    }
    int descriptor = encoded.get(at + 4) & 0xff;
    if ((descriptor & FHD_MUST_BE_CLEAR) != 0 || (descriptor & FHD_CHECKSUM_FLAG) == 0 || (descriptor & FHD_DICTIONARY_ID) != 0) {
      throw corrupt(length, "its frame header descriptor 0x" + Integer.toHexString(descriptor) + " is not one written here");
    }
  }

  /**
   * The window size is the one header field the decoder can tolerate a flip in (a larger window
   * than needed decodes the same bytes). The reference encoder writes a window only when the
   * content is larger than it (otherwise the frame is "single segment") and always as a power of
   * two; a window breaking either rule is damage. A flip that keeps both rules still decodes to
   * the exact input or fails: the content checksum guarantees no wrong bytes come back.
   */
  private static void checkWindow(ByteBuffer encoded, long contentSize) {
    int at = encoded.position();
    int descriptor = encoded.get(at + 4) & 0xff;
    if ((descriptor & FHD_SINGLE_SEGMENT) != 0) {
      return;
    }
    int window = encoded.get(at + 5) & 0xff;
    int windowLog = 10 + (window >>> 3);
    if ((window & 0x07) != 0 || (1L << windowLog) >= contentSize) {
      throw corrupt(encoded.remaining(), "its window descriptor 0x" + Integer.toHexString(window) + " is not one written for "
          + contentSize + " bytes of content");
    }
  }

  private static CorruptDataException corrupt(int length, String why) {
    return new CorruptDataException("Cannot decode zstd frame of " + length + " bytes: " + why);
  }

  /**
   * A thread's compression context and the level it is set to (setting it is a native call), and
   * the probe's context (bare frames: no checksum or size, which would only add to every sample).
   */
  static final class CompressSlot {
    final ZstdCompressCtx ctx = new ZstdCompressCtx().setChecksum(true).setContentSize(true);
    final ZstdCompressCtx probe = new ZstdCompressCtx().setChecksum(false).setContentSize(false).setLevel(PROBE_LEVEL);
    final byte[] probeOut = new byte[Math.toIntExact(Zstd.compressBound(PROBE_SAMPLE_BYTES))];
    int level = Integer.MIN_VALUE;

    CompressSlot() {
      ZstdCompressCtx c = ctx;
      ZstdCompressCtx p = probe;
      CLEANER.register(this, () -> {
        c.close();
        p.close();
      });
    }

    ZstdCompressCtx at(int wanted) {
      if (level != wanted) {
        ctx.setLevel(wanted);
        level = wanted;
      }
      return ctx;
    }
  }

  /** A thread's decompression context. */
  private static final class DecompressSlot {
    final ZstdDecompressCtx ctx = new ZstdDecompressCtx();

    DecompressSlot() {
      CLEANER.register(this, ctx::close);
    }
  }

  @Override
  public String toString() {
    return spec.toString();
  }
}
