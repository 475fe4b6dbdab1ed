package io.dharmana.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.store.AtomicFile;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafetensorsTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {
      "w_step2000.safetensors", "w_step2010.safetensors", "w_step2200.safetensors", "adam_m_step2000.safetensors",
      "adam_v_step2000.safetensors", "w_step2000_bf16.safetensors", "w_finetune.safetensors"})
  void corpusFilesRoundTripByteIdentical(String name) throws Exception {
    Path file = TestCorpus.checkpoint(name);
    byte[] original = Files.readAllBytes(file);
    try (SafetensorsFile st = Safetensors.open(file)) {
      assertTrue(st.infos().size() > 10, name);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      SafetensorsWriter.write(st.header().metadata(), st.tensors(), out);
      assertArrayEquals(original, out.toByteArray(), name + " must be rewritten byte for byte");
      assertArrayEquals(original, java.util.Arrays.copyOfRange(out.toByteArray(), 0, original.length));
    }
  }

  @Test
  void matchesTheLibrarysKnownOutput() {
    // Expected bytes from the safetensors library's own serialization tests.
    ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 6; i++) {
      data.putFloat(i);
    }
    data.flip();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafetensorsWriter.write(null, List.of(Tensor.of("attn.0", DType.F32, new long[] {1, 2, 3}, data)), out);
    String header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    byte[] bytes = out.toByteArray();
    assertEquals(64, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong());
    assertEquals(header, new String(bytes, 8, header.length(), StandardCharsets.UTF_8));
    assertEquals(8 + 64 + 24, bytes.length);

    out.reset();
    SafetensorsWriter.write(null, List.of(), out);
    assertArrayEquals(new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}, out.toByteArray());

    out.reset();
    SafetensorsWriter.write(Map.of("framework", "pt"), List.of(), out);
    byte[] withMeta = out.toByteArray();
    assertEquals(40, withMeta[0]);
    assertEquals("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new String(withMeta, 8, 40, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 1234})
  void everyDtypeRoundTrips(long seed) throws Exception {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    for (DType dtype : DType.values()) {
      int dims = random.nextInt(4);
      long[] shape = new long[dims];
      for (int d = 0; d < dims; d++) {
        shape[d] = random.nextInt(5);
      }
      long count = 1;
      for (long s : shape) {
        count *= s;
      }
      byte[] bytes = new byte[(int) count * dtype.size()];
      random.nextBytes(bytes);
      tensors.add(Tensor.of("t." + random.nextInt(1000) + "." + dtype, dtype, shape, ByteBuffer.wrap(bytes)));
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.put("quote\"and\\slash\n", "\u00e9\u0001");
    Path file = tmp.resolve("all-" + seed + ".safetensors");
    SafetensorsWriter.write(meta, tensors, file);
    byte[] written = Files.readAllBytes(file);
    assertEquals(0, (8 + ByteBuffer.wrap(written).order(ByteOrder.LITTLE_ENDIAN).getLong()) % 8, "seed " + seed);
    try (SafetensorsFile st = Safetensors.open(file)) {
      assertEquals(meta, st.metadata(), "seed " + seed);
      assertEquals(tensors.size(), st.infos().size(), "seed " + seed);
      DType previous = null;
      for (TensorInfo info : st.infos()) {
        // Library order: dtype descending, larger alignment first.
        assertTrue(previous == null || previous.compareTo(info.dtype()) >= 0, "seed " + seed);
        previous = info.dtype();
      }
      for (Tensor t : tensors) {
        Tensor read = st.tensor(t.name());
        assertEquals(t.dtype(), read.dtype(), "seed " + seed);
        assertArrayEquals(t.shape(), read.shape(), "seed " + seed);
        assertEquals(t.data(), read.data(), "seed " + seed + " tensor " + t.name());
        assertTrue(read.data().isReadOnly());
        assertEquals(ByteOrder.LITTLE_ENDIAN, read.data().order());
      }
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      SafetensorsWriter.write(st.header().metadata(), st.tensors(), again);
      assertArrayEquals(written, again.toByteArray(), "seed " + seed);
      assertThrows(NotFoundException.class, () -> st.tensor("absent"));
    }
  }

  @Test
  void unknownDtypeListsAllowed() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> DType.parse("F128"));
    assertTrue(e.getMessage().contains("F128") && e.getMessage().contains("BF16") && e.getMessage().contains("F8_E4M3"), e.getMessage());
  }

  private Path file(String name, String json, int dataBytes) throws Exception {
    return file(name, json.getBytes(StandardCharsets.UTF_8), json.length(), dataBytes);
  }

  private Path file(String name, byte[] header, long declaredLength, int dataBytes) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(declaredLength).put(header);
    Path p = tmp.resolve(name);
    Files.write(p, b.array());
    return p;
  }

  private String rejection(Path p) {
    return assertThrows(InvalidDescriptorException.class, () -> Safetensors.open(p).close()).getMessage();
  }

  @Test
  void malformedFilesAreRejectedWithTheirReason() throws Exception {
    String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    try (SafetensorsFile st = Safetensors.open(file("ok", ok, 8))) {
      assertEquals(1, st.infos().size());
    }
    assertTrue(rejection(file("empty", new byte[0], 0, 0)).contains("start with '{'"));
    Files.write(tmp.resolve("tiny"), new byte[] {1, 2, 3});
    assertTrue(rejection(tmp.resolve("tiny")).contains("too small"));
    assertTrue(rejection(file("beyond", ok.getBytes(StandardCharsets.UTF_8), 1000, 8)).contains("beyond the end of the file"));
    assertTrue(rejection(file("huge", ok.getBytes(StandardCharsets.UTF_8), 200_000_000L, 8)).contains("above the limit"));
    assertTrue(rejection(file("negative", ok.getBytes(StandardCharsets.UTF_8), -1L, 8)).contains("above the limit"));
    assertTrue(rejection(file("json", "{\"a\":{\"dtype\":\"F32\",", 8)).contains("invalid JSON"));
    assertTrue(rejection(file("notobject", "[1,2]", 0)).contains("JSON object"));
    assertTrue(rejection(file("leadingspace", " " + ok, 8)).contains("start with '{'"));
    assertTrue(rejection(file("utf8", new byte[] {'{', (byte) 0xff, '}'}, 3, 0)).contains("UTF-8"));
    String dtype = rejection(file("dtype", ok.replace("F32", "F33"), 8));
    assertTrue(dtype.contains("F33") && dtype.contains("allowed are"), dtype);
    assertTrue(rejection(file("bounds", ok.replace("0,8", "0,16").replace("[2]", "[4]"), 8)).contains("out of bounds"));
    assertTrue(rejection(file("trailing", ok, 12)).contains("trailing"));
    String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    assertTrue(rejection(file("overlap", overlap, 12)).contains("overlaps"));
    String gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
    assertTrue(rejection(file("gap", gap, 20)).contains("gap"));
    String mismatch = rejection(file("mismatch", ok.replace("[2]", "[3]"), 8));
    assertTrue(mismatch.contains("[3]") && mismatch.contains("12"), mismatch);
    assertTrue(rejection(file("reversed", ok.replace("0,8", "8,0"), 8)).contains("begin <= end"));
    assertTrue(rejection(file("offsets3", ok.replace("0,8", "0,8,9"), 8)).contains("must have 2"));
    assertTrue(rejection(file("negshape", ok.replace("[2]", "[-2]"), 8)).contains("unsigned"));
    assertTrue(rejection(file("dup", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8)).contains("invalid JSON"));
    assertTrue(rejection(file("field", ok.replace("\"shape\"", "\"shap\""), 8)).contains("unknown field"));
    assertTrue(rejection(file("missing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8)).contains("required"));
    assertTrue(rejection(file("meta", "{\"__metadata__\":{\"k\":1}}", 0)).contains("must be a string"));
    assertTrue(rejection(file("overflow", ok.replace("[2]", "[4294967296,4294967296]"), 8)).contains("overflow"));
    assertThrows(NotFoundException.class, () -> Safetensors.open(tmp.resolve("nope")));
  }

  /**
   * The compact-form reader must give what the JSON parser gives, header or error, whatever the
   * bytes: canonical headers, each alternative spelling JSON allows (which it hands to the parser),
   * and every truncation and many single-byte changes of a canonical header.
   */
  @Test
  void compactHeadersReadAsTheJsonParserReadsThem() {
    String canonical = "{\"__metadata__\":{\"format\":\"pt\",\"step\":\"10\"},"
        + "\"a.w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        + "\"b\":{\"shape\":[],\"data_offsets\":[24,26],\"dtype\":\"BF16\"},"
        + "\"c\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[26,26]},"
        + "\"d\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[26,34]}}  ";
    List<String> variants = new ArrayList<>(List.of(canonical,
        canonical.replace("{\"__metadata__\":{\"format\":\"pt\",\"step\":\"10\"},", "{"),
        canonical.replace("\"format\":\"pt\",\"step\":\"10\"", ""),
        canonical.replace("\"a.w\"", "\"a\\u002ew\""), // an escape
        canonical.replace("\"a.w\"", "\"a\u00e9\""), // non-ASCII
        canonical.replace(":{\"dtype\":\"F32\"", ": {\"dtype\":\"F32\""), // whitespace
        canonical.replace("  ", "\n "),
        canonical.replace("[0,24]", "[0,24.0]"),
        canonical.replace("[0,24]", "[0,2.4e1]"),
        canonical.replace("[0,24]", "[00,24]"),
        canonical.replace("[0,24]", "[-0,24]"),
        canonical.replace("[0,24]", "[0,024]"),
        canonical.replace("[2,3]", "[2,3,]"),
        canonical.replace("[2,3]", "[2,,3]"),
        canonical.replace("[2,3]", "[2,999999999999999999]"),
        canonical.replace("[2,3]", "[2,9999999999999999999]"),
        canonical.replace("[0,24]", "[0,24,24]"),
        canonical.replace("\"step\"", "\"format\""), // duplicate metadata key
        canonical.replace("\"c\"", "\"b\""), // duplicate tensor
        canonical.replace("\"shape\":[]", "\"shape\":[],\"shape\":[]"), // duplicate field
        canonical.replace("\"shape\":[0],", ""),
        canonical.replace("\"dtype\":\"U8\"", "\"dtype\":\"U9\""),
        canonical.replace("\"dtype\":\"U8\"", "\"dtype\":8"),
        canonical.replace("\"shape\":[0]", "\"shap\":[0]"),
        canonical.replace("[26,34]", "[26,35]"),
        canonical.replace("\"c\"", "\"__metadata__\""),
        canonical.replace("\"pt\"", "\"" + "p".repeat(5000) + "\""),
        canonical.trim() + "x",
        "{}", "{\"__metadata__\":{}}", "{\"__metadata__\":{}}  "));
    Random random = new Random(15);
    for (int i = 0; i < 400; i++) {
      char[] chars = canonical.toCharArray();
      String replacements = "{}[]:,\" \\0129-.eaF\u0000\u007f";
      chars[random.nextInt(chars.length)] = replacements.charAt(random.nextInt(replacements.length()));
      variants.add(new String(chars));
    }
    for (int end = 0; end < canonical.length(); end++) {
      variants.add(canonical.substring(0, end));
    }
    for (String variant : variants) {
      byte[] header = variant.getBytes(StandardCharsets.UTF_8);
      for (long dataLength : new long[] {34, 35}) {
        assertEquals(outcome(() -> SafetensorsHeader.parseJson(header, dataLength)),
            outcome(() -> SafetensorsHeader.parse(header, dataLength)), variant);
      }
    }
    byte[] bad = {'{', '"', (byte) 0xc0, (byte) 0x80, '"', ':', '{', '}', '}'}; // overlong, rejected as UTF-8
    assertTrue(outcome(() -> SafetensorsHeader.parse(bad, 0)).contains("not valid UTF-8"));
  }

  /** The header, or the type and message of the exception thrown. */
  private static String outcome(java.util.function.Supplier<SafetensorsHeader> parse) {
    try {
      SafetensorsHeader h = parse.get();
      return "header " + h.metadata() + " " + h.tensors();
    } catch (RuntimeException e) {
      return e.getClass().getName() + ": " + e.getMessage();
    }
  }

  /** A sparse 4.6 GB file: opening and viewing must map windows, never read the file into an array. */
  @Test
  void multiGigabyteFilesAreMappedInWindows() throws Exception {
    long big = 1_500_000_000L;
    String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
        + "\"b\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[" + big + "," + 2 * big + "]},"
        + "\"c\":{\"dtype\":\"I16\",\"shape\":[" + big / 4 + ",2]" + ",\"data_offsets\":[" + 2 * big + "," + 3 * big + "]},"
        + "\"d\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[" + 3 * big + "," + (3 * big + 3) + "]}}";
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    Path file = tmp.resolve("sparse.safetensors");
    try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
      raf.write(header);
      raf.setLength(8 + header.length + 3 * big + 3);
      raf.seek(8 + header.length + 3 * big);
      raf.write(new byte[] {7, 8, 9});
    }
    try (SafetensorsFile st = Safetensors.open(file)) {
      assertEquals(4, st.windowCount());
      ByteBuffer b = st.tensor("b").data();
      assertEquals(big, b.remaining());
      assertEquals(0, b.get((int) (big - 1)));
      assertEquals(9, st.tensor("d").data().get(2));
      assertEquals(big, st.tensor("c").elementCount() * 2);
    }
  }

  @Test
  void tensorsSpanningSeveralWindowsAreViewable() throws Exception {
    // Window grouping is exercised on a small scale: every tensor is still addressable.
    Random random = new Random(7);
    List<Tensor> tensors = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      byte[] bytes = new byte[4 * (1 + random.nextInt(1000))];
      random.nextBytes(bytes);
      tensors.add(Tensor.of(String.format("w%02d", i), DType.F32, new long[] {bytes.length / 4}, ByteBuffer.wrap(bytes)));
    }
    Path file = tmp.resolve("many.safetensors");
    SafetensorsWriter.write(null, tensors, file);
    for (long window : new long[] {1, 4000, 10_000, SafetensorsFile.MAX_WINDOW_BYTES}) {
      try (SafetensorsFile st = Safetensors.open(file, window)) {
        assertTrue(window > 100_000 ? st.windowCount() == 1 : st.windowCount() > 1, "window " + window);
        for (Tensor t : tensors) {
          assertEquals(t.data(), st.tensor(t.name()).data(), "seed 7 window " + window + " tensor " + t.name());
        }
      }
    }
  }

  @Test
  void anAtomicWriteIntoAMissingDirectoryNamesTheDirectoryAndLeavesNothing() {
    Path dir = tmp.resolve("absent");
    Path file = dir.resolve("w.safetensors");
    var e = assertThrows(java.io.UncheckedIOException.class, () -> AtomicFile.write(file, channel -> {}));
    assertEquals("Cannot write " + file + ": no such directory " + dir, e.getMessage());
    assertTrue(e.getCause() instanceof java.nio.file.NoSuchFileException, e.getCause().toString());
    assertTrue(Files.notExists(dir));
  }
}
