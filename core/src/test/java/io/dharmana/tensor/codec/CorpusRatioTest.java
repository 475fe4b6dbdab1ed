package io.dharmana.tensor.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.tensor.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ratios of the target table on the sample checkpoints: whole-file ratio, header
 * counted at 1:1, every tensor coded with {@link FloatCodec} and decoded back bit for bit. Skips
 * when the corpus is absent.
 */
class CorpusRatioTest {
  private static final FloatCodec CODEC = FloatCodec.create(FloatCodecOptions.DEFAULT);
  private static Path dir;

  @BeforeAll
  static void findCorpus() {
    dir = corpus();
    Assumptions.assumeTrue(dir != null, "sample corpus not found (set DHARMANA_CORPUS or place shared/corpus beside the repository); skipping");
  }

  static Path corpus() {
    String env = System.getenv("DHARMANA_CORPUS");
    if (env != null && Files.isDirectory(Path.of(env, "checkpoints"))) {
      return Path.of(env, "checkpoints");
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path c = d.resolve("shared").resolve("corpus").resolve("checkpoints");
      if (Files.isDirectory(c)) {
        return c;
      }
    }
    return null;
  }

  record Entry(String name, DType dtype, int offset, int length) {}

  record SafetensorsFile(byte[] bytes, int headerEnd, List<Entry> entries) {
    static SafetensorsFile read(Path path) {
      try {
        return parse(Files.readAllBytes(path));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    static SafetensorsFile parse(byte[] f) throws IOException {
      int n = (int) ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      JsonNode header = new ObjectMapper().readTree(new String(f, 8, n, java.nio.charset.StandardCharsets.UTF_8));
      List<Entry> entries = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getKey().equals("__metadata__")) {
          JsonNode off = e.getValue().get("data_offsets");
          entries.add(new Entry(e.getKey(), DType.parse(e.getValue().get("dtype").asText()),
              8 + n + off.get(0).asInt(), off.get(1).asInt() - off.get(0).asInt()));
        }
      }
      return new SafetensorsFile(f, 8 + n, entries);
    }
  }

  /** Codes every tensor (against the same tensor of {@code base} if given) and returns the file ratio. */
  private static double ratio(String label, SafetensorsFile file, SafetensorsFile base) {
    long stored = file.headerEnd();
    for (Entry e : file.entries()) {
      ByteBuffer data = ByteBuffer.wrap(file.bytes(), e.offset(), e.length());
      Entry parentEntry = base == null ? null
          : base.entries().stream().filter(p -> p.name().equals(e.name()) && p.dtype() == e.dtype() && p.length() == e.length())
              .findFirst().orElse(null);
      ByteBuffer parent = parentEntry == null ? null : ByteBuffer.wrap(base.bytes(), parentEntry.offset(), parentEntry.length());
      byte[] encoded = CODEC.encode(e.dtype(), data, parent);
      stored += encoded.length;
      ByteBuffer out = ByteBuffer.allocate(e.length());
      CODEC.decode(encoded, e.dtype(), parentEntry == null ? null : ByteBuffer.wrap(base.bytes(), parentEntry.offset(), parentEntry.length()), out);
      assertArrayEquals(java.util.Arrays.copyOfRange(file.bytes(), e.offset(), e.offset() + e.length()), out.array(), label + " " + e.name());
    }
    double ratio = (double) file.bytes().length / stored;
    System.out.printf("float codec ratio %-36s %.4f (%d -> %d bytes)%n", label, ratio, file.bytes().length, stored);
    return ratio;
  }

  private static SafetensorsFile load(String name) {
    return SafetensorsFile.read(dir.resolve(name + ".safetensors"));
  }

  /** A file with the same header layout whose tensor data is re-coded element by element. */
  private static SafetensorsFile recode(SafetensorsFile f, DType to, int fromSize, UnaryOperator<ByteBuffer> convert) {
    int toSize = to.size();
    List<Entry> entries = new ArrayList<>();
    ByteBuffer out = ByteBuffer.allocate(f.headerEnd() + (int) ((long) (f.bytes().length - f.headerEnd()) * toSize / fromSize))
        .order(ByteOrder.LITTLE_ENDIAN);
    out.put(f.bytes(), 0, f.headerEnd()); // header kept as is: only its size matters for the ratio
    for (Entry e : f.entries()) {
      int start = out.position();
      out.put(convert.apply(ByteBuffer.wrap(f.bytes(), e.offset(), e.length()).slice().order(ByteOrder.LITTLE_ENDIAN)));
      entries.add(new Entry(e.name(), to, start, out.position() - start));
    }
    return new SafetensorsFile(out.array(), f.headerEnd(), entries);
  }

  private static void assertAtLeast(double target, double actual, String label) {
    assertTrue(actual >= target, label + ": ratio " + actual + " is below the target " + target);
  }

  @Test
  void fp32Weights() {
    assertAtLeast(1.20, ratio("w_step2000 fp32", load("w_step2000"), null), "w_step2000");
  }

  @Test
  void adamFirstMoments() {
    assertAtLeast(1.19, ratio("adam_m fp32", load("adam_m_step2000"), null), "adam_m");
  }

  @Test
  void adamSecondMoments() {
    assertAtLeast(1.26, ratio("adam_v fp32", load("adam_v_step2000"), null), "adam_v");
  }

  @Test
  void bf16Weights() {
    assertAtLeast(1.50, ratio("w_step2000_bf16", load("w_step2000_bf16"), null), "w_step2000_bf16");
  }

  @Test
  void deltaTenStepsLater() {
    assertAtLeast(1.65, ratio("step 2010 against 2000", load("w_step2010"), load("w_step2000")), "delta 2010");
  }

  @Test
  void deltaTwoHundredStepsLater() {
    assertAtLeast(1.48, ratio("step 2200 against 2000", load("w_step2200"), load("w_step2000")), "delta 2200");
  }

  @Test
  void fineTuneWithFrozenLayers() {
    // No target in the issue; frozen tensors must cost next to nothing.
    assertAtLeast(3.0, ratio("finetune against 2000", load("w_finetune"), load("w_step2000")), "finetune");
  }

  @Test
  void fp16CastOfWeights() {
    SafetensorsFile f16 = recode(load("w_step2000"), DType.F16, 4, in -> {
      ByteBuffer o = ByteBuffer.allocate(in.remaining() / 2).order(ByteOrder.LITTLE_ENDIAN);
      while (in.hasRemaining()) {
        o.putShort((short) Fp16.fromFloat(in.getFloat()));
      }
      return o.flip();
    });
    assertAtLeast(1.16, ratio("w_step2000 cast to fp16", f16, null), "fp16");
  }

  @Test
  void fp32HoldingBf16Values() {
    SafetensorsFile widened = recode(load("w_step2000_bf16"), DType.F32, 2, in -> {
      ByteBuffer o = ByteBuffer.allocate(in.remaining() * 2).order(ByteOrder.LITTLE_ENDIAN);
      while (in.hasRemaining()) {
        o.putInt((in.getShort() & 0xFFFF) << 16);
      }
      return o.flip();
    });
    assertAtLeast(2.9, ratio("bf16 widened to fp32", widened, null), "widened bf16");
  }
}
