package io.dharmana.tensor.file;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.lossy.ErrorReport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The JSON header of a {@code .dhz} file (stored after the payload, located by the trailer).
 *
 * @param originalHeader the safetensors header bytes exactly as in the original file (without the
 *     8-byte length), so the output is byte-identical
 * @param originalSha256 SHA-256 of the whole original file (hex)
 * @param decodedSha256 SHA-256 of what decompression yields (equal to the original when lossless)
 * @param chain the codec chain, as readable stage descriptions
 * @param parentName, parentSha256 the parent file coded against, or null
 */
record FileHeader(
    long originalSize,
    String originalSha256,
    String decodedSha256,
    byte[] originalHeader,
    List<String> chain,
    boolean lossy,
    int block,
    String parentName,
    String parentSha256,
    ErrorReport error,
    List<TensorFileEntry> tensors) {
  static final ObjectMapper JSON = new ObjectMapper();

  byte[] toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", "dharmana-tensor-file");
    root.put("formatVersion", TensorFileFormat.VERSION);
    root.put("originalSize", originalSize);
    root.put("originalSha256", originalSha256);
    root.put("decodedSha256", decodedSha256);
    root.put("originalHeader", Base64.getEncoder().encodeToString(originalHeader));
    ArrayNode chainNode = root.putArray("chain");
    chain.forEach(chainNode::add);
    root.put("lossy", lossy);
    root.put("block", block);
    if (parentName != null) {
      ObjectNode parent = root.putObject("parent");
      parent.put("name", parentName);
      parent.put("sha256", parentSha256);
    }
    root.set("error", errorNode(error));
    ArrayNode list = root.putArray("tensors");
    for (TensorFileEntry e : tensors) {
      ObjectNode t = list.addObject();
      t.put("name", e.name());
      t.put("dtype", e.dtype().name());
      ArrayNode shape = t.putArray("shape");
      for (long d : e.shape()) {
        shape.add(d);
      }
      t.putArray("range").add(e.begin()).add(e.end());
      t.put("codec", e.codec().id());
      t.put("delta", e.delta());
      t.put("offset", e.offset());
      t.put("length", e.length());
      t.put("crc32c", e.crc32c());
      if (e.codec().lossy()) {
        t.set("error", errorNode(e.error()));
      }
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot serialize tensor file header", e);
    }
  }

  private static ObjectNode errorNode(ErrorReport r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("count", r.count());
    n.put("maxAbsError", r.maxAbsError());
    n.put("sumSquaredError", r.sumSquaredError());
    n.put("sumSquaredReference", r.sumSquaredReference());
    return n;
  }

  static FileHeader parse(byte[] json) {
    try {
      JsonNode root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
      int version = root.path("formatVersion").asInt(-1);
      if (version != TensorFileFormat.VERSION) {
        throw new CorruptDataException("Cannot read tensor file: format version " + version + " is not " + TensorFileFormat.VERSION);
      }
      List<String> chain = new ArrayList<>();
      required(root, "chain").forEach(n -> chain.add(n.asText()));
      List<TensorFileEntry> tensors = new ArrayList<>();
      for (JsonNode t : required(root, "tensors")) {
        JsonNode shapeNode = required(t, "shape");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shapeNode.get(i).asLong();
        }
        JsonNode range = required(t, "range");
        tensors.add(new TensorFileEntry(
            required(t, "name").asText(),
            DType.parse(required(t, "dtype").asText()),
            shape,
            range.get(0).asLong(),
            range.get(1).asLong(),
            TensorCodec.ofId(required(t, "codec").asInt()),
            t.path("delta").asBoolean(false),
            required(t, "offset").asLong(),
            required(t, "length").asLong(),
            required(t, "crc32c").asLong(),
            t.has("error") ? error(t.get("error")) : ErrorReport.EXACT));
      }
      JsonNode parent = root.get("parent");
      return new FileHeader(
          required(root, "originalSize").asLong(),
          required(root, "originalSha256").asText(),
          required(root, "decodedSha256").asText(),
          Base64.getDecoder().decode(required(root, "originalHeader").asText()),
          chain,
          required(root, "lossy").asBoolean(),
          root.path("block").asInt(0),
          parent == null ? null : required(parent, "name").asText(),
          parent == null ? null : required(parent, "sha256").asText(),
          root.has("error") ? error(root.get("error")) : ErrorReport.EXACT,
          tensors);
    } catch (JsonProcessingException | IllegalArgumentException | NullPointerException e) {
      throw new CorruptDataException("Cannot read tensor file header: " + e.getMessage(), e);
    } catch (io.dharmana.InvalidDescriptorException e) {
      throw new CorruptDataException("Cannot read tensor file header: " + e.getMessage(), e);
    }
  }

  private static ErrorReport error(JsonNode n) {
    return new ErrorReport(
        n.path("count").asLong(), n.path("maxAbsError").asDouble(), n.path("sumSquaredError").asDouble(),
        n.path("sumSquaredReference").asDouble());
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new CorruptDataException("Cannot read tensor file header: field '" + field + "' is missing");
    }
    return value;
  }
}
