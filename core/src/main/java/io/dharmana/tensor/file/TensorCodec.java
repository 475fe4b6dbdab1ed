package io.dharmana.tensor.file;

import com.github.luben.zstd.Zstd;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.codec.FloatCodec;
import io.dharmana.tensor.codec.FloatCodecOptions;
import io.dharmana.tensor.lossy.BlockQuantizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * How one tensor's bytes are stored in a {@code .dhz} file. The numeric id is written in the
 * per-tensor index and must never change meaning; new codecs get new ids.
 */
public enum TensorCodec {
  /** The bytes as they are (chosen when nothing else is smaller). */
  RAW(0, "raw", false),
  /** Lossless float-aware coding ({@link FloatCodec}), optionally against the parent tensor. */
  FLOAT(1, "float-codec", false),
  /** Lossy: fp32 to int8 with one absmax scale per block, optionally of the difference to the parent. */
  INT8(2, "quantize-int8", true),
  /** Lossy: fp32 to fp8 E4M3 with one absmax scale per block, optionally of the difference to the parent. */
  FP8(3, "quantize-fp8", true),
  /** Lossless zstd level 3, of the XOR with the parent when there is one. */
  ZSTD(4, "zstd", false);

  private final int id;
  private final String label;
  private final boolean lossy;

  TensorCodec(int id, String label, boolean lossy) {
    this.id = id;
    this.label = label;
    this.lossy = lossy;
  }

  public int id() {
    return id;
  }

  /** A readable name, used in reports and in the file's codec chain description. */
  public String label() {
    return label;
  }

  public boolean lossy() {
    return lossy;
  }

  public static TensorCodec ofId(int id) {
    for (TensorCodec c : values()) {
      if (c.id == id) {
        return c;
      }
    }
    throw new CorruptDataException("Cannot decode tensor: unknown codec id " + id + " (known: 0 raw, 1 float-codec, 2 int8, 3 fp8, 4 zstd)");
  }

  static TensorCodec lossyFor(BlockQuantizer.Format format) {
    return format == BlockQuantizer.Format.INT8 ? INT8 : FP8;
  }

  private static final FloatCodec FLOAT_CODEC = FloatCodec.create(FloatCodecOptions.DEFAULT);
  /** Codes the chunks of one tensor in parallel; for tensors too large to balance by tensor alone. */
  private static final FloatCodec WIDE_FLOAT_CODEC =
      FloatCodec.create(FloatCodecOptions.DEFAULT.withThreads(Math.max(1, Math.min(256, Runtime.getRuntime().availableProcessors()))));
  private static final int ZSTD_LEVEL = 3;
  // A zstd context holds ~1 MB of tables; creating one per tensor costs more than coding a small tensor.
  private static final ThreadLocal<com.github.luben.zstd.ZstdCompressCtx> ZSTD_COMPRESS =
      ThreadLocal.withInitial(() -> new com.github.luben.zstd.ZstdCompressCtx().setLevel(ZSTD_LEVEL));
  private static final ThreadLocal<com.github.luben.zstd.ZstdDecompressCtx> ZSTD_DECOMPRESS =
      ThreadLocal.withInitial(com.github.luben.zstd.ZstdDecompressCtx::new);

  /**
   * Encodes {@code data} (remaining bytes, position untouched) of a tensor of {@code dtype}.
   *
   * @param parent the same tensor in the parent file, or null
   * @param block block size for the lossy codecs
   */
  byte[] encode(DType dtype, ByteBuffer data, ByteBuffer parent, int block) {
    return encode(dtype, data, parent, block, false);
  }

  /**
   * As {@link #encode(DType, ByteBuffer, ByteBuffer, int, boolean)}; the float codec writes into
   * {@code buffer} when it is large enough ({@link #maxEncodedBytes}), the others into new arrays.
   *
   * @return the encoding, from position 0 to the limit
   */
  ByteBuffer encode(DType dtype, ByteBuffer data, ByteBuffer parent, int block, boolean wide, byte[] buffer) {
    if (this == FLOAT) {
      return (wide ? WIDE_FLOAT_CODEC : FLOAT_CODEC).encode(dtype, data.duplicate(), parent == null ? null : parent.duplicate(), buffer);
    }
    return ByteBuffer.wrap(encode(dtype, data, parent, block, wide));
  }

  /** The buffer size with which {@link #encode(DType, ByteBuffer, ByteBuffer, int, boolean, byte[])} needs no other array; 0 if it uses none. */
  long maxEncodedBytes(long size) {
    return this == FLOAT ? FLOAT_CODEC.maxEncodedLength(size) : 0;
  }

