package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.TestCorpus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code float-split} with {@code dtype: auto} from version 2 on: floats coded once in the layout
 * the estimate picks, no larger than version 1's four codings kept the smallest; anything else
 * through zstd or stored; what version 1 wrote still decodes. Version 2 itself, whose float
 * coding is format 1 as version 1's; version 3 differs only there ({@code FloatSplitVersion3Test}).
 */
class FloatSplitAutoTest {
  private static final Stage AUTO = FloatSplitV1Streams.stage(2);
  private static final Stage V1 = FloatSplitV1Streams.stage(1);
  private static final Stage ZSTD = Stages.create(StageSpec.of("zstd"), StageContext.system());

  static LongStream seeds() {
    return LongStream.range(0, 6).map(i -> 0xA070L + i * 97);
  }

  // ------------------------------------------------------------------ inputs

  static byte[] weights(Random r, int bytes) {
    ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    double scale = 0.02;
    for (int i = 0; b.remaining() >= 4; i++) {
      if (i % 4096 == 0) {
        scale = Math.pow(10, -3 + 2 * r.nextDouble());
      }
      b.putFloat((float) (r.nextGaussian() * scale));
    }
    return b.array();
  }

  /** The top halves of fp32 weights: bf16 as a cast writes it. */
  static byte[] bf16(byte[] f32) {
    byte[] b = new byte[f32.length / 4 * 2];
    for (int i = 0; i < b.length; i += 2) {
      b[i] = f32[2 * i + 2];
      b[i + 1] = f32[2 * i + 3];
    }
    return b;
  }

  static byte[] f16(byte[] f32) {
    ByteBuffer in = ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(f32.length / 4 * 2).order(ByteOrder.LITTLE_ENDIAN);
    while (out.hasRemaining()) {
      out.putShort((short) Fp16.fromFloat(in.getFloat()));
    }
    return out.array();
  }

  /** Words drawn Zipf-like from a vocabulary, and JSON log lines: what logs and tokenizer files hold. */
  static byte[] text(Random r, int bytes) {
    String[] words = new String[2000];
    for (int i = 0; i < words.length; i++) {
      char[] w = new char[2 + r.nextInt(8)];
      for (int k = 0; k < w.length; k++) {
        w[k] = (char) ('a' + r.nextInt(26));
      }
      words[i] = new String(w);
    }
    StringBuilder s = new StringBuilder(bytes + 200);
    while (s.length() < bytes) {
      if (r.nextInt(4) == 0) {
        s.append("{\"step\": ").append(r.nextInt(1_000_000)).append(", \"loss\": ").append(r.nextFloat())
            .append(", \"lr\": ").append(r.nextFloat() * 1e-3f).append(", \"msg\": \"")
            .append(words[r.nextInt(50)]).append("\"}\n");
      } else {
        s.append(words[(int) (Math.pow(r.nextDouble(), 3) * words.length)]).append(r.nextInt(12) == 0 ? '\n' : ' ');
      }
    }
    return s.substring(0, bytes).getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] random(Random r, int bytes) {
    byte[] b = new byte[bytes];
    r.nextBytes(b);
    return b;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  // ------------------------------------------------------------------ round trips

  @ParameterizedTest
  @MethodSource("seeds")
  void everyKindOfBlockRoundTripsBitForBit(long seed) {
    Random r = new Random(seed);
    int n = 1 + r.nextInt(300_000);
    byte[][] inputs = {
        FloatPatterns.mixed(r, DType.F32, n), FloatPatterns.mixed(r, DType.BF16, n), FloatPatterns.mixed(r, DType.F16, n),
        weights(r, n), bf16(weights(r, 2 * n)), f16(weights(r, 2 * n)), text(r, n), random(r, n),
        concat(weights(r, n / 2), text(r, n / 2)), concat(text(r, n / 2), random(r, n / 2)),
        new byte[0], random(r, 1), random(r, 3), text(r, 7), new byte[n],
    };
    for (int i = 0; i < inputs.length; i++) {
      byte[] data = inputs[i];
      assertArrayEquals(data, AUTO.decode(AUTO.encode(data)), "seed " + seed + " input " + i + " of " + data.length + " bytes");
      byte[] shifted = new byte[data.length + 5];
      System.arraycopy(data, 0, shifted, 5, data.length);
      assertArrayEquals(data, AUTO.decode(AUTO.encode(shifted, 5, data.length)), "seed " + seed + " input " + i + " at an offset");
    }
  }

  @Test
  void specialValuesRoundTripInEveryFloatLayout() {
    // NaN payloads, infinities, subnormals, -0 in runs long enough to be picked as floats
    Random r = new Random(0x5BEC1AL);
    for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
      byte[] data = new byte[1 << 18];
      for (int j = 0; j < data.length; j += dtype.size()) {
        long bits = r.nextInt(3) == 0 ? FloatPatterns.special(r, dtype) : r.nextInt(1 << (8 * dtype.size() - 3));
        for (int k = 0; k < dtype.size(); k++) {
          data[j + k] = (byte) (bits >>> (8 * k));
        }
      }
      assertArrayEquals(data, AUTO.decode(AUTO.encode(data)), "seed 0x5BEC1A " + dtype);
    }
  }

