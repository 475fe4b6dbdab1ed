package io.dharmana.tensor;

import io.dharmana.store.AtomicFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes safetensors files byte for byte as the Python/Rust {@code safetensors} library does:
 * tensors ordered by dtype (largest alignment first) then name, compact JSON header padded with
 * spaces to a multiple of 8 (see {@link SafetensorsHeader#serialize()}).
 *
 * <p>One difference is unavoidable: the library keeps {@code __metadata__} in a hash map whose
 * iteration order is random, so its key order is not reproducible; this writer keeps the order of
 * the given map (use a sorted or insertion-ordered map).
 */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /** Writes {@code tensors} with {@code metadata} (null for none) to {@code out}; does not close it. */
  public static void write(Map<String, String> metadata, Collection<? extends Tensor> tensors, OutputStream out) {
    SafetensorsHeader header = SafetensorsHeader.layout(metadata, tensors);
    write(header, tensors, Channels.newChannel(out));
  }

  /**
   * Writes the file to {@code path} atomically: a temporary file in the same directory, forced to
   * disk, then moved over {@code path}. A crash leaves either the old file or the new one.
   */
  public static void write(Map<String, String> metadata, Collection<? extends Tensor> tensors, Path path) {
    SafetensorsHeader header = SafetensorsHeader.layout(metadata, tensors);
    AtomicFile.write(path, channel -> write(header, tensors, channel));
  }

  private static void write(SafetensorsHeader header, Collection<? extends Tensor> tensors, WritableByteChannel channel) {
    Map<String, Tensor> byName = new HashMap<>();
    for (Tensor t : tensors) {
      byName.put(t.name(), t);
    }
    try {
      writeFully(channel, ByteBuffer.wrap(header.serializeWithLength()));
      for (TensorInfo info : header.tensors()) {
        writeFully(channel, byName.get(info.name()).data());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write safetensors data", e);
    }
  }

  static void writeFully(WritableByteChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }


}
