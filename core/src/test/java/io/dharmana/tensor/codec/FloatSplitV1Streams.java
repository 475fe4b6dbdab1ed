package io.dharmana.tensor.codec;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * The inputs of the {@code float-split} version 1 streams kept as test resources, and how they
 * were made: {@code main DIR} run on the classpath of a build whose stage wrote version 1 (main at
 * c09a08f) writes {@code float-split-v1-KIND.bin} into DIR. Public API only, so that it compiles
 * against that build as well.
 */
final class FloatSplitV1Streams {
  static final String[] KINDS = {"f32", "bf16", "text", "random", "empty", "odd"};
  private static final long SEED = 0xF5001L;

  private FloatSplitV1Streams() {}

  static byte[] input(String kind) {
    Random r = new Random(SEED);
    return switch (kind) {
      case "f32" -> {
        ByteBuffer b = ByteBuffer.allocate(16 << 10).order(ByteOrder.LITTLE_ENDIAN);
        float[] specials = {Float.NaN, Float.intBitsToFloat(0x7FC01234), -0.0f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MIN_VALUE};
        while (b.hasRemaining()) {
          b.putFloat(r.nextInt(100) == 0 ? specials[r.nextInt(specials.length)] : (float) (r.nextGaussian() * 0.02));
        }
        yield b.array();
      }
      case "bf16" -> {
        ByteBuffer b = ByteBuffer.allocate(8 << 10).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
          b.putShort((short) (Float.floatToRawIntBits((float) (r.nextGaussian() * 0.05)) >>> 16));
        }
        yield b.array();
      }
      case "text" -> {
        StringBuilder s = new StringBuilder();
        while (s.length() < 8 << 10) {
          s.append("{\"step\": ").append(r.nextInt(100000)).append(", \"loss\": ").append(r.nextFloat())
              .append(", \"note\": \"checkpoint saved\"}\n");
        }
        yield s.substring(0, 8 << 10).getBytes(StandardCharsets.US_ASCII);
      }
      case "random" -> {
        byte[] b = new byte[2048];
        r.nextBytes(b);
        yield b;
      }
      case "empty" -> new byte[0];
      case "odd" -> {
        byte[] b = new byte[4099];
        r.nextBytes(b);
        for (int i = 0; i < b.length; i += 3) {
          b[i] = 0;
        }
        yield b;
      }
      default -> throw new IllegalArgumentException(kind);
    };
  }

  static Stage stage(int version) {
    return Stages.create(new StageSpec("float-split", version, Map.of()), StageContext.system());
  }

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Stage v1 = stage(1);
    for (String kind : KINDS) {
      Files.write(dir.resolve("float-split-v1-" + kind + ".bin"), v1.encode(input(kind)));
    }
  }
}
