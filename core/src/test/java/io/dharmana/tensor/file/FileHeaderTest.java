package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.lossy.ErrorReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The header is written and read as a stream; it must mean what the JSON says, in any field order. */
class FileHeaderTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  static LongStream seeds() {
    return LongStream.range(0, 6).map(i -> 0xF11EL + i * 31337);
  }

  private static FileHeader header(Random r, boolean parent) {
    List<TensorFileEntry> tensors = new ArrayList<>();
    long begin = 0;
    int count = r.nextInt(20);
    for (int i = 0; i < count; i++) {
      long[] shape = new long[r.nextInt(4)];
      long elements = 1;
      for (int d = 0; d < shape.length; d++) {
        shape[d] = 1 + r.nextInt(9);
        elements *= shape[d];
      }
      boolean lossy = r.nextInt(4) == 0;
      TensorCodec codec = lossy ? TensorCodec.INT8 : TensorCodec.values()[r.nextInt(2)];
      ErrorReport error = lossy ? new ErrorReport(elements, r.nextDouble(), r.nextDouble(), 1 + r.nextDouble()) : ErrorReport.EXACT;
      tensors.add(new TensorFileEntry("t." + i + (r.nextBoolean() ? "\u00e9\"\\" : ""), DType.F32, shape, begin, begin + 4 * elements,
          codec, r.nextBoolean(), 12 + r.nextInt(1000), r.nextInt(1 << 20), r.nextLong() & 0xFFFFFFFFL, error));
      begin += 4 * elements;
    }
    byte[] original = new byte[r.nextInt(300)];
    r.nextBytes(original);
    return new FileHeader(begin + 8 + original.length, "ab".repeat(32), "cd".repeat(32), original, List.of("safetensors-split", "float-codec x3"),
        r.nextBoolean(), 1 + r.nextInt(512), parent ? "base.safetensors" : null, parent ? "ef".repeat(32) : null,
        new ErrorReport(r.nextInt(100), r.nextDouble(), r.nextDouble(), r.nextDouble()), tensors);
  }

  private static void assertSameHeader(FileHeader expected, FileHeader actual, String why) {
    assertEquals(expected.originalSize(), actual.originalSize(), why);
    assertEquals(expected.originalSha256(), actual.originalSha256(), why);
    assertEquals(expected.decodedSha256(), actual.decodedSha256(), why);
    assertArrayEquals(expected.originalHeader(), actual.originalHeader(), why);
    assertEquals(expected.chain(), actual.chain(), why);
    assertEquals(expected.lossy(), actual.lossy(), why);
    assertEquals(expected.block(), actual.block(), why);
    assertEquals(expected.parentName(), actual.parentName(), why);
    assertEquals(expected.parentSha256(), actual.parentSha256(), why);
    assertEquals(expected.error(), actual.error(), why);
    assertEquals(expected.tensors(), actual.tensors(), why);
    assertEquals(expected.headerCrc32c(), actual.headerCrc32c(), why);
    assertEquals(expected.decodedCrc32c(), actual.decodedCrc32c(), why);
  }

  /** As {@link #header}, in format version 3 when {@code crc}: CRC-32Cs of the output instead of SHA-256s. */
  private static FileHeader header(Random r, boolean parent, boolean crc) {
    FileHeader h = header(r, parent);
    if (!crc) {
      return h;
    }
    return new FileHeader(h.originalSize(), null, null, h.originalHeader(), h.chain(), h.lossy(), h.block(), h.parentName(),
        h.parentSha256(), h.error(), h.tensors(), r.nextLong() & 0xFFFFFFFFL, r.nextLong() & 0xFFFFFFFFL);
  }

  private static int version(FileHeader h) {
    return h.checkedByCrc() ? TensorFileFormat.VERSION : TensorFileFormat.VERSION_SHA256;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aHeaderReadsBackAsWritten(long seed) {
    Random r = new Random(seed);
    FileHeader h = header(r, r.nextBoolean());
    assertSameHeader(h, FileHeader.parse(V1Json.write(h)), "seed " + seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aBinaryHeaderReadsBackAsWritten(long seed) {
    Random r = new Random(seed);
    for (boolean crc : new boolean[] {false, true}) {
      FileHeader h = header(r, r.nextBoolean(), crc);
      assertSameHeader(h, BinaryHeader.read(BinaryHeader.write(h), Path.of("f.dhz"), version(h)), "seed " + seed + " crc " + crc);
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aTruncatedOrExtendedBinaryHeaderIsCorruptDataNamingTheFile(long seed) {
    Random r = new Random(seed);
    for (boolean crc : new boolean[] {false, true}) {
      FileHeader h = header(r, r.nextBoolean(), crc);
      byte[] bytes = BinaryHeader.write(h);
      for (int length = 0; length < bytes.length; length++) {
        byte[] cut = Arrays.copyOf(bytes, length);
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> BinaryHeader.read(cut, Path.of("cut.dhz"), version(h)),
            "seed " + seed + " length " + length);
        assertTrue(e.getMessage().startsWith("Cannot read tensor file cut.dhz: damaged index"), e.getMessage());
      }
      CorruptDataException e = assertThrows(CorruptDataException.class,
          () -> BinaryHeader.read(Arrays.copyOf(bytes, bytes.length + 1), Path.of("long.dhz"), version(h)));
      assertTrue(e.getMessage().contains("1 bytes follow the last tensor entry"), e.getMessage());
    }
  }

  @Test
  void impossibleValuesInABinaryHeaderAreCorruptData() {
    TensorFileEntry entry = new TensorFileEntry("w", DType.F32, new long[] {2}, 0, 8, TensorCodec.FLOAT, false, 12, 5, 7, null);
    FileHeader h = new FileHeader(8 + 8 + 2, "ab".repeat(32), "ab".repeat(32), new byte[] {'{', '}'}, List.of("x"), false, 0, null,
        null, ErrorReport.EXACT, List.of(entry));
    byte[] bytes = BinaryHeader.write(h);
    int codecAt = indexOf(bytes, new byte[] {'F', '3', '2'}) + 3 + 1 + 1 + 1 + 1; // dtype, rank, dim, begin, end
    byte[] badCodec = bytes.clone();
    badCodec[codecAt] = 99;
    assertTrue(assertThrows(CorruptDataException.class, () -> BinaryHeader.read(badCodec, Path.of("c.dhz"), TensorFileFormat.VERSION_SHA256)).getMessage()
        .contains("tensor entry 0 at byte " + (codecAt + 1) + ": unknown codec id 99"));
    byte[] badDtype = bytes.clone();
    badDtype[codecAt - 7] = (byte) 'X';
    assertTrue(assertThrows(CorruptDataException.class, () -> BinaryHeader.read(badDtype, Path.of("d.dhz"), TensorFileFormat.VERSION_SHA256)).getMessage()
        .contains("Invalid dtype 'X32'"));
    byte[] badFlags = bytes.clone();
    badFlags[8 + 64] = 4;
    assertTrue(assertThrows(CorruptDataException.class, () -> BinaryHeader.read(badFlags, Path.of("e.dhz"), TensorFileFormat.VERSION_SHA256)).getMessage()
        .contains("unknown flags 4"));
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    throw new AssertionError("not found");
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theOriginalIsFoundAheadOfTheIndex(long seed) {
    Random r = new Random(seed);
    FileHeader h = header(r, r.nextBoolean());
    FileHeader.Original early = FileHeader.peekOriginal(V1Json.write(h));
    assertEquals(h.originalSize(), early.size(), "seed " + seed);
    assertArrayEquals(h.originalHeader(), early.header(), "seed " + seed);
  }

  @Test
  void theOriginalIsNotGuessedFromDamagedJson() {
    assertEquals(null, FileHeader.peekOriginal("[1,2]".getBytes(StandardCharsets.UTF_8)));
    assertEquals(null, FileHeader.peekOriginal("{\"originalHeader\":\"AAAA\"}".getBytes(StandardCharsets.UTF_8)));
    assertEquals(null, FileHeader.peekOriginal("{\"originalSize\":3,\"originalHeader\":\"%%\"}".getBytes(StandardCharsets.UTF_8)));
    assertEquals(null, FileHeader.peekOriginal("{\"originalSize\":3,".getBytes(StandardCharsets.UTF_8)));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void fieldsInAnotherOrderAndUnknownFieldsReadTheSame(long seed) throws Exception {
    Random r = new Random(seed);
    FileHeader h = header(r, true);
    ObjectNode root = (ObjectNode) MAPPER.readTree(V1Json.write(h));
    List<String> names = new ArrayList<>();
    root.fieldNames().forEachRemaining(names::add);
    java.util.Collections.shuffle(names, r);
    ObjectNode shuffled = MAPPER.createObjectNode();
    shuffled.put("comment", "written by a later version");
    shuffled.putObject("extra").putArray("nested").add(1).addObject().put("deep", true);
    for (String n : names) {
      shuffled.set(n, root.get(n));
    }
    for (Iterator<com.fasterxml.jackson.databind.JsonNode> it = ((ArrayNode) shuffled.get("tensors")).elements(); it.hasNext(); ) {
      ((ObjectNode) it.next()).put("future", "ignored");
    }
    assertSameHeader(h, FileHeader.parse(MAPPER.writeValueAsBytes(shuffled)), "seed " + seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aMissingRequiredFieldIsCorruptData(long seed) throws Exception {
    Random r = new Random(seed);
    FileHeader h = header(r, false);
    ObjectNode root = (ObjectNode) MAPPER.readTree(V1Json.write(h));
    List<String> required = List.of("formatVersion", "originalSize", "originalSha256", "decodedSha256", "originalHeader", "chain",
        "lossy", "tensors");
    String field = required.get(r.nextInt(required.size()));
    root.remove(field);
    CorruptDataException e = assertThrows(CorruptDataException.class, () -> FileHeader.parse(MAPPER.writeValueAsBytes(root)),
        "seed " + seed + " without " + field);
    assertTrue(e.getMessage().startsWith("Cannot read tensor file"), e.getMessage());
  }

  @Test
  void malformedJsonIsCorruptData() {
    for (String json : List.of("", "[]", "{\"formatVersion\":1,", "{\"tensors\":{}}", "{\"tensors\":[{\"name\":{}}]}",
        "{\"chain\":\"x\"}", "nonsense")) {
      assertThrows(CorruptDataException.class, () -> FileHeader.parse(json.getBytes(StandardCharsets.UTF_8)), json);
    }
  }
}
