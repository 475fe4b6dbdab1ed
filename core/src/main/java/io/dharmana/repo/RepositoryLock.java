package io.dharmana.repo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Writers share the repository; garbage collection takes it alone. Held across threads (a
 * read-write lock) and processes (an fcntl lock on {@code meta/lock}, released by the kernel
 * when a process dies, so a killed writer never blocks gc).
 *
 * <p>Every instance of one JVM on one lock file shares one {@link LockFile}, whatever the path's
 * spelling: fcntl locks belong to the process, so the JDK refuses a second lock a process takes on
 * a file it already holds ({@code OverlappingFileLockException}) instead of waiting, and closing
 * any channel on the file drops every lock the process holds on it. So one channel per file and JVM
 * takes the fcntl locks, and the threads of all instances queue on its read-write lock. A hold must
 * be released by the thread that took it.
 */
final class RepositoryLock implements AutoCloseable {
  /** A held lock; closing releases it. */
  interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  /** The lock files this JVM has open, by real path (two spellings of one directory are one file). */
  private static final Map<Path, LockFile> OPEN = new HashMap<>(); // guarded by itself

  private final LockFile file;
  private final AtomicBoolean closed = new AtomicBoolean();

  RepositoryLock(Path file) {
    this.file = LockFile.open(file);
  }

  /** Held by every writer for the length of a put or remove. */
  Hold shared() {
    LockFile f = retain();
    f.local.readLock().lock();
    boolean held = false;
    try {
      synchronized (f) {
        if (f.sharedHolders == 0) {
          f.sharedLock = lock(f, true);
        }
        f.sharedHolders++;
      }
      held = true;
    } catch (IOException e) {
      throw cannot("lock repository", e);
    } finally {
      if (!held) {
        f.local.readLock().unlock();
        f.release();
      }
    }
    return () -> {
      synchronized (f) {
        if (--f.sharedHolders == 0) {
          unlock(f.sharedLock);
          f.sharedLock = null;
        }
      }
      f.local.readLock().unlock();
      f.release();
    };
  }

  /** Held by garbage collection: no writer runs meanwhile, in this process or another. */
  Hold exclusive() {
    LockFile f = retain();
    f.local.writeLock().lock();
    boolean held = false;
    try {
      FileLock lock = lock(f, false);
      held = true;
      return () -> {
        unlock(lock);
        f.local.writeLock().unlock();
        f.release();
      };
    } catch (IOException e) {
      throw cannot("lock repository for gc", e);
    } finally {
      if (!held) {
        f.local.writeLock().unlock();
        f.release();
      }
    }
  }

  /** A hold counts as a user of the file: the last instance closed mid-put keeps the lock until the put ends. */
  private LockFile retain() {
    if (closed.get() || !file.retain()) {
      throw new IllegalStateException("Cannot lock repository: its lock " + file.path + " is closed");
    }
    return file;
  }

  /**
   * Takes the fcntl lock, waiting while another process holds it. Only the thread taking a lock
   * uses the channel meanwhile (writers queue on the monitor, gc holds the write lock), and no lock
   * is held through it then: so a channel an interrupt closed (a {@link FileChannel} is
   * interruptible) dropped nothing, and is replaced here for every instance sharing it.
   */
  private static FileLock lock(LockFile f, boolean shared) throws IOException {
    if (!f.channel.isOpen()) {
      f.channel = FileChannel.open(f.path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
    return f.channel.lock(0, Long.MAX_VALUE, shared);
  }

  private static UncheckedIOException cannot(String what, IOException e) {
    String why = e instanceof FileLockInterruptionException ? "interrupted while waiting for another process" : e.getMessage();
    return new UncheckedIOException("Cannot " + what + ": " + why, e);
  }

  private static void unlock(FileLock lock) {
    try {
      lock.release();
    } catch (IOException e) {
      // the kernel drops the lock with the channel or the process at the latest
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      file.release();
    }
  }

  /** One lock file of this JVM, shared by every {@link RepositoryLock} on it. */
  private static final class LockFile {
    final Path path;
    volatile FileChannel channel; // replaced after an interrupt closed it, see lock
    /** Orders the threads of this JVM: writers share it, gc takes it alone. */
    final ReentrantReadWriteLock local = new ReentrantReadWriteLock();
    /** Open instances plus holds not yet released; once 0 the file is dead and never used again. */
    private final AtomicInteger users = new AtomicInteger(1);
    int sharedHolders; // guarded by this
    FileLock sharedLock; // guarded by this

    private LockFile(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
    }

    static LockFile open(Path file) {
      synchronized (OPEN) {
        Path path;
        try {
          // the directory's real path, not the file's: nothing may open the lock file itself
          path = file.toAbsolutePath().getParent().toRealPath().resolve(file.getFileName());
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot open lock " + file + ": " + e.getMessage(), e);
        }
        LockFile f = OPEN.get(path);
        if (f != null && f.retain()) {
          return f;
        }
        if (f != null) {
          // dead but its last user has not closed it yet: closed before a new channel takes locks
          OPEN.remove(path);
          f.closeChannel();
        }
        try {
          f = new LockFile(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE));
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot open lock " + file + ": " + e.getMessage(), e);
        }
        OPEN.put(path, f);
        return f;
      }
    }

    /** Adds a user unless the file is dead. */
    boolean retain() {
      for (int n = users.get(); n > 0; n = users.get()) {
        if (users.compareAndSet(n, n + 1)) {
          return true;
        }
      }
      return false;
    }

    void release() {
      if (users.decrementAndGet() == 0) {
        // under OPEN, as every channel on the file is opened: closing this one while another
        // channel of this JVM held a lock on the file would drop that lock
        synchronized (OPEN) {
          OPEN.remove(path, this);
          closeChannel();
        }
      }
    }

    private void closeChannel() {
      try {
        channel.close(); // closing it again (its dead entry closed by open meanwhile) does nothing
      } catch (IOException e) {
        // nothing held can be lost by failing to close a lock file
      }
    }
  }
}
