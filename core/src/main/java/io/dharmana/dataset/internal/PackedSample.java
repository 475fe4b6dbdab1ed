package io.dharmana.dataset.internal;

import java.util.List;
import java.util.Objects;

/**
 * A sample on its way into a shard: key, named fields and the opaque bytes unpacking needs to
 * restore the sample's source byte-identical (a tar member's header blocks, a line terminator).
 */
public record PackedSample(String key, List<String> names, List<byte[]> data, byte[] restore) {
  public PackedSample {
    Objects.requireNonNull(key, "key");
    names = List.copyOf(names);
    data = List.copyOf(data);
    restore = restore == null ? new byte[0] : restore;
    if (names.size() != data.size()) {
      throw new IllegalArgumentException("Invalid sample " + key + ": " + names.size() + " names for " + data.size() + " fields");
    }
  }

  public long size() {
    long n = 0;
    for (byte[] d : data) {
      n += d.length;
    }
    return n;
  }
}
