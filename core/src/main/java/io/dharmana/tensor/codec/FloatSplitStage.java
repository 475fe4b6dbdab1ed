package io.dharmana.tensor.codec;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageSpec;
import java.nio.ByteBuffer;

/** {@link FloatCodec} as a pipeline stage; see {@link FloatSplitStageFactory}. */
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

  private final Kind kind;
  private final StageSpec spec;
  private final FloatCodec codec = FloatCodec.create(FloatCodecOptions.DEFAULT);

  FloatSplitStage(Kind kind, StageSpec spec) {
    this.kind = kind;
    this.spec = spec;
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
    // The layout is written in the header, so any candidate decodes; keep the smallest.
    byte[] best = codec.encode(Layout.BYTES, 1, data, null);
    for (Kind k : AUTO_CANDIDATES) {
      byte[] e = codec.encode(k.layout, k.size, data, null);
      if (e.length < best.length) {
        best = e;
      }
    }
    return best;
  }

  @Override
  public byte[] decode(byte[] encoded) {
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
