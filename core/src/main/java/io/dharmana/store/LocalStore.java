package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Blobs as files under a directory, each at its key's path.
 *
 * <p>A blob is written to a uniquely named file under {@code .tmp/}, flushed to the device, then
 * committed with a hard link to its final name. {@code link(2)} fails if the name exists, so of
 * several writers (threads or processes) exactly one wins, and a reader never sees a partly
 * written blob. The parent directory is flushed after the link so that the new name survives a
 * machine crash too (one flush serves the commits that linked into it meanwhile, see {@link
 * GroupFlush}). Temporary files left by crashed writers are never listed or read and are
 * removed on open once they are older than {@link #STALE_TEMP_AGE}.
 *
 * <p>Limits of the file system mapping: a key cannot be both a blob and a prefix directory of
 * another blob ({@code a} and {@code a/b}): the second commit fails with an IOException. Keys whose
 * first segment is {@code .tmp} are refused.
 */
final class LocalStore implements BlobStore, SupportsListing, SupportsTouch, SupportsFileCommit {
  static final String TEMP_DIR = ".tmp";
  static final Duration STALE_TEMP_AGE = Duration.ofHours(1);
  private static final int BUFFER_SIZE = 64 * 1024;
  /**
   * What a file is written in once it grows past {@link #BUFFER_SIZE}: whole pieces of this size at
   * offsets that are multiples of it. The kernel caches a file in folios no larger than the writes
   * that first filled them (ext4 and XFS cache large folios), and a file cached in 2 MiB folios is
   * mapped by a reader (dataset shards, packs) with one page-table entry per 2 MiB instead of 512:
   * a fresh process's first read of a 2 GiB dataset through mappings took ~2.5 ms of CPU per
   * 22 MB batch when the shards were written in 64 KiB pieces, ~0.9 ms in 2 MiB pieces (as
   * much as its later reads).
   */
  static final int ALIGNED_WRITE = 2 << 20;
  /** Outputs that may hold an {@link #ALIGNED_WRITE} buffer at once; the others write as small files do. */
  private static final int ALIGNED_BUFFERS = 32;
  private static final ConcurrentLinkedDeque<ByteBuffer> FREE_ALIGNED = new ConcurrentLinkedDeque<>();
  private static final AtomicInteger ALIGNED_IN_USE = new AtomicInteger();
  private static final int COMMIT_ATTEMPTS = 8;

  /** Directories whose flushes are shared at most (one entry per directory a blob was linked into). */
  private static final int MAX_DIRECTORY_FLUSHES = 4096;

  private final Path root;
  private final Path temp;
  private final boolean fsync;
  private final Clock clock;
  private final java.util.concurrent.ConcurrentHashMap<Path, GroupFlush> directoryFlushes =
      new java.util.concurrent.ConcurrentHashMap<>();

  LocalStore(Path root, boolean fsync, Clock clock) {
    this.root = root.toAbsolutePath().normalize();
    this.temp = this.root.resolve(TEMP_DIR);
    this.fsync = fsync;
    this.clock = clock;
    try {
      Files.createDirectories(temp);
      removeStaleTemporaries();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open local store " + this.root + ": " + e.getMessage(), e);
    }
  }

  private void removeStaleTemporaries() throws IOException {
    Instant cutoff = clock.instant().minus(STALE_TEMP_AGE);
    try (Stream<Path> files = Files.list(temp)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        try {
          if (Files.getLastModifiedTime(file).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(file);
          }
        } catch (NoSuchFileException e) {
          // Another process cleaned it first.
        }
      }
    }
  }

  private Path path(String key) {
    Keys.check(key);
    if (key.equals(TEMP_DIR) || key.startsWith(TEMP_DIR + "/")) {
      throw new IllegalArgumentException(
          "Invalid key '" + key + "': the first segment '" + TEMP_DIR + "' is reserved by the local store");
    }
    return root.resolve(key);
  }

  @Override
  public BlobInput open(String key) {
    Path file = path(key);
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      try {
        if (!Files.isRegularFile(file)) {
          throw new NoSuchFileException(file.toString());
        }
        return new FileInput(channel, channel.size());
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot open " + key + ": no such blob in " + root, e);
    } catch (IOException e) {
      if (Files.isDirectory(file)) {
        throw new NotFoundException("Cannot open " + key + ": no such blob in " + root + " (it is a prefix)", e);
      }
      throw new UncheckedIOException("Cannot open " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public BlobOutput create(String key) {
    Path target = path(key);
    try {
      Path file = temp.resolve(UUID.randomUUID() + ".part");
      FileChannel channel =
          FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      return new FileOutput(key, target, file, channel);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean delete(String key) {
    Path file = path(key);
    if (!Files.isRegularFile(file)) {
      return false;
    }
    boolean deleted;
    try {
      deleted = Files.deleteIfExists(file);
    } catch (DirectoryNotEmptyException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + key + " in " + root + ": " + e.getMessage(), e);
    }
    if (deleted) {
      removeEmptyDirectories(file.getParent());
    }
    return deleted;
  }

  /**
   * Removes {@code directory} and its parents below the root while they are empty, deepest first:
   * else a packed tier's {@code dead/<pack>/...}, whose marks a repack deletes with the pack, and
   * the folders of deleted chunks stay behind, empty, for ever. Removing a directory fails unless
   * it is empty, so one a concurrent writer has put a blob into stays; a writer whose directory
   * goes between creating it and linking into it creates it again ({@link #createDirectories},
   * {@link #linkUnflushed}, {@link #writeMarkers}). Best effort: an empty directory left costs
   * nothing but a name.
   */
  private void removeEmptyDirectories(Path directory) {
    for (Path d = directory; d != null && d.startsWith(root) && !d.equals(root) && !d.equals(temp); d = d.getParent()) {
      try {
        Files.delete(d);
      } catch (IOException notEmptyOrGone) {
        return;
      }
    }
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(path(key));
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    // Walking directories in name order is not key order ("a-b" sorts before "a/b" but the
    // directory "a" sorts before the file "a-b"), so keys are collected and sorted.
    Path start = root;
    int slash = prefix.lastIndexOf('/');
    if (slash > 0) {
      String directory = prefix.substring(0, slash);
      try {
        start = path(directory);
      } catch (IllegalArgumentException e) {
        return Stream.empty(); // no valid key starts with an invalid path
      }
    }
    if (!Files.isDirectory(start)) {
      return Stream.empty();
    }
    List<BlobInfo> found = new ArrayList<>();
    try {
      Files.walkFileTree(
          start,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              return dir.equals(temp) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (attrs.isRegularFile()) {
                String key = keyOf(file);
                if (key.startsWith(prefix)) {
                  found.add(new BlobInfo(key, attrs.size(), attrs.lastModifiedTime().toInstant()));
                }
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
              if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE; // deleted while walking
              }
              throw e;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list '" + prefix + "' in " + root + ": " + e.getMessage(), e);
    }
    found.sort(Comparator.comparing(BlobInfo::key));
    return found.stream();
  }

  private String keyOf(Path file) {
    String relative = root.relativize(file).toString();
    return file.getFileSystem().getSeparator().equals("/")
        ? relative
        : relative.replace(file.getFileSystem().getSeparator(), "/");
  }

  @Override
  public boolean touch(String key) {
    Path file = path(key);
    if (!Files.isRegularFile(file)) {
      return false;
    }
    try {
      Files.setLastModifiedTime(file, FileTime.from(clock.instant()));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot touch " + key + " in " + root + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean durable() {
    return fsync;
  }

  @Override
  public void close() {
    // Nothing is held open between calls: inputs and outputs own their channels.
  }

  @Override
  public String toString() {
    return "local:" + root;
  }

  private static void forceDirectory(Path directory) throws IOException {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (NoSuchFileException gone) {
      // removed once empty (removeEmptyDirectories): what was linked into it has been deleted since,
      // and a writer still needing it finds it missing and creates it again
    }
  }

  /**
   * Makes {@code file} visible as {@code key} atomically with a hard link, which fails if the key
   * exists (so of racing writers exactly one wins, across processes too), then flushes the
   * directory entry.
   */
  private void link(String key, Path target, Path file) throws IOException {
    linkUnflushed(key, target, file);
    if (fsync) {
      flushDirectory(target.getParent());
    }
  }

  /** As {@link #link}, leaving the directory unflushed. */
  private void linkUnflushed(String key, Path target, Path file) throws IOException {
    Path parent = target.getParent();
    for (int attempt = 1; ; attempt++) {
      createDirectories(parent);
      try {
        Files.createLink(target, file);
        break;
      } catch (FileAlreadyExistsException e) {
        if (Files.isDirectory(target)) {
          throw new IOException(
              "Cannot commit " + key + ": it is already a prefix of other blobs, so it cannot also be a blob", e);
        }
        throw new AlreadyExistsException("Cannot commit " + key + ": a blob with this key already exists in " + root, e);
      } catch (NoSuchFileException e) {
        // A concurrent cleanup removed a directory between creating and linking; try again.
        if (attempt == COMMIT_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  /**
   * Flushes a directory after a link into it, shared with the commits linking into it at the
   * same time (concurrent gateway PUTs name their refs in one directory): each returns only after
   * a flush that started after its link, and one flush covers all that linked before it started.
   */
  private void flushDirectory(Path directory) throws IOException {
    if (directoryFlushes.size() >= MAX_DIRECTORY_FLUSHES) {
      // a flush in use stays valid for its callers; later ones share a new one
      directoryFlushes.clear();
    }
    directoryFlushes.computeIfAbsent(directory, d -> new GroupFlush())
        .flush(() -> forceDirectory(directory), "flush directory " + directory);
  }

  /**
   * Links the file into place when it is on this store's file system and holds exactly {@code
   * size} bytes; otherwise copies it through {@link #create}.
   */
  @Override
  public void commitFile(String key, Path file, long size) throws IOException {
    commitFile(key, file, size, true);
  }

  /** Links the file into place without flushing its directory: the next commit into it does. */
  @Override
  public void commitFileNamedByNext(String key, Path file, long size) throws IOException {
    commitFile(key, file, size, false);
  }

  private void commitFile(String key, Path file, long size, boolean flushName) throws IOException {
    Path target = path(key);
    if (Files.size(file) == size) {
      if (fsync) {
        try (FileChannel channel = FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
          channel.force(true);
        }
      }
      try {
        if (flushName) {
          link(key, target, file);
        } else {
          linkUnflushed(key, target, file);
        }
        return;
      } catch (java.nio.file.FileSystemException crossDevice) {
        if (crossDevice instanceof FileAlreadyExistsException || crossDevice instanceof NoSuchFileException) {
          throw crossDevice;
        }
        // another file system: copy below
      }
    }
    BlobOutput out = create(key);
    try (java.io.InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 20];
      long left = size;
      while (left > 0) {
        int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
        if (n < 0) {
          throw new java.io.EOFException("Cannot commit " + key + ": " + file + " is shorter than " + size + " bytes");
        }
        out.write(buffer, 0, n);
        left -= n;
      }
      out.close();
    } catch (IOException | RuntimeException e) {
      out.abort();
      throw e;
    }
  }

  /** Creates the missing directories up to {@code directory}, flushing each new entry's parent. */
  private void createDirectories(Path directory) throws IOException {
    createDirectories(directory, null);
  }

  /**
   * Creates {@code directory} and its missing parents, each flushed into its parent at once, or,
   * with {@code unflushed} given, left for the caller to flush: the parents go into that set.
   */
  private void createDirectories(Path directory, Set<Path> unflushed) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        createMissingDirectories(directory, unflushed);
        return;
      } catch (NoSuchFileException e) {
        // a concurrent delete removed a parent as it went empty (removeEmptyDirectories): walk again
        if (attempt == COMMIT_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  private void createMissingDirectories(Path directory, Set<Path> unflushed) throws IOException {
    List<Path> missing = new ArrayList<>();
    for (Path d = directory; d != null && !d.equals(root) && !Files.isDirectory(d); d = d.getParent()) {
      missing.add(0, d);
    }
    for (Path d : missing) {
      try {
        Files.createDirectory(d);
      } catch (FileAlreadyExistsException e) {
        // one look, not two: between two, another writer's directory may go empty and be removed
        // and come back; gone now (NoSuchFileException), it is made again by walking again
        if (Files.readAttributes(d, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).isDirectory()) {
          continue;
        }
        throw new IOException(
            "Cannot create directory " + d + ": a blob holds that name, so it cannot also be a key prefix", e);
      }
      if (unflushed != null) {
        unflushed.add(d.getParent());
      } else if (fsync) {
        forceDirectory(d.getParent());
      }
    }
  }

  /**
   * Creates each marker in place (empty, so there is nothing half-written to hide behind a link)
   * and flushes each directory that gained an entry once for all of them. One gc marks thousands
   * of deleted chunks; written one at a time, each took a sync of its file and one of its
   * directory (~2 ms).
   */
  @Override
  public void writeMarkers(Collection<String> keys) {
    Set<Path> changed = new LinkedHashSet<>();
    try {
      for (String key : keys) {
        Path target = path(key);
        for (int attempt = 1; ; attempt++) {
          createDirectories(target.getParent(), changed);
          try {
            Files.createFile(target);
            changed.add(target.getParent());
          } catch (FileAlreadyExistsException e) {
            if (Files.isDirectory(target)) {
              throw new IOException("Cannot commit " + key + ": it is already a prefix of other blobs, so it cannot also be a blob", e);
            }
            // written before: a marker's content is its key
          } catch (NoSuchFileException e) {
            // a concurrent cleanup removed the directory just created, as in linkUnflushed
            if (attempt < COMMIT_ATTEMPTS) {
              continue;
            }
            throw e;
          }
          break;
        }
      }
      if (fsync) {
        for (Path directory : changed) {
          forceDirectory(directory);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + keys.size() + " markers in " + root + ": " + e.getMessage(), e);
    }
  }

  private static final class FileInput implements BlobInput, SupportsMapping {
    private final FileChannel channel;
    private final long length;

    FileInput(FileChannel channel, long length) {
      this.channel = channel;
      this.length = length;
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      if (position < 0) {
        throw new IllegalArgumentException("Invalid read position " + position + ": must be >= 0");
      }
      if (position >= length) {
        return dst.hasRemaining() ? -1 : 0;
      }
      return channel.read(dst, position);
    }

    @Override
    public ByteBuffer map(long position, long size) throws IOException {
      if (position < 0 || size < 0 || size > Integer.MAX_VALUE || position > length - size) {
        throw new IllegalArgumentException(
            "Invalid mapping of " + size + " bytes at " + position + ": the blob has " + length + " bytes (at most 2 GiB per mapping)");
      }
      // a mapping outlives its channel; the file is immutable once committed, so the view never changes
      return channel.map(FileChannel.MapMode.READ_ONLY, position, size);
    }

    /** The file's size now (one fstat): shorter than {@link #length()} if it was cut short since it was opened. */
    @Override
    public long currentLength() throws IOException {
      return channel.size();
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  /** A direct buffer of {@link #ALIGNED_WRITE} bytes, or null when {@link #ALIGNED_BUFFERS} are in use. */
  private static ByteBuffer takeAligned() {
    if (ALIGNED_IN_USE.incrementAndGet() > ALIGNED_BUFFERS) {
      ALIGNED_IN_USE.decrementAndGet();
      return null;
    }
    ByteBuffer b = FREE_ALIGNED.pollFirst();
    return b != null ? b.clear() : ByteBuffer.allocateDirect(ALIGNED_WRITE);
  }

  /** Aligned write buffers held by open outputs now. */
  static int alignedBuffersInUse() {
    return ALIGNED_IN_USE.get();
  }

  private static void giveAligned(ByteBuffer b) {
    FREE_ALIGNED.addFirst(b);
    ALIGNED_IN_USE.decrementAndGet();
  }

  private final class FileOutput extends BlobOutput {
    private final String key;
    private final Path target;
    private final Path file;
    private final FileChannel channel;
    // small until the blob outgrows it, then an ALIGNED_WRITE one when one is free
    private ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE);
    private boolean aligned;
    private long written;
    private boolean done;

    FileOutput(String key, Path target, Path file, FileChannel channel) {
      this.key = key;
      this.target = target;
      this.file = file;
      this.channel = channel;
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public synchronized long written() {
      return written;
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      if (done) {
        throw new IOException("Cannot write to " + key + ": the output is already closed or aborted");
      }
      Objects.checkFromIndexSize(off, len, b.length);
      if (!aligned && len > buffer.remaining()) {
        ByteBuffer large = takeAligned();
        if (large != null) {
          // every write from here on is a whole ALIGNED_WRITE at a multiple of it, but the last
          aligned = true;
          buffer = large.put(buffer.flip());
        } else if (len >= BUFFER_SIZE) {
          drain();
          ByteBuffer src = ByteBuffer.wrap(b, off, len);
          while (src.hasRemaining()) {
            channel.write(src);
          }
          written += len;
          return;
        }
      }
      int at = off;
      int left = len;
      while (left > 0) {
        if (!buffer.hasRemaining()) {
          drain();
        }
        int n = Math.min(left, buffer.remaining());
        buffer.put(b, at, n);
        at += n;
        left -= n;
      }
      written += len;
    }

    private void drain() throws IOException {
      buffer.flip();
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      buffer.clear();
    }

    /** Gives the aligned buffer back; the output writes no more. */
    private void release() {
      if (aligned) {
        aligned = false;
        giveAligned(buffer);
        buffer = null;
      }
    }

    @Override
    public synchronized void close() throws IOException {
      if (done) {
        return;
      }
      done = true;
      try {
        drain();
        release();
        if (fsync) {
          channel.force(true);
        }
        channel.close();
        commit();
      } finally {
        discard();
      }
    }

    private void commit() throws IOException {
      link(key, target, file);
    }

    private void discard() {
      release();
      try {
        channel.close();
      } catch (IOException e) {
        // The temporary file is deleted below; a failed close has nothing left to lose.
      }
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // A leftover temporary is never read and is removed by a later open.
      }
    }

    @Override
    public synchronized void abort() {
      if (done) {
        return;
      }
      done = true;
      discard();
    }
  }
}