  // ------------------------------------------------------------------ what is chosen

  @ParameterizedTest
  @ValueSource(strings = {"text", "text-and-random"})
  void textGoesThroughZstd(String kind) {
    Random r = new Random(0x7E47L);
    byte[] data = kind.equals("text") ? text(r, 1 << 20) : concat(text(r, 1 << 19), random(r, 1 << 19));
    byte[] auto = AUTO.encode(data);
    byte[] v1 = V1.encode(data);
    byte[] zstd = ZSTD.encode(data);
    System.out.printf("%s, 1 MiB: auto %d bytes, version 1 %d, zstd %d%n", kind, auto.length, v1.length, zstd.length);
    assertEquals(FloatSplitStage.FORM_ZSTD, auto[0], "seed 0x7E47 " + kind + ": form byte");
    assertEquals(zstd.length + 1, auto.length, "seed 0x7E47 " + kind + ": a zstd frame and the form byte");
    assertTrue(auto.length < v1.length * 0.96, "seed 0x7E47 " + kind + ": auto " + auto.length + " against version 1's " + v1.length);
    assertArrayEquals(data, AUTO.decode(auto));
  }

  @Test
  void randomBytesAreStoredWithOneByteMore() {
    byte[] data = random(new Random(0x4A4DL), 3 << 20);
    byte[] auto = AUTO.encode(data);
    assertEquals(FloatSplitStage.FORM_STORED, auto[0]);
    assertEquals(data.length + 1, auto.length, "seed 0x4A4D: 3 MiB of random bytes");
    assertArrayEquals(data, AUTO.decode(auto));
  }

  @Test
  void floatsAreCodedOnceAndNoLargerThanVersion1() {
    Random r = new Random(0xF10A7L);
    byte[] f32 = weights(r, 1 << 21);
    byte[][] inputs = {f32, bf16(f32), f16(f32), Arrays.copyOf(f32, (1 << 20) + 2)};
    String[] names = {"f32", "bf16", "f16", "f32 and half an element"};
    for (int i = 0; i < inputs.length; i++) {
      byte[] auto = AUTO.encode(inputs[i]);
      byte[] v1 = V1.encode(inputs[i]);
      assertEquals(FloatSplitStage.FORM_FLOAT, auto[0], "seed 0xF10A7 " + names[i]);
      assertTrue(auto.length <= v1.length, "seed 0xF10A7 " + names[i] + ": auto " + auto.length + " > version 1 " + v1.length);
      assertTrue(auto.length < inputs[i].length * 0.9, "seed 0xF10A7 " + names[i] + ": " + auto.length + " of " + inputs[i].length);
    }
  }

  /** Blocks of floats and text: as small as the smaller of the float coding and zstd. */
  @ParameterizedTest
  @ValueSource(ints = {1 << 19, 3 << 18})
  void floatsWithTextAreNoLargerThanEitherCoding(int floatBytes) {
    Random r = new Random(0x3F7EL);
    byte[] data = concat(weights(r, floatBytes), text(r, (1 << 20) - floatBytes));
    byte[] auto = AUTO.encode(data);
    int smaller = Math.min(V1.encode(data).length, ZSTD.encode(data).length + 1);
    assertTrue(auto.length <= smaller, "seed 0x3F7E, " + floatBytes + " bytes of floats: auto " + auto.length + " > " + smaller);
    assertArrayEquals(data, AUTO.decode(auto));
  }

  @Test
  void anExplicitDtypeWritesWhatVersion1Wrote() {
    byte[] data = weights(new Random(0xE4B1L), 1 << 18);
    for (String dtype : new String[] {"f32", "bf16", "f16", "f64"}) {
      StageSpec spec = StageSpec.of("float-split", Map.of("dtype", dtype));
      Stage v1 = Stages.create(spec.withVersion(1), StageContext.system());
      Stage v2 = Stages.create(spec.withVersion(2), StageContext.system());
      assertEquals(2, v2.version());
      assertArrayEquals(v1.encode(data), v2.encode(data), dtype);
      assertArrayEquals(data, v1.decode(v2.encode(data)), dtype);
    }
  }

