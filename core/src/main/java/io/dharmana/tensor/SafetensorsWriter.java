package io.dharmana.tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
    writeAtomically(path, channel -> write(header, tensors, channel));
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

  /** Body of an atomic write. */
  @FunctionalInterface
  public interface ChannelWriter {
    void writeTo(FileChannel channel) throws IOException;
  }

  /**
   * Runs {@code writer} on a temporary file beside {@code path}, forces it, and atomically moves it
   * to {@code path}; the temporary file is deleted on failure. A {@code path} that exists and is
   * not a regular file (a device) is written in place.
   */
  public static void writeAtomically(Path path, ChannelWriter writer) {
    Path absolute = path.toAbsolutePath();
    Path dir = absolute.getParent();
    Path temp = null;
    try {
      if (Files.exists(absolute) && !Files.isRegularFile(absolute)) {
        // a device such as /dev/null: a rename over it would replace the device with a file
        try (FileChannel channel = FileChannel.open(absolute, StandardOpenOption.WRITE)) {
          writer.writeTo(channel);
        }
        return;
      }
      // Not Files.createTempFile: its 0600 mode would stick to the final file; CREATE_NEW honours the umask.
      temp = dir.resolve("." + absolute.getFileName() + "." + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()) + ".tmp");
      FileChannel opened;
      try {
        opened = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
      } catch (NoSuchFileException | AccessDeniedException e) {
        // the error names the temporary file, which the user never asked for: name the directory
        temp = null;
        boolean missing = e instanceof NoSuchFileException;
        IOException cause = missing ? new NoSuchFileException(dir.toString()) : new AccessDeniedException(dir.toString());
        cause.addSuppressed(e);
        throw new UncheckedIOException(
            "Cannot write " + path + ": " + (missing ? "no such directory " : "permission denied to create files in ") + dir, cause);
      }
      try (FileChannel channel = opened) {
        writer.writeTo(channel);
        channel.force(true);
      }
      try {
        Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
      }
      temp = null;
      forceDirectory(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + path, e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // best effort: the temporary name never shadows the target
        }
      }
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | UnsupportedOperationException ignored) {
      // Some file systems cannot open directories; the rename itself is still atomic.
    }
  }
}
