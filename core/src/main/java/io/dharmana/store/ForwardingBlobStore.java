package io.dharmana.store;

import java.util.Objects;
import java.util.stream.Stream;

/**
 * Base of store decorators (metrics, fault injection, rate limits), in the manner of Lucene's
 * {@code FilterDirectory}: every call goes to the delegate unless a subclass overrides it.
 *
 * <p>Listing and touching are forwarded too. A decorator over a store that lacks them must not
 * be asked for them: {@link #list} and {@link #touch} then throw {@link
 * UnsupportedOperationException}; {@link #supportsListing()} and {@link #supportsTouch()} tell
 * beforehand.
 *
 * <p>{@link #readBuffer} is deliberately not forwarded: it reads through {@link #open}, so that a
 * decorator that overrides {@code open} (fault injection, metrics) sees every read.
 */
public abstract class ForwardingBlobStore implements BlobStore, SupportsListing, SupportsTouch {
  private final BlobStore delegate;

  protected ForwardingBlobStore(BlobStore delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The wrapped store. */
  protected BlobStore delegate() {
    return delegate;
  }

  @Override
  public BlobInput open(String key) {
    return delegate.open(key);
  }

  @Override
  public BlobOutput create(String key) {
    return delegate.create(key);
  }

  @Override
  public boolean delete(String key) {
    return delegate.delete(key);
  }

  @Override
  public boolean exists(String key) {
    return delegate.exists(key);
  }

  @Override
  public boolean durable() {
    return delegate.durable();
  }

  /** Whether the delegate can list, so that {@link #list} works. */
  public boolean supportsListing() {
    return delegate instanceof SupportsListing;
  }

  /** Whether the delegate can touch, so that {@link #touch} works. */
  public boolean supportsTouch() {
    return delegate instanceof SupportsTouch;
  }

  @Override
  public Stream<BlobInfo> list(String prefix) {
    if (delegate instanceof SupportsListing listing) {
      return listing.list(prefix);
    }
    throw new UnsupportedOperationException("Cannot list: the wrapped store " + delegate + " does not support listing");
  }

  @Override
  public boolean touch(String key) {
    if (delegate instanceof SupportsTouch touching) {
      return touching.touch(key);
    }
    throw new UnsupportedOperationException("Cannot touch " + key + ": the wrapped store " + delegate + " does not support touch");
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(" + delegate + ")";
  }
}
