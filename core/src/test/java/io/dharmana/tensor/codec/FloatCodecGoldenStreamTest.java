package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.dharmana.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Files outlive the encoder that wrote them: streams written by an earlier encoder must still
 * decode bit for bit. The resources hold streams of format version 1 (exponent planes conditioned
 * on the previous exponent, delta planes, constant and raw planes) and of format 2 (Huffman-coded
 * planes besides), made by {@link #main} from the inputs {@link #input} regenerates. A change to
 * the encoder may change what it writes; it must not change how these decode.
 */
class FloatCodecGoldenStreamTest {
  private static final long SEED = 0x1E6AC7L;
  private static final int ELEMENTS = 12288;

  /** The inputs: fp32 weights in rows of their own scale, with special values sprinkled in. */
  static byte[] input(String kind) {
    Random r = new Random(SEED);
    ByteBuffer f32 = ByteBuffer.allocate(ELEMENTS * 4).order(ByteOrder.LITTLE_ENDIAN);
    float[] specials = {Float.NaN, Float.intBitsToFloat(0x7FC01234), -0.0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        Float.MIN_VALUE, -Float.intBitsToFloat(0x000F0F0F), Float.MAX_VALUE};
    double scale = 1;
    boolean flat = kind.endsWith("-flat");
    for (int i = 0; i < ELEMENTS; i++) {
      if (i % 256 == 0 && !flat) {
        scale = Math.pow(10, -4 + 4 * r.nextDouble());
      }
      float v = r.nextInt(200) == 0 ? specials[r.nextInt(specials.length)] : (float) (r.nextGaussian() * scale);
      f32.putInt(i * 4, Float.floatToRawIntBits(v));
    }
    byte[] bytes = f32.array();
    return switch (kind) {
      case "f32", "f32-flat" -> bytes;
      case "f32-parent" -> bytes;
      case "f32-child" -> {
        byte[] child = bytes.clone();
        for (int j = 0; j < child.length; j += 4) {
          int pick = r.nextInt(4);
          if (pick == 0) {
            child[j] ^= (byte) r.nextInt(16); // small changes in the low mantissa, as a later step makes
          } else if (pick == 1) {
            child[j + 3] ^= (byte) (r.nextInt(3) << 6); // sign or top exponent bit flipped: the top byte varies
          }
        }
        yield child;
      }
      case "bf16", "bf16-flat" -> {
        byte[] half = new byte[ELEMENTS * 2];
        for (int i = 0; i < ELEMENTS; i++) {
          half[2 * i] = bytes[4 * i + 2];
          half[2 * i + 1] = bytes[4 * i + 3];
        }
        yield half;
      }
      default -> throw new IllegalArgumentException(kind);
    };
  }

  /** Small chunks and every plane coded, so the streams hold many planes of every kind. */
  private static final FloatCodec CODEC = FloatCodec.create(new FloatCodecOptions(16 * 1024, 1, 0));

  @ParameterizedTest
  @ValueSource(strings = {"v1-f32", "v1-bf16", "v1-f32-child", "v2-f32", "v2-f32-flat", "v2-bf16-flat", "v2-f32-child"})
  void streamsOfEveryFormatStillDecode(String stream) throws IOException {
    byte[] encoded = resource("golden-" + stream + ".bin");
    String kind = stream.substring(3);
    byte[] expected = input(kind);
    DType dtype = kind.startsWith("bf16") ? DType.BF16 : DType.F32;
    ByteBuffer parent = kind.equals("f32-child") ? ByteBuffer.wrap(input("f32-parent")) : null;
    for (FloatCodec decoder : new FloatCodec[] {CODEC, FloatCodec.create(new FloatCodecOptions(16 * 1024, 2))}) {
      ByteBuffer out = ByteBuffer.allocate(expected.length);
      decoder.decode(encoded, dtype, parent == null ? null : parent.duplicate(), out);
      assertArrayEquals(expected, out.array(), "seed " + SEED + " " + kind + ": golden stream decoded differently");
    }
  }

  /** Format 1 is still written, for the stage versions that always wrote it: byte for byte as then. */
  @ParameterizedTest
  @ValueSource(strings = {"f32", "bf16", "f32-child"})
  void format1IsWrittenAsItAlwaysWas(String kind) throws IOException {
    FloatCodec format1 = FloatCodec.create(new FloatCodecOptions(16 * 1024, 1, 0), 1);
    DType dtype = kind.equals("bf16") ? DType.BF16 : DType.F32;
    ByteBuffer parent = kind.equals("f32-child") ? ByteBuffer.wrap(input("f32-parent")) : null;
    assertArrayEquals(resource("golden-v1-" + kind + ".bin"), format1.encode(dtype, ByteBuffer.wrap(input(kind)), parent),
        "seed " + SEED + " " + kind);
  }

  /** The format 2 streams hold what format 1 has not: the same inputs coded in format 1 differ beyond the version byte. */
  @ParameterizedTest
  @ValueSource(strings = {"f32", "f32-flat", "bf16-flat"})
  void format2StreamsHoldHuffmanPlanes(String kind) throws IOException {
    byte[] v2 = resource("golden-v2-" + kind + ".bin");
    byte[] v1 = FloatCodec.create(CODEC.options(), 1)
        .encode(kind.startsWith("bf16") ? DType.BF16 : DType.F32, ByteBuffer.wrap(input(kind)), null);
    assertFalse(Arrays.equals(v1, 1, v1.length, v2, 1, v2.length), "seed " + SEED + " " + kind);
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = FloatCodecGoldenStreamTest.class.getResourceAsStream(name)) {
      assertNotNull(in, "missing test resource " + name);
      return in.readAllBytes();
    }
  }

  /**
   * How the resources were made: {@code main DIR VERSION} writes those of format VERSION into DIR
   * (the version 1 ones by a build that wrote only format 1, with {@link #CODEC}).
   */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    int format = Integer.parseInt(args[1]);
    FloatCodec codec = FloatCodec.create(CODEC.options(), format);
    String prefix = "golden-v" + format + "-";
    // Rows of scales of their own: exponents rANS-coded conditioned on an earlier exponent (in
    // format 2 the one four back). Format 2's weights of one scale: exponents Huffman-coded.
    Files.write(dir.resolve(prefix + "f32.bin"), codec.encode(DType.F32, ByteBuffer.wrap(input("f32")), null));
    if (format == 1) {
      Files.write(dir.resolve(prefix + "bf16.bin"), codec.encode(DType.BF16, ByteBuffer.wrap(input("bf16")), null));
    } else {
      Files.write(dir.resolve(prefix + "f32-flat.bin"), codec.encode(DType.F32, ByteBuffer.wrap(input("f32-flat")), null));
      Files.write(dir.resolve(prefix + "bf16-flat.bin"), codec.encode(DType.BF16, ByteBuffer.wrap(input("bf16-flat")), null));
    }
    Files.write(dir.resolve(prefix + "f32-child.bin"),
        codec.encode(DType.F32, ByteBuffer.wrap(input("f32-child")), ByteBuffer.wrap(input("f32-parent"))));
  }
}
