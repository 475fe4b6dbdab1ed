package io.dharmana.manifest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dharmana.CorruptDataException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes manifests as JSON. The encoding is canonical (fixed field order, sorted maps)
 * so that equal manifests have equal bytes and therefore equal ids. Chunks are written as compact
 * {@code [id, length, storedLength]} triples: a 1 GiB object has ~16k of them.
 */
public final class ManifestCodec {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory FACTORY = MAPPER.getFactory();

  private ManifestCodec() {}

  public static byte[] encode(ObjectManifest m) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + m.chunks().size() * 90);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("format", m.format());
      g.writeStringField("pipeline", m.pipeline());
      g.writeNumberField("size", m.size());
      g.writeStringField("sha256", m.sha256());
      g.writeBooleanField("lossy", m.lossy());
      g.writeFieldName("stages");
      writeStages(g, m.stages());
      g.writeFieldName("parents");
      g.writeStartArray();
      for (String parent : m.parents()) {
        g.writeString(parent);
      }
      g.writeEndArray();
      if (!m.includes().isEmpty()) {
        g.writeFieldName("includes");
        g.writeStartArray();
        for (String include : m.includes()) {
          g.writeString(include);
        }
        g.writeEndArray();
      }
      g.writeStringField("created", m.created().toString());
      g.writeFieldName("attributes");
      writeMap(g, m.attributes());
      g.writeFieldName("chunks");
      g.writeStartArray();
      for (ChunkRef c : m.chunks()) {
        g.writeStartArray();
        g.writeString(c.id().hex());
        g.writeNumber(c.length());
        g.writeNumber(c.storedLength());
        g.writeEndArray();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static void writeStages(JsonGenerator g, List<StageSpec> stages) throws IOException {
    g.writeStartArray();
    for (StageSpec s : stages) {
      g.writeStartObject();
      g.writeStringField("name", s.name());
      g.writeNumberField("version", s.version());
      g.writeFieldName("params");
      writeMap(g, s.params());
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  private static void writeMap(JsonGenerator g, Map<String, String> map) throws IOException {
    g.writeStartObject();
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(map).entrySet()) {
      g.writeStringField(e.getKey(), e.getValue());
    }
    g.writeEndObject();
  }

  /**
   * Parses a manifest.
   *
   * @throws CorruptDataException naming {@code what} if the bytes are not a valid manifest
   */
  public static ObjectManifest decode(byte[] json, String what) {
    try (JsonParser p = FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new CorruptDataException("Cannot read manifest " + what + ": it is not a JSON object");
      }
      // the chunk list is most of a large manifest: it is streamed into refs rather than built
      // as a tree first (a 2 GiB object's 32k chunks cost a cold JVM a tenth of a second less)
      ObjectNode n = MAPPER.createObjectNode();
      List<ChunkRef> chunks = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.getCurrentName();
        p.nextToken();
        if (field.equals("chunks")) {
          chunks = readChunks(p, what);
        } else {
          n.set(field, MAPPER.readTree(p));
        }
      }
      int format = n.path("format").asInt(-1);
      if (format != ObjectManifest.FORMAT) {
        throw new CorruptDataException("Cannot read manifest " + what + ": unknown format " + n.path("format"));
      }
      if (chunks == null) {
        throw new CorruptDataException("Cannot read manifest " + what + ": field 'chunks' is missing");
      }
      List<String> parents = new ArrayList<>();
      for (JsonNode parent : n.path("parents")) {
        parents.add(parent.asText());
      }
      List<String> includes = new ArrayList<>();
      for (JsonNode include : n.path("includes")) {
        includes.add(include.asText());
      }
      return new ObjectManifest(
          format,
          required(n, "pipeline", what).asText(),
          required(n, "size", what).asLong(),
          required(n, "sha256", what).asText(),
          readStages(required(n, "stages", what)),
          n.path("lossy").asBoolean(false),
          chunks,
          parents,
          includes,
          Instant.parse(required(n, "created", what).asText()),
          readMap(n.path("attributes")));
    } catch (IOException | RuntimeException e) {
      if (e instanceof CorruptDataException c) {
        throw c;
      }
      throw new CorruptDataException("Cannot read manifest " + what + ": " + e.getMessage(), e);
    }
  }

  /** Reads {@code [[id, length, storedLength], ...]} with the parser on the opening bracket. */
  private static List<ChunkRef> readChunks(JsonParser p, String what) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw new CorruptDataException("Cannot read manifest " + what + ": field 'chunks' is not an array");
    }
    List<ChunkRef> chunks = new ArrayList<>();
    while (p.nextToken() == JsonToken.START_ARRAY) {
      if (p.nextToken() != JsonToken.VALUE_STRING) {
        throw badChunk(what, chunks.size());
      }
      ChunkId id = ChunkId.parse(p.getText());
      if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
        throw badChunk(what, chunks.size());
      }
      int length = p.getIntValue();
      if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
        throw badChunk(what, chunks.size());
      }
      int storedLength = p.getIntValue();
      if (p.nextToken() != JsonToken.END_ARRAY) {
        throw badChunk(what, chunks.size());
      }
      chunks.add(new ChunkRef(id, length, storedLength));
    }
    if (p.currentToken() != JsonToken.END_ARRAY) {
      throw badChunk(what, chunks.size());
    }
    return chunks;
  }

  private static CorruptDataException badChunk(String what, int index) {
    return new CorruptDataException("Cannot read manifest " + what + ": chunk " + index
        + " is not an [id, length, storedLength] triple");
  }

  static List<StageSpec> readStages(JsonNode array) {
    List<StageSpec> stages = new ArrayList<>();
    for (JsonNode s : array) {
      stages.add(new StageSpec(s.path("name").asText(), s.path("version").asInt(), readMap(s.path("params"))));
    }
    return stages;
  }

  private static Map<String, String> readMap(JsonNode object) {
    Map<String, String> map = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      map.put(e.getKey(), e.getValue().asText());
    }
    return map;
  }

  private static JsonNode required(JsonNode n, String field, String what) {
    JsonNode value = n.get(field);
    if (value == null || value.isNull()) {
      throw new CorruptDataException("Cannot read manifest " + what + ": field '" + field + "' is missing");
    }
    return value;
  }
}
