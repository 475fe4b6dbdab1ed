package io.dharmana.server;

import java.io.InputStream;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Base of backend decorators (caching, read-ahead, fault injection), in the manner of Lucene's
 * {@code FilterDirectory}: every call goes to the delegate unless a subclass overrides it. Tier
 * usage is forwarded when the delegate reports it, else empty.
 */
abstract class ForwardingObjectBackend implements ObjectBackend, SupportsTierUsage {
  private final ObjectBackend delegate;

  ForwardingObjectBackend(ObjectBackend delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The wrapped backend. */
  final ObjectBackend delegate() {
    return delegate;
  }

  @Override
  public InputStream open(StoredObject object, long offset, long length) {
    return delegate.open(object, offset, length);
  }

  @Override
  public StoredObject put(String name, InputStream data, PutRequest request) {
    return delegate.put(name, data, request);
  }

  @Override
  public Optional<StoredObject> stat(String name) {
    return delegate.stat(name);
  }

  @Override
  public Stream<StoredObject> list(String prefix) {
    return delegate.list(prefix);
  }

  @Override
  public boolean remove(String name) {
    return delegate.remove(name);
  }

  @Override
  public boolean hasPipeline(String pipeline) {
    return delegate.hasPipeline(pipeline);
  }

  @Override
  public String defaultPipeline() {
    return delegate.defaultPipeline();
  }

  @Override
  public Map<String, Long> bytesByTier() {
    return delegate instanceof SupportsTierUsage t ? t.bytesByTier() : Map.of();
  }
}
