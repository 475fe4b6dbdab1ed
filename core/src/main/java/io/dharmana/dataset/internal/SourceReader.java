package io.dharmana.dataset.internal;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.dataset.SourceInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;

/**
 * Reads the samples of one pack input in order. After the last sample, {@link #info} describes
 * the source for the dataset index (with what unpacking needs, such as a tar's trailer).
 */
public interface SourceReader extends Iterator<PackedSample>, AutoCloseable {

  /** The source's entry in the index; valid once {@link #hasNext()} returned false. */
  SourceInfo info(long firstSample, long samples);

  @Override
  void close() throws IOException;

  /**
   * Opens a directory (every regular file is a sample, in sorted path order), a {@code .jsonl}
   * file (every line is a sample; a named pipe too) or a {@code .tar} WebDataset shard (members
   * grouped by key).
   *
   * @throws InvalidDescriptorException naming the path when it is none of these
   */
  static SourceReader open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      return new DirectorySource(path);
    }
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    boolean jsonLines = name.endsWith(".jsonl") || name.endsWith(".ndjson");
    if (!Files.isRegularFile(path)) {
      if (!Files.exists(path)) {
        throw new InvalidDescriptorException("Invalid input " + path + ": no such file or directory");
      }
      String kind = specialFileKind(path);
      boolean pipe = kind.startsWith("a named pipe");
      if (pipe && jsonLines) {
        return new JsonLinesSource(path); // read once, front to back, as a file is
      }
      throw new InvalidDescriptorException("Invalid input " + path + ": it is " + kind + "; allowed are a directory, a .jsonl file"
          + " or a .tar (WebDataset) shard" + (pipe
              ? ", and from a pipe JSON Lines only (a .tar is read with seeks), named .jsonl or .ndjson"
              : ", as a regular file"));
    }
    if (jsonLines) {
      return new JsonLinesSource(path);
    }
    if (name.endsWith(".tar")) {
      return new TarSource(path);
    }
    throw new InvalidDescriptorException(
        "Invalid input " + path + ": expected a directory, a .jsonl file or a .tar (WebDataset) shard");
  }

  /** What a path that is neither a directory nor a regular file is: "a named pipe (FIFO)", "a socket", ... */
  private static String specialFileKind(Path path) {
    try {
      int type = (Integer) Files.getAttribute(path, "unix:mode") & 0170000;
      switch (type) {
        case 0010000: return "a named pipe (FIFO)";
        case 0140000: return "a socket";
        case 0020000: return "a character device";
        case 0060000: return "a block device";
        default: break;
      }
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      // no unix attributes here: said generally below
    }
    return "not a regular file";
  }
}
