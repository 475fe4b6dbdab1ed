package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.tensor.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * A file a command writes where the user named it ({@code -o}, {@code --state-out}). Every such
 * command follows one rule: directories missing on the way to it are made, as {@code mkdir -p}
 * would (report always did so; compress, decompress and get refused), and they are removed again
 * when the command fails before the file is written, so a refused input leaves nothing behind.
 */
final class OutputFile {
  private OutputFile() {}

  /**
   * Runs {@code write} on {@code file} once the directories it lies in exist; when it fails, the
   * directories made for it are removed again where they are still empty.
   */
  static <T> T write(Path file, Function<Path, T> write) {
    Path parent = file.toAbsolutePath().getParent();
    Path topmostMissing = null;
    for (Path p = parent; p != null && !Files.exists(p); p = p.getParent()) {
      topmostMissing = p;
    }
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      // Main.message appends the reason ("Permission denied", "Not a directory")
      throw new UncheckedIOException("Cannot write " + file + ": cannot create directory " + parent, e);
    }
    try {
      return write.apply(file);
    } catch (RuntimeException | Error e) {
      for (Path p = parent; topmostMissing != null && p != null && p.startsWith(topmostMissing); p = p.getParent()) {
        try {
          Files.delete(p);
        } catch (IOException notEmptyOrGone) {
          break; // another process writes there too: it stays
        }
      }
      throw e;
    }
  }

  /**
   * Refuses now, before a long run, a {@code file} that could not be written at its end: one whose
   * nearest existing ancestor is a file, or a directory this process may not write into.
   */
  static void checkWritable(Path file, String option) {
    Path ancestor = file.toAbsolutePath().getParent();
    while (ancestor != null && !Files.exists(ancestor)) {
      ancestor = ancestor.getParent();
    }
    if (ancestor != null && !Files.isDirectory(ancestor)) {
      throw new InvalidDescriptorException("Cannot write " + option + " " + file + ": " + ancestor + " is a file, not a directory");
    }
    if (ancestor != null && !Files.isWritable(ancestor)) {
      throw new UncheckedIOException("Cannot write " + option + " " + file + ": permission denied to create files in " + ancestor,
          new java.nio.file.AccessDeniedException(ancestor.toString()));
    }
  }

  /**
   * Writes {@code text} to {@code file} through a temporary file beside it, forced to disk and
   * renamed over it: a crash leaves the previous file or the new one, never half of either.
   */
  static void writeAtomically(Path file, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    write(file, target -> {
      SafetensorsWriter.writeAtomically(target, channel -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      });
      return target;
    });
  }
}