  /** As {@link #encode(DType, ByteBuffer, ByteBuffer, int)}; {@code wide}: split the tensor into chunks coded in parallel. */
  byte[] encode(DType dtype, ByteBuffer data, ByteBuffer parent, int block, boolean wide) {
    switch (this) {
      case RAW -> {
        byte[] out = new byte[data.remaining()];
        data.duplicate().get(out);
        return out;
      }
      case FLOAT -> {
        return (wide ? WIDE_FLOAT_CODEC : FLOAT_CODEC).encode(dtype, data.duplicate(), parent == null ? null : parent.duplicate());
      }
      case ZSTD -> {
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        if (parent != null) {
          xor(bytes, parent);
        }
        return ZSTD_COMPRESS.get().compress(bytes);
      }
      case INT8, FP8 -> {
        requireF32(dtype);
        BlockQuantizer q = BlockQuantizer.of(this == INT8 ? BlockQuantizer.Format.INT8 : BlockQuantizer.Format.FP8_E4M3, block);
        byte[] quantized = q.encodeDelta(floats(data), parent == null ? null : floats(parent));
        // The one-byte codes of smooth weights are far from uniform; entropy-coding them is cheap.
        // Layout: int32 LE length of the quantized bytes, then their float-codec (I8) coding.
        byte[] coded = FLOAT_CODEC.encode(DType.I8, ByteBuffer.wrap(quantized), null);
        ByteBuffer out = ByteBuffer.allocate(4 + coded.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(quantized.length).put(coded);
        return out.array();
      }
      default -> throw new IllegalStateException(name());
    }
  }

  /**
   * Decodes into exactly {@code out.remaining()} bytes, advancing {@code out}.
   *
   * @throws CorruptDataException when the encoding is damaged or does not fit {@code out}
   */
  void decode(byte[] encoded, DType dtype, ByteBuffer parent, ByteBuffer out) {
    decode(encoded, dtype, parent, out, false);
  }

  /** As {@link #decode(byte[], DType, ByteBuffer, ByteBuffer)}; {@code wide}: decode chunks in parallel. */
  void decode(byte[] encoded, DType dtype, ByteBuffer parent, ByteBuffer out, boolean wide) {
    decode(encoded, 0, encoded.length, dtype, parent, out, wide);
  }

  /** As {@link #decode(byte[], DType, ByteBuffer, ByteBuffer, boolean)}, the encoding being {@code encoded[offset..offset+length)}. */
  void decode(byte[] encoded, int offset, int length, DType dtype, ByteBuffer parent, ByteBuffer out, boolean wide) {
    if (this == FLOAT) {
      // The common case reads its range in place; the others are rare enough to copy it.
      (wide ? WIDE_FLOAT_CODEC : FLOAT_CODEC).decode(encoded, offset, length, dtype, parent == null ? null : parent.duplicate(), out);
    } else if (this == RAW) {
      if (length != out.remaining()) {
        throw new CorruptDataException("Cannot decode raw tensor: " + length + " bytes stored, " + out.remaining() + " expected");
      }
      out.put(encoded, offset, length);
    } else {
      decodeWhole(offset == 0 && length == encoded.length ? encoded : Arrays.copyOfRange(encoded, offset, offset + length),
          dtype, parent, out);
    }
  }

  private void decodeWhole(byte[] encoded, DType dtype, ByteBuffer parent, ByteBuffer out) {
    int size = out.remaining();
    switch (this) {
      case ZSTD -> {
        long declared = Zstd.getFrameContentSize(encoded);
        if (declared != size) {
          throw new CorruptDataException("Cannot decode zstd tensor: frame holds " + declared + " bytes, " + size + " expected");
        }
        byte[] bytes;
        try {
          bytes = ZSTD_DECOMPRESS.get().decompress(encoded, size);
        } catch (RuntimeException e) {
          throw new CorruptDataException("Cannot decode zstd tensor: " + e.getMessage(), e);
        }
        if (bytes.length != size) {
          throw new CorruptDataException("Cannot decode zstd tensor: " + bytes.length + " bytes decoded, " + size + " expected");
        }
        if (parent != null) {
          xor(bytes, parent);
        }
        out.put(bytes);
      }
      case INT8, FP8 -> {
        if (dtype != DType.F32) {
          throw new CorruptDataException("Cannot decode quantized tensor of dtype " + dtype + ": only F32 is quantized");
        }
        BlockQuantizer q = BlockQuantizer.of(this == INT8 ? BlockQuantizer.Format.INT8 : BlockQuantizer.Format.FP8_E4M3, 1);
        // The quantized layout is 8 header bytes, a scale per block (block >= 1) and a byte per value.
        int count = size / 4;
        long minimum = 8L + count;
        long maximum = 8L + 5L * count;
        if (encoded.length < 4) {
          throw new CorruptDataException("Cannot decode quantized tensor: " + encoded.length + " bytes is too short");
        }
        int quantizedSize = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (quantizedSize < minimum || quantizedSize > maximum) {
          throw new CorruptDataException("Cannot decode quantized tensor: " + quantizedSize + " quantized bytes cannot hold "
              + count + " values");
        }
        ByteBuffer q8 = ByteBuffer.allocate(quantizedSize);
        FLOAT_CODEC.decode(Arrays.copyOfRange(encoded, 4, encoded.length), DType.I8, null, q8);
        byte[] quantized = q8.array();
        ByteBuffer target = out.slice().order(ByteOrder.LITTLE_ENDIAN);
        q.decodeDelta(quantized, parent == null ? null : floats(parent), target.asFloatBuffer());
        out.position(out.position() + size);
      }
      default -> throw new IllegalStateException(name());
    }
  }

  private static void requireF32(DType dtype) {
    if (dtype != DType.F32) {
      throw new InvalidDescriptorException("Invalid dtype " + dtype + " for quantization: only F32 tensors are quantized");
    }
  }

  private static java.nio.FloatBuffer floats(ByteBuffer data) {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  private static void xor(byte[] bytes, ByteBuffer parent) {
    ByteBuffer p = parent.duplicate();
    if (p.remaining() != bytes.length) {
      throw new CorruptDataException("Cannot apply parent of " + p.remaining() + " bytes to a tensor of " + bytes.length);
    }
    int base = p.position();
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] ^= p.get(base + i);
    }
  }
}
