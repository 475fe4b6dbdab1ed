package io.dharmana.dataset.internal;

import io.dharmana.dataset.SourceInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/** Every regular file under a directory is a sample keyed by its relative path, in sorted order. */
final class DirectorySource implements SourceReader {
  static final String FIELD = "file";

  private final Path root;
  private final Iterator<Path> files;
  private long bytes;

  DirectorySource(Path root) throws IOException {
    this.root = root;
    try (Stream<Path> walk = Files.walk(root)) {
      List<Path> list = walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
          .sorted((a, b) -> key(a).compareTo(key(b)))
          .toList();
      files = list.iterator();
    }
  }

  private String key(Path file) {
    return root.relativize(file).toString().replace('\\', '/');
  }

  @Override
  public boolean hasNext() {
    return files.hasNext();
  }

  @Override
  public PackedSample next() {
    if (!files.hasNext()) {
      throw new NoSuchElementException();
    }
    Path file = files.next();
    try {
      byte[] data = Files.readAllBytes(file);
      bytes += data.length;
      return new PackedSample(key(file), List.of(FIELD), List.of(data), null);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public SourceInfo info(long firstSample, long samples) {
    return new SourceInfo(SourceInfo.DIR, root.getFileName() == null ? "" : root.getFileName().toString(), firstSample, samples, bytes, null, 0);
  }

  @Override
  public void close() {}
}
