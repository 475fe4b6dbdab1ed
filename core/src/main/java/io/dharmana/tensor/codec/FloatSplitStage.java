package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * {@link FloatCodec} as a pipeline stage; see {@link FloatSplitStageFactory} for what each version
 * writes.
 */
final class FloatSplitStage implements Stage {
  enum Kind {
    F32(Layout.F32, 4),
    BF16(Layout.BF16, 2),
    F16(Layout.F16, 2),
    F64(Layout.BYTES, 8),
    AUTO(null, 0);

    final Layout layout;
    final int size;

    Kind(Layout layout, int size) {
      this.layout = layout;
      this.size = size;
    }
  }

  private static final Kind[] AUTO_CANDIDATES = {Kind.F32, Kind.BF16, Kind.F16};

  /**
   * Version 2's first byte: what follows. A float coding is the whole {@link FloatCodec} stream,
   * whose own first byte (its format version, 1) doubles as this one, so a version 2 float coding
   * is byte for byte what version 1 wrote, and deduplicates with it. A later FloatCodec format
   * version must get a form byte of its own here.
   */
  static final int FORM_FLOAT = 1;
  /** Version 3's float coding: a {@link FloatCodec} stream of format 2 (Huffman-coded planes). */
  static final int FORM_FLOAT_2 = 2;
  /** A zstd frame (as the {@code zstd} stage version 1 at level 3 writes it) follows. */
  static final int FORM_ZSTD = 0x5A;
  /** The bytes follow as they are. */
  static final int FORM_STORED = 0x53;

  /**
   * From this ratio of the best float layout's estimate to plain bytes' on, a block is taken for
   * anything but floats. On the corpus' fp32 weights and Adam moments it is 0.89-0.93, on their
   * bf16 and fp16 casts 0.85-0.93, on blocks of floats and text 0.93-0.96; on text, JSON and random
   * bytes 0.999-1.0.
   */
  static final double NOT_FLOAT_RATIO = 0.98;
  /**
   * A block whose fp32 estimate is below both other float layouts' by this fraction is coded as
   * fp32 without trials. On the corpus' fp32 weights and Adam moments the bf16 estimate is 5.2-6.8%
   * and the fp16 one 8.5-10% above the fp32 one, and their codings are 5-20% larger; on bf16 and
   * fp16 data the three estimates lie within 0.5%, and the trials choose.
   */
  static final double F32_MARGIN = 0.04;
  /** Codings whose trial on the sample comes within this fraction of the best's are made too. */
  static final double TRIAL_TIE = 0.005;

  /** The zstd frames of {@link #FORM_ZSTD}: pinned, so that they decode whatever the zstd stage's current version. */
  private static final StageSpec ZSTD = new StageSpec("zstd", 1, Map.of("level", "3"));

  private final Kind kind;
  private final StageSpec spec;
  private final FloatCodec codec;
  private final Stage zstd = Stages.create(ZSTD, StageContext.system());

  FloatSplitStage(Kind kind, StageSpec spec) {
    this.kind = kind;
    this.spec = spec;
    // Versions 1 and 2 write what they always wrote: the same block stays the same chunk.
    this.codec = FloatCodec.create(FloatCodecOptions.DEFAULT, spec.version() >= 3 ? FloatCodec.FORMAT_VERSION : 1);
  }

  @Override
  public StageSpec spec() {
    return spec;
  }

  @Override
  public byte[] encode(byte[] input, int offset, int length) {
    ByteBuffer data = ByteBuffer.wrap(input, offset, length);
    if (kind != Kind.AUTO) {
      return codec.encode(kind.layout, kind.size, data, null);
    }
    return spec.version() == 1 ? encodeEveryLayout(data) : encodeAuto(input, offset, length);
  }

  /** Version 1's auto: every layout coded, the smallest kept (the layout is in the header). */
  private byte[] encodeEveryLayout(ByteBuffer data) {
    byte[] best = codec.encode(Layout.BYTES, 1, data, null);
    for (Kind k : AUTO_CANDIDATES) {
      byte[] e = codec.encode(k.layout, k.size, data, null);
      if (e.length < best.length) {
        best = e;
      }
    }
    return best;
  }

