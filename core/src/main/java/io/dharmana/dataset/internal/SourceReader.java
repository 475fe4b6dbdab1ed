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
   * file (every line is a sample) or a {@code .tar} WebDataset shard (members grouped by key).
   *
   * @throws InvalidDescriptorException naming the path when it is none of these
   */
  static SourceReader open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      return new DirectorySource(path);
    }
    if (!Files.isRegularFile(path)) {
      throw new InvalidDescriptorException("Invalid input " + path + ": no such file or directory");
    }
    String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
      return new JsonLinesSource(path);
    }
    if (name.endsWith(".tar")) {
      return new TarSource(path);
    }
    throw new InvalidDescriptorException(
        "Invalid input " + path + ": expected a directory, a .jsonl file or a .tar (WebDataset) shard");
  }
}
