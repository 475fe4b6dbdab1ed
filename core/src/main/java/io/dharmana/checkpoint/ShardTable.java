package io.dharmana.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The content of a shard object: one rank's tensor table for one step, as JSON. Format 1:
 * {@code {"format":1,"run","step","rank","world","created","metadata":{},"tensors":[{"name",
 * "dtype","shape","sha256","manifest","encoding","baseStep","depth","stored","lossy"}]}}.
 */
record ShardTable(String run, long step, int rank, int world, Instant created, Map<String, String> metadata,
    List<TensorEntry> tensors) {
  static final int FORMAT = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  ShardTable {
    metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    tensors = List.copyOf(tensors);
  }

  long logicalBytes() {
    return tensors.stream().mapToLong(TensorEntry::byteSize).sum();
  }

  long storedBytes() {
    return tensors.stream().mapToLong(TensorEntry::storedBytes).sum();
  }

  boolean lossy() {
    return tensors.stream().anyMatch(TensorEntry::lossy);
  }

  byte[] toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("run", run);
    root.put("step", step);
    root.put("rank", rank);
    root.put("world", world);
    root.put("created", created.toString());
    ObjectNode meta = root.putObject("metadata");
    metadata.forEach(meta::put);
    ArrayNode list = root.putArray("tensors");
    for (TensorEntry e : tensors) {
      ObjectNode n = list.addObject();
      n.put("name", e.name());
      n.put("dtype", e.dtype().name());
      ArrayNode shape = n.putArray("shape");
      for (long d : e.shape()) {
        shape.add(d);
      }
      n.put("sha256", e.sha256());
      n.put("manifest", e.manifestId());
      n.put("encoding", e.encoding().name().toLowerCase(java.util.Locale.ROOT));
      n.put("baseStep", e.baseStep());
      n.put("depth", e.depth());
      n.put("stored", e.storedBytes());
      n.put("lossy", e.lossy());
    }
    return root.toString().getBytes(StandardCharsets.UTF_8);
  }

  static ShardTable parse(byte[] bytes, String what) {
    try {
      JsonNode root = JSON.readTree(bytes);
      int format = root.path("format").asInt(-1);
      if (format != FORMAT) {
        throw new CorruptDataException("Cannot read " + what + ": shard format " + format + " is not " + FORMAT);
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.path("metadata").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        metadata.put(f.getKey(), f.getValue().asText());
      }
      List<TensorEntry> tensors = new ArrayList<>();
      for (JsonNode n : root.path("tensors")) {
        JsonNode shapeNode = n.get("shape");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shapeNode.get(i).asLong();
        }
        tensors.add(new TensorEntry(n.get("name").asText(), DType.valueOf(n.get("dtype").asText()), shape,
            n.get("sha256").asText(), n.get("manifest").asText(),
            TensorEntry.Encoding.valueOf(n.get("encoding").asText().toUpperCase(java.util.Locale.ROOT)),
            n.get("baseStep").asLong(), n.get("depth").asInt(), n.get("stored").asLong(), n.get("lossy").asBoolean()));
      }
      return new ShardTable(root.get("run").asText(), root.get("step").asLong(), root.get("rank").asInt(),
          root.get("world").asInt(), Instant.parse(root.get("created").asText()), metadata, tensors);
    } catch (IOException | RuntimeException e) {
      if (e instanceof CorruptDataException c) {
        throw c;
      }
      throw new CorruptDataException("Cannot read " + what + ": " + e.getMessage(), e);
    }
  }
}
