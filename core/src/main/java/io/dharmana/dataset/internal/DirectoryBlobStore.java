package io.dharmana.dataset.internal;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Keys;
import io.dharmana.store.SupportsListing;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A blob store over a local directory, used by the dataset tools until the shared local store
 * ({@code Stores.local}) is merged; it keeps the {@link BlobStore} contract: a blob is written to
 * a temporary file beside its target, optionally fsynced, and committed by a hard link, which
 * fails if the key exists, so commits are atomic and never replace a blob.
 *
 * <p>Temporary files start with {@value #TEMP_PREFIX} and are never listed; {@link
 * #deleteTemporaryFiles()} removes those left by a crash.
 */
public final class DirectoryBlobStore implements BlobStore, SupportsListing {
  static final String TEMP_PREFIX = ".tmp-";

  private final Path root;
  private final boolean fsync;

  public DirectoryBlobStore(Path root, boolean fsync) {
    this.root = root.toAbsolutePath().normalize();
    this.fsync = fsync;
    try {
      Files.createDirectories(this.root);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create store directory " + root + ": " + e.getMessage(), e);
    }
  }

  public Path root() {
    return root;
  }

  /** The file a key is stored in. */
  public Path path(String key) {
    return root.resolve(Keys.check(key));
  }

  @Override
  public BlobInput open(String key) {
    Path file = path(key);
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      return new FileInput(channel);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot open " + key + ": no such blob in " + root);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public BlobOutput create(String key) {
    Path target = path(key);
    if (Files.exists(target)) {
      throw new AlreadyExistsException("Cannot create " + key + ": already exists in " + root);
    }
    try {
      Files.createDirectories(target.getParent());
      Path temp = target.resolveSibling(TEMP_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
      return new FileOutput(key, target, temp, Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean delete(String key) {
    try {
      return Files.deleteIfExists(path(key));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(path(key));
  }

  @Override
  public boolean durable() {
    return fsync;
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    try (Stream<Path> files = Files.walk(root)) {
      return files
          .filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith(TEMP_PREFIX))
          .map(p -> root.relativize(p).toString().replace('\\', '/'))
          .filter(k -> k.startsWith(prefix))
          .sorted()
          .map(this::info)
          .toList()
          .stream();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + root + ": " + e.getMessage(), e);
    }
  }

  private BlobInfo info(String key) {
    try {
      Path p = root.resolve(key);
      return new BlobInfo(key, Files.size(p), Files.getLastModifiedTime(p).toInstant());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot stat " + key + ": " + e.getMessage(), e);
    }
  }

  /** Removes temporary files a crashed writer left; returns how many. */
  public int deleteTemporaryFiles() {
    try (Stream<Path> files = Files.walk(root)) {
      int n = 0;
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(TEMP_PREFIX)).sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
        n++;
      }
      return n;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot clean " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "DirectoryBlobStore[" + root + "]";
  }

  private static final class FileInput implements BlobInput {
    private final FileChannel channel;
    private final long length;

    FileInput(FileChannel channel) throws IOException {
      this.channel = channel;
      this.length = channel.size();
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      if (position >= length) {
        return -1;
      }
      return channel.read(dst, position);
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  private final class FileOutput extends BlobOutput {
    private final String key;
    private final Path target;
    private final Path temp;
    private final OutputStream out;
    private long written;
    private boolean done;

    FileOutput(String key, Path target, Path temp, OutputStream out) {
      this.key = key;
      this.target = target;
      this.temp = temp;
      this.out = out;
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public long written() {
      return written;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      written++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      written += len;
    }

    @Override
    public void close() throws IOException {
      if (done) {
        return;
      }
      done = true;
      try {
        out.close();
        if (fsync) {
          try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
        try {
          Files.createLink(target, temp);
        } catch (FileAlreadyExistsException e) {
          throw new AlreadyExistsException("Cannot commit " + key + ": already exists in " + root);
        }
        if (fsync) {
          try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
          }
        }
      } finally {
        Files.deleteIfExists(temp);
      }
    }

    @Override
    public void abort() {
      if (done) {
        return;
      }
      done = true;
      try {
        out.close();
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // abort must not throw; a leftover temp file is removed by deleteTemporaryFiles
      }
    }
  }
}
