package io.dharmana.store;

import java.io.Flushable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The store of a tier that could not be opened (its object store's endpoint unreachable), put in
 * its place so that the tiers that did open stay usable. Every call first retries the open, at
 * most once per back-off (1 s, doubling to 30 s) and by one caller at a time; until an open
 * succeeds, calls fail fast with an {@link UncheckedIOException} that names the tier and the last
 * cause. Once open, every call goes to the opened store, which this store owns and closes.
 *
 * <p>Nothing is ever written through an unopened store, so {@link #flush()} has nothing to make
 * durable until it opened. Thread-safe.
 */
final class ReopeningStore implements BlobStore, SupportsListing, SupportsTouch, Flushable {
  static final long FIRST_BACKOFF_NANOS = 1_000_000_000L;
  static final long MAX_BACKOFF_NANOS = 30_000_000_000L;
  private static final System.Logger LOG = System.getLogger(ReopeningStore.class.getName());

  private final String tier;
  private final Supplier<BlobStore> opener;
  private final LongSupplier nanoTime;
  private final ReentrantLock opening = new ReentrantLock();
  private volatile BlobStore opened;
  private volatile UncheckedIOException lastFailure;
  private volatile long nextAttempt;
  private long backoff = FIRST_BACKOFF_NANOS;
  private volatile boolean closed;

  /**
   * @param tier names the tier in messages, e.g. {@code bucket (s3://ml/run-7)}
   * @param opener opens the tier's store; throws {@link UncheckedIOException} while it cannot
   * @param failure why the first open failed
   */
  ReopeningStore(String tier, Supplier<BlobStore> opener, UncheckedIOException failure, LongSupplier nanoTime) {
    this.tier = Objects.requireNonNull(tier, "tier");
    this.opener = Objects.requireNonNull(opener, "opener");
    this.lastFailure = Objects.requireNonNull(failure, "failure");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    this.nextAttempt = nanoTime.getAsLong() + backoff;
  }

  /** The opened store, or null while the tier has not been opened. Never tries to open. */
  BlobStore openedOrNull() {
    return opened;
  }

  /** Why the last open failed, or null once the tier is open. */
  UncheckedIOException failure() {
    return opened == null ? lastFailure : null;
  }

  /**
   * The opened store, opening it first if its back-off has passed.
   *
   * @throws UncheckedIOException naming the tier and the last cause while it cannot be opened
   */
  BlobStore store(String action) {
    BlobStore store = opened;
    if (store != null) {
      return store;
    }
    if (closed) {
      throw new IllegalStateException("Cannot " + action + " on tier " + tier + ": the store is closed");
    }
    // one caller tries; the others fail at once rather than queue behind a slow connect
    if (nanoTime.getAsLong() - nextAttempt >= 0 && opening.tryLock()) {
      try {
        if (opened == null && nanoTime.getAsLong() - nextAttempt >= 0) {
          tryOpen();
        }
      } finally {
        opening.unlock();
      }
    }
    store = opened;
    if (store != null) {
      return store;
    }
    IOException cause = lastFailure.getCause();
    throw new UncheckedIOException("Cannot " + action + " on tier " + tier + ": the tier cannot be opened: "
        + (cause.getMessage() != null ? cause.getMessage() : cause), cause);
  }

  private void tryOpen() {
    BlobStore store;
    try {
      store = opener.get();
    } catch (UncheckedIOException e) {
      lastFailure = e;
      backoff = Math.min(MAX_BACKOFF_NANOS, backoff * 2);
      nextAttempt = nanoTime.getAsLong() + backoff;
      return;
    }
    opened = store;
    if (closed) {
      close(); // closed while this open ran: the store just opened must not leak
      return;
    }
    LOG.log(System.Logger.Level.INFO, "Opened tier " + tier + " after it could not be opened");
  }

  @Override
  public BlobInput open(String key) {
    return store("open " + key).open(key);
  }

  @Override
  public java.nio.ByteBuffer readBuffer(String key) {
    return store("read " + key).readBuffer(key);
  }

  @Override
  public byte[] read(String key) {
    return store("read " + key).read(key);
  }

  @Override
  public BlobOutput create(String key) {
    return store("create " + key).create(key);
  }

  @Override
  public void write(String key, byte[] bytes) {
    store("create " + key).write(key, bytes);
  }

  @Override
  public void writeMarkers(java.util.Collection<String> keys) {
    store("write markers on").writeMarkers(keys); // the opened store's batched form, not one write each
  }

  @Override
  public boolean delete(String key) {
    return store("delete " + key).delete(key);
  }

  @Override
  public boolean exists(String key) {
    return store("look up " + key).exists(key);
  }

  /** As the opened store; an unopened tier counts as durable, since nothing is written to it. */
  @Override
  public boolean durable() {
    BlobStore store = opened;
    return store == null || store.durable();
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    BlobStore store = store("list " + prefix);
    if (store instanceof SupportsListing listing) {
      return listing.list(prefix);
    }
    throw new UnsupportedOperationException("Cannot list tier " + tier + ": its store does not support listing");
  }

  /** Touches where the opened store can; elsewhere tells only whether it holds the blob. */
  @Override
  public boolean touch(String key) {
    BlobStore store = store("touch " + key);
    return store instanceof SupportsTouch touching ? touching.touch(key) : store.exists(key);
  }

  @Override
  public void flush() throws IOException {
    if (opened instanceof Flushable flushable) {
      flushable.flush();
    }
  }

  @Override
  public void close() {
    closed = true;
    BlobStore store = opened;
    if (store != null) {
      store.close();
    }
  }

  @Override
  public String toString() {
    BlobStore store = opened;
    return store != null ? store.toString() : "unopened tier " + tier;
  }
}
