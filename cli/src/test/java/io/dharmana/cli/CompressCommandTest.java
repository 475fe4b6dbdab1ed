package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.file.CompressionResult;
import io.dharmana.tensor.file.TensorCodec;
import io.dharmana.tensor.file.TensorFileEntry;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CompressCommandTest {
  @TempDir Path tmp;

  record Run(int exit, String out, String err) {}

  /** Runs {@code dharmana COMMAND ARGS...} through Main, as the launcher does: errors are printed and mapped there. */
  static Run run(String command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] line = new String[args.length + 1];
    line[0] = command;
    System.arraycopy(args, 0, line, 1, args.length);
    int exit = Main.commandLine(command).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(line);
    return new Run(exit, out.toString(), err.toString());
  }

  /** A small checkpoint: a few fp32 weight matrices, a bf16 tensor and an int64 step counter. */
  static Path checkpoint(Path dir, String name, long seed, float drift) {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    Random base = new Random(1);
    for (int t = 0; t < 4; t++) {
      int n = 64 * 128;
      ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        b.putFloat((float) (base.nextGaussian() * 0.02 + random.nextGaussian() * drift));
      }
      tensors.add(Tensor.of("blocks." + t + ".weight", DType.F32, new long[] {64, 128}, b.rewind()));
    }
    ByteBuffer bf = ByteBuffer.allocate(2 * 256);
    random.nextBytes(bf.array());
    tensors.add(Tensor.of("emb.bf16", DType.BF16, new long[] {256}, bf));
    tensors.add(Tensor.of("step", DType.I64, new long[] {}, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(2000).rewind()));
    Path file = dir.resolve(name);
    SafetensorsWriter.write(null, tensors, file);
    return file;
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "2"})
  void losslessJsonRoundTrip(String threads) throws Exception {
    Path in = checkpoint(tmp, "w.safetensors", 3, 0);
    Path dhz = tmp.resolve("w-" + threads + ".dhz");
    Run c = run("compress", in.toString(), "-o", dhz.toString(), "--threads", threads, "--json");
    assertEquals(0, c.exit(), c.err());
    JsonNode json = new ObjectMapper().readTree(c.out());
    assertEquals(Files.size(in), json.get("inputBytes").asLong());
    assertEquals(Files.size(dhz), json.get("outputBytes").asLong());
    assertTrue(json.get("ratio").asDouble() > 1.0, c.out());
    assertTrue(json.get("seconds").asDouble() >= 0);
    assertTrue(json.get("lossless").asBoolean());
    assertEquals(6, json.get("tensors").size());
    Path back = tmp.resolve("back.safetensors");
    Run d = run("decompress", dhz.toString(), "-o", back.toString(), "--threads", threads, "--json");
    assertEquals(0, d.exit(), d.err());
    assertTrue(new ObjectMapper().readTree(d.out()).get("lossless").asBoolean());
    assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(back));
  }

  /**
   * --json is written by hand: it must be the text Jackson's generator writes for the same result,
   * names with quotes, backslashes, control and non-ASCII characters, and non-finite numbers included.
   */
  @Test
  void jsonIsWhatJacksonWrites() throws Exception {
    ErrorReport lossy = new ErrorReport(10, 0.25, 1e-9, 3.5);
    ErrorReport exact = new ErrorReport(7, 0, 0, 2);
    List<TensorFileEntry> entries = List.of(
        new TensorFileEntry("plain.weight", DType.F32, new long[] {2, 3}, 0, 24, TensorCodec.FLOAT, false, 10, 20, 1, null),
        new TensorFileEntry("q\"b\\s/\n\r\t\b\f\u0001\u001f\u007f é 名 \ud83d\ude00", DType.BF16, new long[] {}, 24, 26,
            TensorCodec.RAW, false, 30, 2, 2, null),
        new TensorFileEntry("empty", DType.U8, new long[] {0}, 26, 26, TensorCodec.ZSTD, true, 32, 0, 0, null),
        new TensorFileEntry("lossy", DType.F32, new long[] {4}, 26, 42, TensorCodec.INT8, true, 32, 9, 3, lossy),
        new TensorFileEntry("exact", DType.F32, new long[] {4}, 42, 58, TensorCodec.FP8, false, 41, 7, 4, exact));
    for (CompressionResult r : List.of(
        new CompressionResult(1000, 300, 0.125, false, lossy, entries),
        new CompressionResult(0, 0, 0, true, ErrorReport.EXACT, entries.subList(0, 3)),
        new CompressionResult(5, 0, Double.NaN, true, ErrorReport.EXACT, List.of()))) {
      for (double ratio : new double[] {r.ratio(), Double.POSITIVE_INFINITY, Double.NaN, 1e-300, 123456789.125}) {
        assertEquals(jacksonJson(r, ratio, 1000, 3), CompressCommand.toJson(r, ratio, 1000, 3));
      }
    }
  }

  /** The generator code --json used before it was written by hand. */
  private static String jacksonJson(CompressionResult r, double ratio, long originalBytes, int threads) throws Exception {
    StringWriter text = new StringWriter();
    try (JsonGenerator g = new JsonFactory().createGenerator(text)) {
      g.writeStartObject();
      g.writeNumberField("inputBytes", r.inputBytes());
      g.writeNumberField("outputBytes", r.outputBytes());
      g.writeNumberField("ratio", ratio);
      g.writeNumberField("seconds", r.seconds());
      g.writeNumberField("megabytesPerSecond", r.megabytesPerSecond(originalBytes));
      g.writeNumberField("threads", threads);
      g.writeBooleanField("lossless", r.lossless());
      if (!r.lossless()) {
        g.writeFieldName("error");
        jacksonError(g, r.error());
      }
      g.writeArrayFieldStart("tensors");
      for (TensorFileEntry e : r.tensors()) {
        g.writeStartObject();
        g.writeStringField("name", e.name());
        g.writeStringField("dtype", e.dtype().name());
        g.writeArrayFieldStart("shape");
        for (long d : e.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeStringField("codec", e.codec().label());
        g.writeBooleanField("delta", e.delta());
        g.writeNumberField("originalBytes", e.originalBytes());
        g.writeNumberField("encodedBytes", e.length());
        g.writeNumberField("ratio", e.ratio());
        if (e.codec().lossy()) {
          g.writeFieldName("error");
          jacksonError(g, e.error());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    return text.toString();
  }

  private static void jacksonError(JsonGenerator g, ErrorReport e) throws Exception {
    g.writeStartObject();
    g.writeNumberField("maxAbsError", e.maxAbsError());
    g.writeNumberField("relativeRms", e.relativeRms());
    if (Double.isInfinite(e.snrDb())) {
      g.writeNullField("snrDb");
    } else {
      g.writeNumberField("snrDb", e.snrDb());
    }
    g.writeNumberField("values", e.count());
    g.writeEndObject();
  }

  /** The bar goes to the process's stderr (as put's and get's), only when asked for off a terminal. */
  @Test
  void progressIsShownWhenAskedFor() throws Exception {
    Path in = checkpoint(tmp, "bar.safetensors", 7, 0);
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream bar = new java.io.ByteArrayOutputStream();
    try {
      System.setErr(new java.io.PrintStream(bar, true, StandardCharsets.UTF_8));
      assertEquals(0, run("compress", in.toString(), "-o", tmp.resolve("bar.dhz").toString(), "--progress").exit());
      assertEquals(0, run("decompress", tmp.resolve("bar.dhz").toString(), "-o", tmp.resolve("back.safetensors").toString(),
          "--progress").exit());
      String shown = bar.toString(StandardCharsets.UTF_8);
      assertTrue(shown.contains("compress bar.safetensors 100%") && shown.contains("decompress bar.dhz 100%"), shown);
      bar.reset();
      assertEquals(0, run("compress", in.toString(), "-o", tmp.resolve("quiet.dhz").toString(), "--no-progress").exit());
      assertEquals(0, run("decompress", tmp.resolve("quiet.dhz").toString(), "-o", tmp.resolve("quiet.safetensors").toString())
          .exit());
      assertEquals("", bar.toString(StandardCharsets.UTF_8), "no bar unless asked for, off a terminal");
    } finally {
      System.setErr(stderr);
    }
    assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(tmp.resolve("back.safetensors")));
  }

  @Test
  void lossyPrintsTheErrorTable() throws Exception {
    Path in = checkpoint(tmp, "w.safetensors", 4, 0);
    Run c = run("compress", in.toString(), "--lossy", "int8", "--block", "128");
    assertEquals(0, c.exit(), c.err());
    assertTrue(Files.exists(tmp.resolve("w.dhz")), "default output name");
    assertTrue(c.out().contains("LOSSY") && c.out().contains("rel RMS") && c.out().contains("OVERALL")
        && c.out().contains("blocks.3.weight") && c.out().contains("MB/s"), c.out());
    Run again = run("compress", in.toString(), "--lossy", "int8");
    assertEquals(2, again.exit(), "refuses to replace a derived output name: " + again.err());
    Run json = run("compress", in.toString(), "-o", tmp.resolve("f.dhz").toString(), "--lossy", "fp8", "--json");
    JsonNode node = new ObjectMapper().readTree(json.out());
    assertFalse(node.get("lossless").asBoolean());
    assertTrue(node.get("error").get("relativeRms").asDouble() < 0.05, json.out());
    int withError = 0;
    for (JsonNode t : node.get("tensors")) {
      withError += t.has("error") ? 1 : 0;
      assertEquals(t.get("dtype").asText().equals("F32"), t.has("error"), t.toString());
    }
    assertEquals(4, withError);
    Path back = tmp.resolve("lossy.safetensors");
    Run d = run("decompress", tmp.resolve("w.dhz").toString(), "-o", back.toString());
    assertEquals(0, d.exit(), d.err());
    assertTrue(d.out().contains("LOSSY") && d.out().contains("OVERALL"), d.out());
  }

  @Test
  void deltaNeedsTheRightParent() throws Exception {
    Path parent = checkpoint(tmp, "p.safetensors", 5, 0);
    Path child = checkpoint(tmp, "c.safetensors", 6, 1e-4f);
    Path dhz = tmp.resolve("c.dhz");
    assertEquals(0, run("compress", child.toString(), "-o", dhz.toString(), "--base", parent.toString()).exit());
    Path back = tmp.resolve("c2.safetensors");
    Run missing = run("decompress", dhz.toString(), "-o", back.toString());
    assertEquals(2, missing.exit());
    assertTrue(missing.err().contains("p.safetensors"), missing.err());
    Run wrong = run("decompress", dhz.toString(), "-o", back.toString(), "--base", child.toString());
    assertEquals(2, wrong.exit());
    assertTrue(wrong.err().contains("SHA-256"), wrong.err());
    Run absent = run("decompress", dhz.toString(), "-o", back.toString(), "--base", tmp.resolve("absent.safetensors").toString());
    assertEquals(Main.NOT_FOUND, absent.exit());
    assertEquals("dharmana decompress: Cannot open safetensors file " + tmp.resolve("absent.safetensors") + ": it does not exist\n",
        absent.err());
    assertEquals(Main.NOT_FOUND, run("decompress", tmp.resolve("absent.dhz").toString()).exit());
    Run ok = run("decompress", dhz.toString(), "-o", back.toString(), "--base", parent.toString());
    assertEquals(0, ok.exit(), ok.err());
    // A version 3 file is checked by CRC-32Cs, and the command says so, not SHA-256.
    assertTrue(ok.out().contains("lossless, CRC-32C verified"), ok.out());
    assertArrayEquals(Files.readAllBytes(child), Files.readAllBytes(back));
  }

  @Test
  void badInputExitsWithTwo() throws Exception {
    Path junk = tmp.resolve("junk.safetensors");
    Files.write(junk, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Run c = run("compress", junk.toString(), "-o", tmp.resolve("j.dhz").toString());
    assertEquals(2, c.exit());
    assertTrue(c.err().contains("Invalid safetensors file"), c.err());
    assertEquals(Main.NOT_FOUND, run("compress", tmp.resolve("absent").toString()).exit());
    // a file of another kind: its first 8 bytes read as a huge header length
    Path jpeg = tmp.resolve("photo.jpg");
    Files.write(jpeg, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1});
    Run other = run("compress", jpeg.toString(), "-o", tmp.resolve("p.dhz").toString());
    assertEquals(2, other.exit());
    assertTrue(other.err().endsWith("bytes (not a safetensors file?)\n"), other.err());
    Path cut = tmp.resolve("cut.safetensors");
    Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(checkpoint(tmp, "whole.safetensors", 8, 0)), 100));
    Run truncated = run("compress", cut.toString(), "-o", tmp.resolve("c.dhz").toString());
    assertEquals(2, truncated.exit());
    assertTrue(truncated.err().contains("reaches beyond the end of the file (100 bytes; truncated?)"), truncated.err());
    assertFalse(Files.exists(tmp.resolve("p.dhz")) || Files.exists(tmp.resolve("c.dhz")), "no output of a refused input");
    Path in = checkpoint(tmp, "w.safetensors", 7, 0);
    assertEquals(2, run("compress", in.toString(), "--lossy", "int4").exit());
    assertEquals(2, run("compress", in.toString(), "--block", "64").exit());
    assertEquals(2, run("decompress", junk.toString(), "-o", tmp.resolve("x").toString()).exit());
    assertEquals(0, run("compress", "--help").exit());
  }

  /** -o makes missing directories, as report -o always did (compress refused), and a refused input leaves none behind. */
  @Test
  void outputDirectoriesAreMadeAndRemovedWhenTheCommandFails() throws Exception {
    Path in = checkpoint(tmp, "w.safetensors", 9, 0);
    Path dhz = tmp.resolve("new").resolve("deeper").resolve("w.dhz");
    Run c = run("compress", in.toString(), "-o", dhz.toString());
    assertEquals(0, c.exit(), c.err());
    Path back = tmp.resolve("back").resolve("w.safetensors");
    Run d = run("decompress", dhz.toString(), "-o", back.toString());
    assertEquals(0, d.exit(), d.err());
    assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(back));
    Path junk = Files.write(tmp.resolve("junk.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    assertEquals(2, run("compress", junk.toString(), "-o", tmp.resolve("never").resolve("made").resolve("j.dhz").toString()).exit());
    assertFalse(Files.exists(tmp.resolve("never")), "a directory made for a refused input");
  }

  /** --base given for a file that is not delta-coded is said on stderr, not silently ignored. */
  @Test
  void anUnusedBaseIsSaid() throws Exception {
    Path in = checkpoint(tmp, "w.safetensors", 10, 0);
    Path other = checkpoint(Files.createDirectories(tmp.resolve("o")), "p.safetensors", 11, 0);
    Path dhz = tmp.resolve("w.dhz");
    assertEquals(0, run("compress", in.toString(), "-o", dhz.toString()).exit());
    Run d = run("decompress", dhz.toString(), "-o", tmp.resolve("back.safetensors").toString(), "--base", other.toString());
    assertEquals(0, d.exit(), d.err());
    assertEquals("dharmana decompress: WARNING: --base " + other + " is not used: " + dhz + " is not delta-coded, it decodes without a parent\n",
        d.err());
    assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(tmp.resolve("back.safetensors")));
  }

  /**
   * -o naming a directory (existing, or ending in '/') puts the derived name in it and never replaces
   * a file there; before, an existing one failed with "Is a directory" and out/ wrote a file named out.
   */
  @Test
  void anOutputDirectoryGetsTheDerivedName() throws Exception {
    Path in = checkpoint(tmp, "w.safetensors", 12, 0);
    Path existing = Files.createDirectories(tmp.resolve("existing"));
    Run c = run("compress", in.toString(), "-o", existing.toString());
    assertEquals(0, c.exit(), c.err());
    assertTrue(Files.isRegularFile(existing.resolve("w.dhz")), c.out());
    Run again = run("compress", in.toString(), "-o", existing.toString());
    assertEquals(Main.INVALID, again.exit(), again.err());
    assertTrue(again.err().contains("Cannot write " + existing.resolve("w.dhz") + ": it exists"), again.err());

    Path made = tmp.resolve("made");
    Run d = run("decompress", existing.resolve("w.dhz").toString(), "-o", made + "/");
    assertEquals(0, d.exit(), d.err());
    assertArrayEquals(Files.readAllBytes(in), Files.readAllBytes(made.resolve("w.safetensors")));
    Path fresh = tmp.resolve("fresh");
    Run slash = run("compress", in.toString(), "-o", fresh + "/");
    assertEquals(0, slash.exit(), slash.err());
    assertTrue(Files.isRegularFile(fresh.resolve("w.dhz")), "into the directory, not a file named fresh");
  }
}
