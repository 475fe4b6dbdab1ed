package io.dharmana.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Files that appear whole or not at all: written to a temporary file beside the target (named
 * uniquely, so that processes and threads writing one target at once do not share it, and created
 * with the umask's mode), forced to disk, renamed over the target, and the directory forced. A
 * crash leaves the old file or the new one, and at worst a hidden {@code .NAME.*.tmp} beside it.
 * Used for every file Dharmana writes where it is told (safetensors, {@code .dhz}, command
 * outputs) and for a repository's small metadata files.
 */
public final class AtomicFile {
  private AtomicFile() {}

  /** The body of an atomic write: writes the file's content to {@code channel}. */
  @FunctionalInterface
  public interface ChannelWriter {
    void writeTo(FileChannel channel) throws IOException;
  }

  /**
   * Runs {@code writer} on a temporary file beside {@code path}, forces it, and atomically moves it
   * to {@code path}; the temporary file is deleted on failure. A {@code path} that exists and is
   * not a regular file (a device) is written in place.
   */
  public static void write(Path path, ChannelWriter writer) {
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
  /** Writes {@code text} (UTF-8) to {@code path} atomically, as {@link #write(Path, ChannelWriter)}. */
  public static void write(Path path, String text) {
    ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    write(path, channel -> {
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
    });
  }
}
