package io.dharmana.repo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Writers share the repository; garbage collection takes it alone. Held across threads (a
 * read-write lock) and processes (an fcntl lock on {@code meta/lock}, released by the kernel
 * when a process dies, so a killed writer never blocks gc).
 */
final class RepositoryLock implements AutoCloseable {
  /** A held lock; closing releases it. */
  interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  private final FileChannel channel;
  private final ReentrantReadWriteLock local = new ReentrantReadWriteLock();
  private int sharedHolders;
  private FileLock sharedLock;

  RepositoryLock(Path file) {
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open lock " + file + ": " + e.getMessage(), e);
    }
  }

  /** Held by every writer for the length of a put or remove. */
  Hold shared() {
    local.readLock().lock();
    synchronized (this) {
      try {
        if (sharedHolders++ == 0) {
          sharedLock = channel.lock(0, Long.MAX_VALUE, true);
        }
      } catch (IOException e) {
        sharedHolders--;
        local.readLock().unlock();
        throw new UncheckedIOException("Cannot lock repository: " + e.getMessage(), e);
      }
    }
    return () -> {
      synchronized (this) {
        if (--sharedHolders == 0) {
          release(sharedLock);
          sharedLock = null;
        }
      }
      local.readLock().unlock();
    };
  }

  /** Held by garbage collection: no writer runs meanwhile, in this process or another. */
  Hold exclusive() {
    local.writeLock().lock();
    try {
      FileLock lock = channel.lock(0, Long.MAX_VALUE, false);
      return () -> {
        release(lock);
        local.writeLock().unlock();
      };
    } catch (IOException e) {
      local.writeLock().unlock();
      throw new UncheckedIOException("Cannot lock repository for gc: " + e.getMessage(), e);
    }
  }

  private static void release(FileLock lock) {
    try {
      lock.release();
    } catch (IOException e) {
      // the kernel drops the lock with the channel or the process at the latest
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing held can be lost by failing to close a lock file
    }
  }
}
