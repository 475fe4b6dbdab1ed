package io.dharmana.tensor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.dharmana.InvalidDescriptorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed JSON header of a safetensors file: the optional {@code __metadata__} string map and
 * the tensor entries in data order.
 *
 * <p>{@link #parse} accepts exactly what the Python/Rust {@code safetensors} library accepts
 * (entries in any key order, but their byte ranges must tile the data section from 0 to its end
 * without gap or overlap). {@link #serialize} produces the bytes the library writes for the same
 * entries: compact JSON, {@code __metadata__} first, tensors in data order, each as
 * {@code {"dtype":..,"shape":[..],"data_offsets":[b,e]}}, padded with spaces to a multiple of 8.
 */
public record SafetensorsHeader(Map<String, String> metadata, List<TensorInfo> tensors) {
  /** Headers above this size are rejected, as the library does. */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  private static final JsonFactory JSON =
      JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  /**
   * @param metadata the {@code __metadata__} map in the order to write it, or null when the header
   *     has none (an empty map is written as {@code "__metadata__":{}})
   */
  public SafetensorsHeader {
    metadata = metadata == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    tensors = List.copyOf(tensors);
    Set<String> names = new HashSet<>();
    long expectedBegin = 0;
    for (TensorInfo info : tensors) {
      if (!names.add(info.name())) {
        throw new InvalidDescriptorException("Invalid safetensors header: tensor '" + info.name() + "' appears twice");
      }
      if ("__metadata__".equals(info.name())) {
        throw new InvalidDescriptorException("Invalid tensor name '__metadata__': the name is reserved for metadata");
      }
      if (info.begin() != expectedBegin) {
        throw new InvalidDescriptorException(
            "Invalid data_offsets [" + info.begin() + ", " + info.end() + "] of tensor '" + info.name() + "': "
                + (info.begin() < expectedBegin ? "overlaps the previous tensor" : "leaves a gap after the previous tensor")
                + ", which ends at " + expectedBegin + " (tensors must tile the data section)");
      }
      expectedBegin = info.end();
    }
  }

  /** Total size of the data section: the end of the last tensor. */
  public long dataLength() {
    return tensors.isEmpty() ? 0 : tensors.get(tensors.size() - 1).end();
  }

  /**
   * The header the library writes for {@code tensors}: ordered by dtype descending (largest
   * alignment first, in the library's enum order) and then by name, laid out back to back.
   */
  public static SafetensorsHeader layout(Map<String, String> metadata, Collection<? extends Tensor> tensors) {
    List<Tensor> sorted = new ArrayList<>(tensors);
    sorted.sort(Comparator.comparing(Tensor::dtype, Comparator.reverseOrder()).thenComparing(Tensor::name));
    List<TensorInfo> infos = new ArrayList<>(sorted.size());
    long offset = 0;
    for (Tensor t : sorted) {
      long end = offset + t.byteSize();
      infos.add(new TensorInfo(t.name(), t.dtype(), t.shape(), offset, end));
      offset = end;
    }
    return new SafetensorsHeader(metadata, infos);
  }

  /**
   * Parses header bytes (without the 8-byte length prefix) of a file whose data section holds
   * {@code dataLength} bytes.
   *
   * @throws InvalidDescriptorException on invalid UTF-8 or JSON, an unknown dtype, bad shapes,
   *     offsets that overlap, leave gaps or do not end exactly at {@code dataLength}
   */
  public static SafetensorsHeader parse(byte[] header, long dataLength) {
    SafetensorsHeader compact = CompactForm.parse(header, dataLength);
    return compact != null ? compact : parseJson(header, dataLength);
  }

  /** {@link #parse} through the JSON parser: any JSON, and the errors of a header that is invalid (package-private for tests). */
  static SafetensorsHeader parseJson(byte[] header, long dataLength) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(header))
          .toString();
    } catch (CharacterCodingException e) {
      throw new InvalidDescriptorException("Invalid safetensors header: not valid UTF-8", e);
    }
    if (!text.startsWith("{")) {
      // The library (since 0.4) rejects headers that do not start with '{', leading spaces included.
      throw new InvalidDescriptorException("Invalid safetensors header: it must start with '{' (the JSON object)");
    }
    Map<String, String> metadata = null;
    List<TensorInfo> infos = new ArrayList<>();
    try (JsonParser p = JSON.createParser(text)) {
      expect(p.nextToken(), JsonToken.START_OBJECT, p, "the header must be a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        p.nextToken();
        if ("__metadata__".equals(key)) {
          metadata = parseMetadata(p);
        } else {
          infos.add(parseTensor(key, p));
        }
      }
      expect(p.currentToken(), JsonToken.END_OBJECT, p, "the header must be one JSON object");
      JsonToken trailing = p.nextToken();
      if (trailing != null) {
        throw new InvalidDescriptorException("Invalid safetensors header: unexpected " + trailing + " after the JSON object");
      }
    } catch (JsonProcessingException e) {
      throw new InvalidDescriptorException("Invalid safetensors header: invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new InvalidDescriptorException("Invalid safetensors header: " + e.getMessage(), e);
    }
    return validated(metadata, infos, dataLength);
  }

  private static SafetensorsHeader validated(Map<String, String> metadata, List<TensorInfo> infos, long dataLength) {
    // The library sorts entries by offsets before validating; so do we.
    infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    SafetensorsHeader parsed = new SafetensorsHeader(metadata, infos);
    if (parsed.dataLength() > dataLength) {
      TensorInfo last = parsed.tensors().get(parsed.tensors().size() - 1);
      throw new InvalidDescriptorException(
          "Invalid data_offsets [" + last.begin() + ", " + last.end() + "] of tensor '" + last.name()
              + "': out of bounds, the file holds only " + dataLength + " bytes of data after the header");
    }
    if (parsed.dataLength() < dataLength) {
      throw new InvalidDescriptorException(
          "Invalid safetensors file: the tensors cover " + parsed.dataLength() + " bytes of data but the file holds "
              + dataLength + " bytes after the header (trailing bytes are not allowed)");
    }
    return parsed;
  }

  private static Map<String, String> parseMetadata(JsonParser p) throws IOException {
    expect(p.currentToken(), JsonToken.START_OBJECT, p, "__metadata__ must be an object of strings");
    Map<String, String> map = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      expect(p.nextToken(), JsonToken.VALUE_STRING, p, "__metadata__ value of '" + key + "' must be a string");
      map.put(key, p.getText());
    }
    return map;
  }

  private static TensorInfo parseTensor(String name, JsonParser p) throws IOException {
    expect(p.currentToken(), JsonToken.START_OBJECT, p, "tensor '" + name + "' must be an object");
    DType dtype = null;
    long[] shape = null;
    long[] offsets = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      switch (field) {
        case "dtype" -> {
          expect(value, JsonToken.VALUE_STRING, p, "dtype of tensor '" + name + "' must be a string");
          try {
            dtype = DType.parse(p.getText());
          } catch (InvalidDescriptorException e) {
            throw new InvalidDescriptorException("Invalid tensor '" + name + "': " + e.getMessage(), e);
          }
        }
        case "shape" -> shape = parseLongs(p, name, "shape", -1);
        case "data_offsets" -> offsets = parseLongs(p, name, "data_offsets", 2);
        default -> throw new InvalidDescriptorException(
            "Invalid tensor '" + name + "': unknown field '" + field + "' (allowed: dtype, shape, data_offsets)");
      }
    }
    if (dtype == null || shape == null || offsets == null) {
      throw new InvalidDescriptorException(
          "Invalid tensor '" + name + "': dtype, shape and data_offsets are all required");
    }
    return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
  }

  private static long[] parseLongs(JsonParser p, String name, String field, int requiredLength) throws IOException {
    expect(p.currentToken(), JsonToken.START_ARRAY, p, field + " of tensor '" + name + "' must be an array");
    List<Long> values = new ArrayList<>();
    while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
      if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
        throw new InvalidDescriptorException(
            "Invalid " + field + " of tensor '" + name + "': " + p.getText() + " is not an unsigned 64-bit integer below 2^63");
      }
      values.add(p.getLongValue());
    }
    expect(p.currentToken(), JsonToken.END_ARRAY, p, field + " of tensor '" + name + "' must hold only non-negative integers");
    if (requiredLength >= 0 && values.size() != requiredLength) {
      throw new InvalidDescriptorException(
          "Invalid " + field + " of tensor '" + name + "': has " + values.size() + " values, must have " + requiredLength);
    }
    return values.stream().mapToLong(Long::longValue).toArray();
  }

  private static void expect(JsonToken actual, JsonToken expected, JsonParser p, String what) {
    if (actual != expected) {
      throw new InvalidDescriptorException(
          "Invalid safetensors header: " + what + " (found " + actual + " at character " + p.currentLocation().getCharOffset() + ")");
    }
  }

  /** The header bytes as the library writes them: compact JSON padded with spaces to a multiple of 8. */
  public byte[] serialize() {
    StringBuilder json = new StringBuilder(64 + 96 * tensors.size());
    json.append('{');
    boolean first = true;
    if (metadata != null) {
      appendString(json, "__metadata__");
      json.append(":{");
      boolean firstEntry = true;
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        if (!firstEntry) {
          json.append(',');
        }
        firstEntry = false;
        appendString(json, e.getKey());
        json.append(':');
        appendString(json, e.getValue());
      }
      json.append('}');
      first = false;
    }
    for (TensorInfo info : tensors) {
      if (!first) {
        json.append(',');
      }
      first = false;
      appendString(json, info.name());
      json.append(":{\"dtype\":\"").append(info.dtype().name()).append("\",\"shape\":[");
      long[] shape = info.shape();
      for (int i = 0; i < shape.length; i++) {
        if (i > 0) {
          json.append(',');
        }
        json.append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(info.begin()).append(',').append(info.end()).append("]}");
    }
    json.append('}');
    byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (bytes.length + 7) / 8 * 8;
    byte[] out = Arrays.copyOf(bytes, padded);
    Arrays.fill(out, bytes.length, padded, (byte) ' ');
    return out;
  }

  /** The 8-byte little-endian length prefix followed by {@link #serialize()}. */
  public byte[] serializeWithLength() {
    byte[] header = serialize();
    ByteBuffer out = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(header.length).put(header);
    return out.array();
  }

  /** Escapes as serde_json does: quote, backslash and control characters only; {@code \\u00xx} in lowercase hex. */
  private static void appendString(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /**
   * Reads a header written in the library's compact form ({@link #serialize}'s): no whitespace
   * but the trailing padding, printable ASCII strings without escapes, plain non-negative integers,
   * each entry {@code {"dtype":..,"shape":[..],"data_offsets":[b,e]}} (its fields in any order).
   *
   * <p>Why: a cold JVM took ~0.2 s to decode the 857 KB header of 8,162 tensors to text and read it
   * through the JSON parser, whose methods run interpreted until they are compiled; here the work
   * is a few small methods called per entry, compiled after the first hundreds.
   *
   * <p>It gives up (null) on anything else (other whitespace, an escape, a non-ASCII byte, a
   * number with a sign, fraction, exponent or leading zero, a duplicate name or field, a missing
   * or unknown field, an entry or a layout the checks reject): {@link #parseJson} then reads the
   * header as it always did, so the result and every error are the same.
   */
  private static final class CompactForm {
    /** Longer strings go to the JSON parser, which enforces its own limits on them. */
    private static final int MAX_STRING_BYTES = 4096;
    /** The ordinary way out, thrown often enough to cost nothing: no stack trace. */
    private static final RuntimeException NOT_COMPACT = new RuntimeException("not the compact form", null, false, false) {};

    private final byte[] in;
    private int pos;

    private CompactForm(byte[] in) {
      this.in = in;
    }

    static SafetensorsHeader parse(byte[] header, long dataLength) {
      try {
        return new CompactForm(header).header(dataLength);
      } catch (InvalidDescriptorException e) {
        return null;
      } catch (RuntimeException e) {
        if (e != NOT_COMPACT) {
          throw e;
        }
        return null;
      }
    }

    private SafetensorsHeader header(long dataLength) {
      expect('{');
      Map<String, String> metadata = null;
      List<TensorInfo> infos = new ArrayList<>();
      Set<String> keys = new HashSet<>();
      do {
        String key = string();
        if (!keys.add(key)) {
          throw NOT_COMPACT;
        }
        expect(':');
        if ("__metadata__".equals(key)) {
          metadata = metadata();
        } else {
          infos.add(tensor(key));
        }
      } while (next() == ',');
      pos--;
      expect('}');
      while (pos < in.length) {
        if (in[pos++] != ' ') {
          throw NOT_COMPACT;
        }
      }
      return validated(metadata, infos, dataLength);
    }

    private Map<String, String> metadata() {
      expect('{');
      Map<String, String> map = new LinkedHashMap<>();
      if (peek() == '}') {
        pos++;
        return map;
      }
      do {
        String key = string();
        expect(':');
        if (map.put(key, string()) != null) {
          throw NOT_COMPACT;
        }
      } while (next() == ',');
      pos--;
      expect('}');
      return map;
    }

    private TensorInfo tensor(String name) {
      expect('{');
      DType dtype = null;
      long[] shape = null;
      long[] offsets = null;
      do {
        String field = string();
        expect(':');
        switch (field) {
          case "dtype" -> {
            if (dtype != null) {
              throw NOT_COMPACT;
            }
            dtype = DType.parse(string());
          }
          case "shape" -> {
            if (shape != null) {
              throw NOT_COMPACT;
            }
            shape = integers();
          }
          case "data_offsets" -> {
            if (offsets != null) {
              throw NOT_COMPACT;
            }
            offsets = integers();
          }
          default -> throw NOT_COMPACT;
        }
      } while (next() == ',');
      pos--;
      expect('}');
      if (dtype == null || shape == null || offsets == null || offsets.length != 2) {
        throw NOT_COMPACT;
      }
      return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** An array of integers, each 0 or digits without a leading zero, at most 18 of them (below 2^63). */
    private long[] integers() {
      expect('[');
      long[] values = new long[4];
      int count = 0;
      if (peek() == ']') {
        pos++;
        return new long[0];
      }
      do {
        int start = pos;
        long value = 0;
        for (byte b; pos < in.length && (b = in[pos]) >= '0' && b <= '9'; pos++) {
          value = value * 10 + (b - '0');
        }
        int digits = pos - start;
        if (digits == 0 || digits > 18 || (digits > 1 && in[start] == '0')) {
          throw NOT_COMPACT;
        }
        if (count == values.length) {
          values = Arrays.copyOf(values, count * 2);
        }
        values[count++] = value;
      } while (next() == ',');
      pos--;
      expect(']');
      return Arrays.copyOf(values, count);
    }

    /** A string of printable ASCII without escapes. */
    private String string() {
      expect('"');
      int start = pos;
      int limit = Math.min(in.length, start + MAX_STRING_BYTES);
      for (byte b; pos < limit && (b = in[pos]) != '"'; pos++) {
        if (b < 0x20 || b > 0x7e || b == '\\') {
          throw NOT_COMPACT;
        }
      }
      if (pos == limit) {
        throw NOT_COMPACT;
      }
      return new String(in, start, pos++ - start, StandardCharsets.ISO_8859_1);
    }

    private void expect(char c) {
      if (next() != c) {
        throw NOT_COMPACT;
      }
    }

    /** The next byte, consumed; past the end 0, which no expectation accepts (stepping back over it returns to the end). */
    private int next() {
      int c = pos < in.length ? in[pos] : 0;
      pos++;
      return c;
    }

    private int peek() {
      return pos < in.length ? in[pos] : 0;
    }
  }
}
