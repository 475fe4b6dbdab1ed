package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.store.AtomicFile;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A file a command writes where the user named it ({@code -o}, {@code --state-out}). Every such
 * command follows one rule: directories missing on the way to it are made, as {@code mkdir -p}
 * would (report always did so; compress, decompress and get refused), and they are removed again
 * when the command fails before the file is written, so a refused input leaves nothing behind.
 *
 * <p>An option given as a directory (one that exists, or a path ending in '/', made if missing)
 * means "into this directory" where the command has a name for the file ({@link #namesDirectory}:
 * get, compress, decompress, as {@code cp} does), and is refused where it has none ({@link
 * #refuseDirectory}: report's page, a loader state), never replaced and never left to the
 * operating system's "Is a directory".
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
      // the directories on the way to the file only, each only while empty, not a tree walk
      // (Stores.deleteTreeQuietly, for a tree one operation made alone): another command may be
      // writing beside this file into a directory both needed, and what it made must stay
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
   * Whether {@code option} was given as a directory: it names one that exists, or it was typed
   * ending in '/' ({@code -o out/}), which its {@link Path} no longer shows.
   */
  static boolean namesDirectory(CommandSpec spec, String option, Path given) {
    if (Files.isDirectory(given)) {
      return true;
    }
    List<String> typed = spec.findOption(option).originalStringValues();
    String last = typed.isEmpty() ? "" : typed.get(typed.size() - 1);
    return last.endsWith("/") || last.endsWith(File.separator);
  }

  /** Refuses {@code option} given as a directory where the command has no name of its own for the file. */
  static void refuseDirectory(CommandSpec spec, String option, Path given, String example) {
    if (namesDirectory(spec, option, given)) {
      throw new InvalidDescriptorException("Invalid " + option + " " + given + File.separator + ": it names a directory;"
          + " give the file to write, e.g. " + option + " " + given.resolve(example));
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
    write(file, target -> {
      AtomicFile.write(target, text);
      return target;
    });
  }

}
