package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.dharmana.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Files outlive the encoder that wrote them: streams written by an earlier encoder must still
 * decode bit for bit. The resources hold streams of format version 1 (exponent planes conditioned
 * on the previous exponent, delta planes, constant and raw planes), made by {@link #main} from
 * the inputs {@link #input} regenerates. A change to the encoder may change what it writes; it
 * must not change how these decode.
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
    for (int i = 0; i < ELEMENTS; i++) {
      if (i % 256 == 0) {
        scale = Math.pow(10, -4 + 4 * r.nextDouble());
      }
      float v = r.nextInt(200) == 0 ? specials[r.nextInt(specials.length)] : (float) (r.nextGaussian() * scale);
      f32.putInt(i * 4, Float.floatToRawIntBits(v));
    }
    byte[] bytes = f32.array();
    return switch (kind) {
      case "f32" -> bytes;
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
      case "bf16" -> {
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
  @ValueSource(strings = {"f32", "bf16", "f32-child"})
  void streamsOfFormatVersion1StillDecode(String kind) throws IOException {
    byte[] encoded = resource("golden-v1-" + kind + ".bin");
    byte[] expected = input(kind);
    DType dtype = kind.equals("bf16") ? DType.BF16 : DType.F32;
    ByteBuffer parent = kind.equals("f32-child") ? ByteBuffer.wrap(input("f32-parent")) : null;
    for (FloatCodec decoder : new FloatCodec[] {CODEC, FloatCodec.create(new FloatCodecOptions(16 * 1024, 2))}) {
      ByteBuffer out = ByteBuffer.allocate(expected.length);
      decoder.decode(encoded, dtype, parent == null ? null : parent.duplicate(), out);
      assertArrayEquals(expected, out.array(), "seed " + SEED + " " + kind + ": golden stream decoded differently");
    }
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = FloatCodecGoldenStreamTest.class.getResourceAsStream(name)) {
      assertNotNull(in, "missing test resource " + name);
      return in.readAllBytes();
    }
  }

  /** How the resources were made: {@code main DIR} writes them into DIR. */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.write(dir.resolve("golden-v1-f32.bin"), CODEC.encode(DType.F32, ByteBuffer.wrap(input("f32")), null));
    Files.write(dir.resolve("golden-v1-bf16.bin"), CODEC.encode(DType.BF16, ByteBuffer.wrap(input("bf16")), null));
    Files.write(dir.resolve("golden-v1-f32-child.bin"),
        CODEC.encode(DType.F32, ByteBuffer.wrap(input("f32-child")), ByteBuffer.wrap(input("f32-parent"))));
  }
}
