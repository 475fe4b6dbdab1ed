package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * A lock held as one blob of a store, for writers that share nothing but the store: two packs
 * into one {@code s3://} prefix from two machines. Taken by creating the blob, which every store
 * must refuse when the key exists (on S3 a {@code PutObject} with {@code If-None-Match: *}, so
 * the server decides which of two racing takers wins; never check-then-put). The blob says who
 * holds the lock: process id, host and since when.
 *
 * <p>Released by deleting the blob at {@link #close()}. A holder that dies (kill -9, a lost
 * machine) leaves the blob behind, and nothing can tell such a stale lock from a live one by
 * looking at the store: the lock must then be broken by hand ({@link #breakLock}), once the
 * holder is known to be gone.
 */
public final class StoreLock implements AutoCloseable {
  private final BlobStore store;
  private final String key;
  private boolean released;

  private StoreLock(BlobStore store, String key) {
    this.store = store;
    this.key = key;
  }

  /**
   * Takes the lock {@code key} of {@code store}.
   *
   * @param what what the lock is taken for, as the error's "Cannot ..." ("pack into s3://b/ds")
   * @param lockName the lock as the user knows it, for the error ({@code s3://b/ds/.pack.lock})
   * @param recovery what to do if the holder is gone, for the error
   * @throws AlreadyExistsException if another holder has it, naming the lock, the holder and
   *     {@code recovery}
   */
  public static StoreLock take(BlobStore store, String key, String what, String lockName, String recovery) {
    Objects.requireNonNull(store, "store");
    Keys.check(key);
    try {
      store.write(key, holderOfThisProcess().getBytes(StandardCharsets.UTF_8));
      return new StoreLock(store, key);
    } catch (AlreadyExistsException held) {
      String holder;
      try {
        holder = "held by " + new String(store.read(key), StandardCharsets.UTF_8).strip();
      } catch (NotFoundException released) {
        holder = "held until just now, released meanwhile";
      }
      throw new AlreadyExistsException("Cannot " + what + ": " + lockName + " is " + holder + "; " + recovery, held);
    }
  }

  /** Removes the lock {@code key} whoever holds it; returns whether there was one. */
  public static boolean breakLock(BlobStore store, String key) {
    return store.delete(Keys.check(key));
  }

  /** Who holds a lock this process takes: {@code pid 4711 on host gpu-3, since 2026-11-25T04:10:00Z}. */
  static String holderOfThisProcess() {
    String host;
    try {
      host = "host " + java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "an unknown host";
    }
    return "pid " + ProcessHandle.current().pid() + " on " + host + ", since "
        + Instant.now().truncatedTo(ChronoUnit.SECONDS);
  }

  /** Releases the lock by deleting its blob; idempotent. */
  @Override
  public void close() {
    if (!released) {
      released = true;
      store.delete(key);
    }
  }
}