  /**
   * Version 2's auto. A sample's plane entropies ({@link LayoutEstimate}) tell floats from
   * anything else: what no float layout shrinks clearly more than plain bytes goes to zstd, which
   * finds the repeats the plane coder cannot, or is stored as it is when zstd cannot shrink it.
   * Floats are coded once: as fp32 when the estimate says so by a wide margin ({@link
   * #F32_MARGIN}), else in the layout that codes the sample smallest, the plane coder's contexts
   * making the estimate too coarse to choose among the other layouts (on bf16 weights it puts the
   * fp16 split 6% behind the bf16 one, which the fp16 split beats by 0.6%). Layouts, and zstd, that
   * code the sample about as small as the best are coded too, and the smallest kept.
   */
  private byte[] encodeAuto(byte[] input, int offset, int length) {
    byte[] sample = LayoutEstimate.sample(input, offset, length);
    LayoutEstimate estimate = LayoutEstimate.of(sample);
    double floatBits = Math.min(estimate.f32, Math.min(estimate.bf16, estimate.f16));
    if (!(floatBits < estimate.bytes * NOT_FLOAT_RATIO)) {
      return zstdOrStored(input, offset, length);
    }
    ByteBuffer data = ByteBuffer.wrap(input, offset, length);
    if (estimate.f32 * (1 + F32_MARGIN) <= Math.min(estimate.bf16, estimate.f16)) {
      return codec.encode(Layout.F32, 4, data, null);
    }
    if (sample.length == length) {
      // A short block: the trials would be the codings.
      byte[] best = zstdOrStored(input, offset, length);
      for (Kind k : AUTO_CANDIDATES) {
        byte[] e = codec.encode(k.layout, k.size, data, null);
        if (e.length < best.length) {
          best = e;
        }
      }
      return best;
    }
    ByteBuffer trialData = ByteBuffer.wrap(sample);
    int[] trial = new int[AUTO_CANDIDATES.length];
    int best = 0;
    for (int i = 0; i < AUTO_CANDIDATES.length; i++) {
      trial[i] = codec.encode(AUTO_CANDIDATES[i].layout, AUTO_CANDIDATES[i].size, trialData, null).length;
      if (trial[i] < trial[best]) {
        best = i;
      }
    }
    int zstdTrial = zstd.encode(sample).length;
    byte[] coded = null;
    if (zstdTrial >= trial[best] * (1 - TRIAL_TIE)) {
      for (int i = 0; i < AUTO_CANDIDATES.length; i++) {
        if (trial[i] <= trial[best] * (1 + TRIAL_TIE)) {
          byte[] e = codec.encode(AUTO_CANDIDATES[i].layout, AUTO_CANDIDATES[i].size, data, null);
          if (coded == null || e.length < coded.length) {
            coded = e;
          }
        }
      }
      if (zstdTrial > trial[best] * (1 + TRIAL_TIE)) {
        return coded;
      }
    }
    byte[] other = zstdOrStored(input, offset, length);
    return coded != null && coded.length <= other.length ? coded : other;
  }

  /** A zstd frame after {@link #FORM_ZSTD}, or the bytes after {@link #FORM_STORED} if the frame is not smaller. */
  private byte[] zstdOrStored(byte[] input, int offset, int length) {
    byte[] frame = zstd.encode(input, offset, length);
    boolean stored = frame.length >= length;
    byte[] out = new byte[1 + (stored ? length : frame.length)];
    out[0] = (byte) (stored ? FORM_STORED : FORM_ZSTD);
    if (stored) {
      System.arraycopy(input, offset, out, 1, length);
    } else {
      System.arraycopy(frame, 0, out, 1, frame.length);
    }
    return out;
  }

  @Override
  public byte[] decode(byte[] encoded) {
    if (spec.version() == 1) {
      return decodeFloat(encoded);
    }
    if (encoded.length == 0) {
      throw new CorruptDataException("Cannot decode " + spec + " version " + spec.version() + ": the input is empty, it has no form byte");
    }
    int form = encoded[0] & 0xFF;
    return switch (form) {
      case FORM_FLOAT, FORM_FLOAT_2 -> decodeFloat(encoded);
      case FORM_ZSTD -> zstd.decode(Arrays.copyOfRange(encoded, 1, encoded.length));
      case FORM_STORED -> Arrays.copyOfRange(encoded, 1, encoded.length);
      default -> throw new CorruptDataException("Cannot decode " + spec + " version " + spec.version() + ": form byte 0x"
          + Integer.toHexString(form) + " is none of 0x" + Integer.toHexString(FORM_FLOAT) + " and 0x"
          + Integer.toHexString(FORM_FLOAT_2) + " (float coding), 0x"
          + Integer.toHexString(FORM_ZSTD) + " (zstd), 0x" + Integer.toHexString(FORM_STORED) + " (stored)");
    };
  }

  private byte[] decodeFloat(byte[] encoded) {
    if (encoded.length < 4) {
      throw new CorruptDataException("Cannot decode " + spec + ": " + encoded.length + " bytes is shorter than the header");
    }
    // The header declares the decoded length; read it to size the output.
    ByteSource in = new ByteSource(encoded, 3, encoded.length);
    long length = in.readVarint();
    if (length < 0 || length > Integer.MAX_VALUE - 8) {
      throw new CorruptDataException("Cannot decode " + spec + ": declared length " + length);
    }
    // A damaged length must not make us allocate without bound: even all-constant planes take
    // at least a few bytes per 256 KiB chunk, so bound the output by the input size.
    long bound = (long) encoded.length * 65536L + 64;
    if (length > bound) {
      throw new CorruptDataException("Cannot decode " + spec + ": declared length " + length + " exceeds what " + encoded.length + " bytes can hold");
    }
    ByteBuffer out = ByteBuffer.allocate((int) length);
    codec.decode(encoded, null, 0, null, out);
    return out.array();
  }
}
