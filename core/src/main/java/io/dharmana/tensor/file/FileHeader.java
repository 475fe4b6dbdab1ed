package io.dharmana.tensor.file;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.dharmana.CorruptDataException;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The header of a {@code .dhz} file (stored after the payload, located by the trailer), and its
 * format version 1 encoding: JSON, read here; version 2 files encode it as {@link BinaryHeader}.
 *
 * @param originalHeader the safetensors header bytes exactly as in the original file (without the
 *     8-byte length), so the output is byte-identical
 * @param originalSha256 SHA-256 of the whole original file (hex); null in version 3
 * @param decodedSha256 SHA-256 of what decompression yields (equal to the original when lossless);
 *     null in version 3
 * @param headerCrc32c version 3: CRC-32C of the original's bytes before the tensor data (the
 *     8-byte length and the safetensors header); -1 in versions 1 and 2
 * @param decodedCrc32c version 3: CRC-32C of what decompression yields; -1 in versions 1 and 2
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
    List<TensorFileEntry> tensors,
    long headerCrc32c,
    long decodedCrc32c) {
  /** A version 1 or 2 header: the output is checked by its SHA-256, not by CRC-32C. */
  FileHeader(
      long originalSize, String originalSha256, String decodedSha256, byte[] originalHeader, List<String> chain, boolean lossy,
      int block, String parentName, String parentSha256, ErrorReport error, List<TensorFileEntry> tensors) {
    this(originalSize, originalSha256, decodedSha256, originalHeader, chain, lossy, block, parentName, parentSha256, error, tensors,
        -1, -1);
  }

  /** Whether a full decompression is checked by CRC-32Cs (version 3) rather than by the SHA-256 of the output. */
  boolean checkedByCrc() {
    return decodedCrc32c >= 0;
  }

  /**
   * Streaming, not a tree: a header indexes every tensor (thousands), and a command reads it once,
   * in a cold JVM, where building and walking a tree of nodes costs more than the bytes do.
   */
  private static final JsonFactory JSON = new JsonFactory();

  /** Fields of the top-level object, as parsed (absent ones stay null). */
  private static final class Fields {
    Integer formatVersion;
    Long originalSize;
    String originalSha256;
    String decodedSha256;
    String originalHeader;
    List<String> chain;
    Boolean lossy;
    int block;
    String parentName;
    String parentSha256;
    boolean parent;
    ErrorReport error = ErrorReport.EXACT;
    List<TensorFileEntry> tensors;
  }

  static FileHeader parse(byte[] json) {
    Fields f = new Fields();
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new CorruptDataException("Cannot read tensor file header: it is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (value == JsonToken.VALUE_NULL) {
          continue; // as absent
        }
        switch (field) {
          case "formatVersion" -> f.formatVersion = p.getValueAsInt(-1);
          case "originalSize" -> f.originalSize = p.getValueAsLong();
          case "originalSha256" -> f.originalSha256 = text(p);
          case "decodedSha256" -> f.decodedSha256 = text(p);
          case "originalHeader" -> f.originalHeader = text(p);
          case "chain" -> f.chain = strings(p);
          case "lossy" -> f.lossy = p.getValueAsBoolean();
          case "block" -> f.block = p.getValueAsInt(0);
          case "parent" -> parent(p, f);
          case "error" -> f.error = error(p);
          case "tensors" -> f.tensors = tensors(p);
          default -> p.skipChildren();
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new CorruptDataException("Cannot read tensor file header: " + e.getMessage(), e);
    } catch (io.dharmana.InvalidDescriptorException e) {
      throw new CorruptDataException("Cannot read tensor file header: " + e.getMessage(), e);
    }
    int version = f.formatVersion == null ? -1 : f.formatVersion;
    if (version != TensorFileFormat.VERSION_JSON_HEADER) {
      throw new CorruptDataException("Cannot read tensor file header: format version " + version + " is not "
          + TensorFileFormat.VERSION_JSON_HEADER);
    }
    byte[] originalHeader;
    try {
      originalHeader = Base64.getDecoder().decode(required(f.originalHeader, "originalHeader"));
    } catch (IllegalArgumentException e) {
      throw new CorruptDataException("Cannot read tensor file header: " + e.getMessage(), e);
    }
    return new FileHeader(
        required(f.originalSize, "originalSize"),
        required(f.originalSha256, "originalSha256"),
        required(f.decodedSha256, "decodedSha256"),
        originalHeader,
        required(f.chain, "chain"),
        required(f.lossy, "lossy"),
        f.block,
        f.parent ? required(f.parentName, "name") : null,
        f.parent ? required(f.parentSha256, "sha256") : null,
        f.error,
        required(f.tensors, "tensors"));
  }

  /** The original file's size and safetensors header, as {@link #parse} will find them. */
  record Original(long size, byte[] header) {}

  /**
   * Reads only as far as the {@code originalHeader} field (written near the start), so that it can
   * be parsed while {@link #parse} reads the index; null when it is not found that way, as the
   * fields may come in any order. Whatever it returns must still be compared with the parsed header.
   */
  static Original peekOriginal(byte[] json) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      Long size = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("originalSize") && value == JsonToken.VALUE_NUMBER_INT) {
          size = p.getLongValue();
        } else if (field.equals("originalHeader") && value == JsonToken.VALUE_STRING) {
          return size == null ? null : new Original(size, Base64.getDecoder().decode(p.getText()));
        } else {
          p.skipChildren();
        }
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return null; // parse() reports what is wrong
    }
  }

  private static String text(JsonParser p) throws IOException {
    String s = p.getValueAsString();
    if (s == null) {
      // An object or array where text belongs.
      throw new CorruptDataException("Cannot read tensor file header: field '" + p.currentName() + "' is not a value");
    }
    return s;
  }

  private static List<String> strings(JsonParser p) throws IOException {
    requireArray(p);
    List<String> list = new ArrayList<>();
    while (p.nextToken() != JsonToken.END_ARRAY) {
      list.add(text(p));
    }
    return list;
  }

  private static void parent(JsonParser p, Fields f) throws IOException {
    requireObject(p);
    f.parent = true;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> f.parentName = p.getValueAsString();
        case "sha256" -> f.parentSha256 = p.getValueAsString();
        default -> p.skipChildren();
      }
    }
  }

  private static ErrorReport error(JsonParser p) throws IOException {
    requireObject(p);
    long count = 0;
    double maxAbs = 0;
    double sse = 0;
    double ssr = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "count" -> count = p.getValueAsLong();
        case "maxAbsError" -> maxAbs = p.getValueAsDouble();
        case "sumSquaredError" -> sse = p.getValueAsDouble();
        case "sumSquaredReference" -> ssr = p.getValueAsDouble();
        default -> p.skipChildren();
      }
    }
    return new ErrorReport(count, maxAbs, sse, ssr);
  }

  private static List<TensorFileEntry> tensors(JsonParser p) throws IOException {
    requireArray(p);
    List<TensorFileEntry> list = new ArrayList<>();
    long[] numbers = new long[8];
    while (p.nextToken() != JsonToken.END_ARRAY) {
      requireObject(p);
      String name = null;
      String dtype = null;
      long[] shape = null;
      long[] range = null;
      Integer codec = null;
      boolean delta = false;
      Long offset = null;
      Long length = null;
      Long crc = null;
      ErrorReport error = ErrorReport.EXACT;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        if (p.nextToken() == JsonToken.VALUE_NULL) {
          continue;
        }
        switch (field) {
          case "name" -> name = text(p);
          case "dtype" -> dtype = text(p);
          case "shape" -> shape = longs(p, numbers);
          case "range" -> range = longs(p, numbers);
          case "codec" -> codec = p.getValueAsInt();
          case "delta" -> delta = p.getValueAsBoolean(false);
          case "offset" -> offset = p.getValueAsLong();
          case "length" -> length = p.getValueAsLong();
          case "crc32c" -> crc = p.getValueAsLong();
          case "error" -> error = error(p);
          default -> p.skipChildren();
        }
      }
      range = required(range, "range");
      if (range.length < 2) {
        throw new CorruptDataException("Cannot read tensor file header: field 'range' needs two numbers");
      }
      list.add(new TensorFileEntry(
          required(name, "name"),
          DType.parse(required(dtype, "dtype")),
          required(shape, "shape"),
          range[0],
          range[1],
          TensorCodec.ofId(required(codec, "codec")),
          delta,
          required(offset, "offset"),
          required(length, "length"),
          required(crc, "crc32c"),
          error));
    }
    return list;
  }

  /** An array of numbers, read through {@code scratch} (grown when too small). */
  private static long[] longs(JsonParser p, long[] scratch) throws IOException {
    requireArray(p);
    long[] a = scratch;
    int n = 0;
    while (p.nextToken() != JsonToken.END_ARRAY) {
      if (n == a.length) {
        a = Arrays.copyOf(a, n * 2);
      }
      a[n++] = p.getValueAsLong();
    }
    return Arrays.copyOf(a, n);
  }

  private static void requireArray(JsonParser p) {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw new CorruptDataException("Cannot read tensor file header: field '" + currentName(p) + "' is not an array");
    }
  }

  private static void requireObject(JsonParser p) {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new CorruptDataException("Cannot read tensor file header: field '" + currentName(p) + "' is not an object");
    }
  }

  private static String currentName(JsonParser p) {
    try {
      return p.currentName();
    } catch (IOException e) {
      return "?";
    }
  }

  private static <T> T required(T value, String field) {
    if (value == null) {
      throw new CorruptDataException("Cannot read tensor file header: field '" + field + "' is missing");
    }
    return value;
  }
}