  /**
   * The corpus' tensor data cut into 1 MiB blocks (as the checkpoints pipeline cuts a .pt or .bin),
   * and the fp32 weights cast to fp16: auto must store no more than version 1 did, to within
   * 0.1% per file. Skips without the corpus.
   */
  @Test
  void corpusBlocksAreNoLargerThanVersion1() throws IOException {
    long rawTotal = 0;
    long autoTotal = 0;
    long v1Total = 0;
    for (String name : new String[] {"w_step2000.safetensors", "adam_m_step2000.safetensors", "adam_v_step2000.safetensors",
        "w_step2000_bf16.safetensors", "w_finetune.safetensors", "w_step2000.safetensors#f16"}) {
      String file = name.replace("#f16", "");
      byte[] data = tensorData(TestCorpus.checkpoint(file));
      if (name.endsWith("#f16")) {
        data = f16(data);
      }
      long auto = 0;
      long v1 = 0;
      for (int off = 0; off < data.length; off += 1 << 20) {
        int len = Math.min(1 << 20, data.length - off);
        byte[] e = AUTO.encode(data, off, len);
        assertArrayEquals(Arrays.copyOfRange(data, off, off + len), AUTO.decode(e), name + " at " + off);
        auto += e.length;
        v1 += V1.encode(data, off, len).length;
      }
      System.out.printf("%-32s %9d bytes: auto %9d (%.4fx), version 1 %9d (%.4fx)%n", name, data.length, auto,
          (double) data.length / auto, v1, (double) data.length / v1);
      assertTrue(auto <= v1 * 1.001, name + ": auto " + auto + " against version 1's " + v1);
      rawTotal += data.length;
      autoTotal += auto;
      v1Total += v1;
    }
    System.out.printf("corpus blocks: %d bytes: auto %d, version 1 %d%n", rawTotal, autoTotal, v1Total);
    // Equal but for a few chunks where a float layout the trials left out codes a few hundredths
    // of a percent smaller (the fp16 cast, here).
    assertTrue(autoTotal <= v1Total * 1.0002, "auto " + autoTotal + " against version 1's " + v1Total);
  }

  /** A safetensors file's bytes after its header. */
  static byte[] tensorData(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    long header = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    return Arrays.copyOfRange(all, 8 + (int) header, all.length);
  }

  // ------------------------------------------------------------------ old data, damage

  @ParameterizedTest
  @MethodSource("kinds")
  void streamsVersion1WroteStillDecode(String kind) throws IOException {
    byte[] encoded = resource("float-split-v1-" + kind + ".bin");
    byte[] expected = FloatSplitV1Streams.input(kind);
    assertArrayEquals(expected, V1.decode(encoded), kind + " read as version 1");
    assertArrayEquals(expected, AUTO.decode(encoded), kind + " read as version 2");
    assertArrayEquals(expected, FloatSplitV1Streams.stage(0).decode(encoded), kind + " read by the current version");
  }

  static String[] kinds() {
    return FloatSplitV1Streams.KINDS;
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = FloatSplitAutoTest.class.getResourceAsStream(name)) {
      assertTrue(in != null, "missing test resource " + name);
      return in.readAllBytes();
    }
  }

  @Test
  void aDamagedFormIsNamed() {
    Random r = new Random(0xDA3AL);
    byte[] zstdForm = AUTO.encode(text(r, 100_000));
    byte[] stored = AUTO.encode(random(r, 100_000));
    assertEquals(FloatSplitStage.FORM_ZSTD, zstdForm[0]);

    byte[] unknown = zstdForm.clone();
    unknown[0] = 0x07;
    assertTrue(message(() -> AUTO.decode(unknown)).contains("form byte 0x7 is none of"));
    assertTrue(message(() -> AUTO.decode(new byte[0])).contains("empty"));
    byte[] badMagic = zstdForm.clone();
    badMagic[1] ^= 0x01;
    assertTrue(message(() -> AUTO.decode(badMagic)).contains("zstd frame magic"));
    byte[] truncated = Arrays.copyOf(zstdForm, zstdForm.length - 3);
    assertTrue(message(() -> AUTO.decode(truncated)).startsWith("Cannot decode zstd frame"));
    // version 1 wrote float codings only: another form under a version 1 spec is damage
    assertTrue(message(() -> V1.decode(zstdForm)).startsWith("Cannot decode"));
    assertTrue(message(() -> V1.decode(stored)).startsWith("Cannot decode"));
  }

  private static String message(org.junit.jupiter.api.function.Executable decode) {
    return assertThrows(CorruptDataException.class, decode).getMessage();
  }
}
