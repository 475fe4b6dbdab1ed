package io.dharmana.tensor.file;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;

/** Writes a header as format version 1 did (JSON), to test that such headers are still read. */
final class V1Json {
  private static final JsonFactory JSON = new JsonFactory();

  private V1Json() {}

  static byte[] write(FileHeader h) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 + h.originalHeader().length * 2 + h.tensors().size() * 160);
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      writeFields(g, h);
      g.writeArrayFieldStart("tensors");
      for (TensorFileEntry e : h.tensors()) {
        writeEntry(g, e);
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("Cannot serialize tensor file header", e);
    }
    return bytes.toByteArray();
  }

  private static void writeFields(JsonGenerator g, FileHeader h) throws IOException {
    g.writeStartObject();
    g.writeStringField("format", "dharmana-tensor-file");
    g.writeNumberField("formatVersion", TensorFileFormat.VERSION_JSON_HEADER);
    g.writeNumberField("originalSize", h.originalSize());
    g.writeStringField("originalSha256", h.originalSha256());
    g.writeStringField("decodedSha256", h.decodedSha256());
    g.writeStringField("originalHeader", Base64.getEncoder().encodeToString(h.originalHeader()));
    g.writeArrayFieldStart("chain");
    for (String c : h.chain()) {
      g.writeString(c);
    }
    g.writeEndArray();
    g.writeBooleanField("lossy", h.lossy());
    g.writeNumberField("block", h.block());
    if (h.parentName() != null) {
      g.writeObjectFieldStart("parent");
      g.writeStringField("name", h.parentName());
      g.writeStringField("sha256", h.parentSha256());
      g.writeEndObject();
    }
    g.writeFieldName("error");
    writeError(g, h.error());
  }

  private static void writeEntry(JsonGenerator g, TensorFileEntry e) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", e.name());
    g.writeStringField("dtype", e.dtype().name());
    g.writeArrayFieldStart("shape");
    for (long d : e.shape()) {
      g.writeNumber(d);
    }
    g.writeEndArray();
    g.writeArrayFieldStart("range");
    g.writeNumber(e.begin());
    g.writeNumber(e.end());
    g.writeEndArray();
    g.writeNumberField("codec", e.codec().id());
    g.writeBooleanField("delta", e.delta());
    g.writeNumberField("offset", e.offset());
    g.writeNumberField("length", e.length());
    g.writeNumberField("crc32c", e.crc32c());
    if (e.codec().lossy()) {
      g.writeFieldName("error");
      writeError(g, e.error());
    }
    g.writeEndObject();
  }

  private static void writeError(JsonGenerator g, ErrorReport r) throws IOException {
    g.writeStartObject();
    g.writeNumberField("count", r.count());
    g.writeNumberField("maxAbsError", r.maxAbsError());
    g.writeNumberField("sumSquaredError", r.sumSquaredError());
    g.writeNumberField("sumSquaredReference", r.sumSquaredReference());
    g.writeEndObject();
  }

}
