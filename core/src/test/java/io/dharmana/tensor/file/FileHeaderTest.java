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
import java.util.ArrayList;
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
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aHeaderReadsBackAsWritten(long seed) {
    Random r = new Random(seed);
    FileHeader h = header(r, r.nextBoolean());
    assertSameHeader(h, FileHeader.parse(h.toJson()), "seed " + seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void anIndexWrittenEntryByEntryGivesTheSameBytes(long seed) {
    Random r = new Random(seed);
    FileHeader h = header(r, r.nextBoolean());
    FileHeader.Index index = new FileHeader.Index(r.nextInt(4));
    h.tensors().forEach(index::add);
    assertArrayEquals(h.toJson(), h.toJson(index), "seed " + seed);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theOriginalIsFoundAheadOfTheIndex(long seed) {
    Random r = new Random(seed);
    FileHeader h = header(r, r.nextBoolean());
    FileHeader.Original early = FileHeader.peekOriginal(h.toJson());
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
    ObjectNode root = (ObjectNode) MAPPER.readTree(h.toJson());
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
    ObjectNode root = (ObjectNode) MAPPER.readTree(h.toJson());
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
