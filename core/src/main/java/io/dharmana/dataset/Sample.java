package io.dharmana.dataset;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One sample of a dataset: its position in the dataset, its key and its fields. A file packed
 * from a directory or a line of a JSON Lines file is a sample with one field; a WebDataset tar
 * contributes one sample per key with one field per extension ({@code 0001.jpg}, {@code 0001.cls}
 * give sample {@code 0001} with fields {@code jpg} and {@code cls}).
 *
 * <p>Field buffers are read-only views that may share the block they were decoded from; they
 * stay valid as long as the sample is referenced.
 *
 * @param index position of the sample in the dataset, 0-based
 * @param key the sample's key (a relative path, a tar key, or {@code file.jsonl#line})
 * @param fields field name to bytes, in stored order
 */
public record Sample(long index, String key, Map<String, ByteBuffer> fields) {
  public Sample {
    Objects.requireNonNull(key, "key");
    if (index < 0) {
      throw new IllegalArgumentException("Invalid sample index " + index + ": must be >= 0");
    }
    fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  /** Total bytes of all fields. */
  public long size() {
    long n = 0;
    for (ByteBuffer b : fields.values()) {
      n += b.remaining();
    }
    return n;
  }

  /** The bytes of field {@code name}, or throws naming the fields the sample has. */
  public ByteBuffer field(String name) {
    ByteBuffer b = fields.get(name);
    if (b == null) {
      throw new IllegalArgumentException("Invalid field '" + name + "' of sample " + key + ": it has " + fields.keySet());
    }
    return b.duplicate();
  }

  /** The sample's single field as a new array; for samples of more than one field, their concatenation. */
  public byte[] bytes() {
    byte[] out = new byte[Math.toIntExact(size())];
    int pos = 0;
    for (ByteBuffer b : fields.values()) {
      ByteBuffer d = b.duplicate();
      int n = d.remaining();
      d.get(out, pos, n);
      pos += n;
    }
    return out;
  }
}
