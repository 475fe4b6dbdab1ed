package io.dharmana.cli;

import io.dharmana.AlreadyExistsException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Held by {@code dataset pack} for the length of a pack into a local directory, so that packs
 * into one directory run one at a time: a pack deletes the shards a pack that did not finish
 * left, and a failed pack the directory it made, which of two packs at once were the other's.
 * An fcntl lock on {@code DIR/.pack.lock} (released by the kernel when the process dies, so a
 * killed pack never blocks the next one); the file is removed when the pack ends.
 */
final class PackLock implements AutoCloseable {
  static final String FILE = ".pack.lock";

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private PackLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of the dataset directory {@code dir}, making the directory if missing.
   *
   * @throws AlreadyExistsException if another pack holds it (exit code 4, a conflict)
   */
  static PackLock take(Path dir) {
    Path file = dir.resolve(FILE);
    FileChannel channel;
    try {
      Files.createDirectories(dir);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot pack into " + dir + ": cannot open " + file + ": " + e.getMessage(), e);
    }
    boolean held = false;
    try {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // a pack of this process holds it
      }
      if (lock == null) {
        throw new AlreadyExistsException("Cannot pack into " + dir + ": another 'dataset pack' is writing there (it holds "
            + file + "); run one pack at a time into a directory");
      }
      held = true;
      return new PackLock(file, channel, lock);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot pack into " + dir + ": cannot lock " + file + ": " + e.getMessage(), e);
    } finally {
      if (!held) {
        closeQuietly(channel);
      }
    }
  }

  /** Removes the lock file, then releases the lock: a pack that opens it afterwards finds the dataset committed or not. */
  @Override
  public void close() {
    try {
      Files.deleteIfExists(file);
      lock.release();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot release " + file + ": " + e.getMessage(), e);
    } finally {
      closeQuietly(channel);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel == null) {
      return;
    }
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing was written through it
    }
  }
}
