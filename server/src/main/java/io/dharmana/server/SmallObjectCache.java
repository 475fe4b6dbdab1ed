package io.dharmana.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Keeps the content of small objects in memory, least recently used first out, so hot small GETs
 * (labels, indexes, 4 KiB samples) skip the pipeline's fetch-and-decode.
 *
 * <p>Entries are keyed by content id, and a content id names immutable content, so an entry can
 * never be stale: an overwritten object has a new content id. Content enters only after the
 * backend read it to its end, which verifies it. Everything else passes through unchanged.
 */
final class SmallObjectCache implements ObjectBackend, SupportsTierUsage {
  private final ObjectBackend backend;
  private final long maxObjectBytes;
  private final long capacityBytes;
  private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>(256, 0.75f, true);
  private long bytes;

  SmallObjectCache(ObjectBackend backend, long maxObjectBytes, long capacityBytes) {
    this.backend = backend;
    this.maxObjectBytes = maxObjectBytes;
    this.capacityBytes = capacityBytes;
  }

  @Override
  public InputStream open(StoredObject object, long offset, long length) {
    if (object.size() > maxObjectBytes || object.contentId() == null) {
      return backend.open(object, offset, length);
    }
    byte[] content;
    synchronized (this) {
      content = entries.get(object.contentId());
    }
    if (content == null) {
      try (InputStream in = backend.open(object, 0, object.size())) {
        content = in.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + object.name(), e);
      }
      add(object.contentId(), content);
    }
    int from = (int) Math.min(Math.max(0, offset), content.length);
    int n = (int) Math.min(Math.max(0, length), content.length - from);
    return new ByteArrayInputStream(content, from, n);
  }

  private synchronized void add(String contentId, byte[] content) {
    if (entries.put(contentId, content) == null) {
      bytes += content.length;
    }
    var it = entries.entrySet().iterator();
    while (bytes > capacityBytes && it.hasNext()) {
      Map.Entry<String, byte[]> eldest = it.next();
      bytes -= eldest.getValue().length;
      it.remove();
    }
  }

  @Override
  public StoredObject put(String name, InputStream data, PutRequest request) {
    return backend.put(name, data, request);
  }

  @Override
  public Optional<StoredObject> stat(String name) {
    return backend.stat(name);
  }

  @Override
  public Stream<StoredObject> list(String prefix) {
    return backend.list(prefix);
  }

  @Override
  public boolean remove(String name) {
    return backend.remove(name);
  }

  @Override
  public boolean hasPipeline(String pipeline) {
    return backend.hasPipeline(pipeline);
  }

  @Override
  public String defaultPipeline() {
    return backend.defaultPipeline();
  }

  @Override
  public Map<String, Long> bytesByTier() {
    Map<String, Long> tiers = backend instanceof SupportsTierUsage t ? new LinkedHashMap<>(t.bytesByTier()) : new LinkedHashMap<>();
    synchronized (this) {
      tiers.put("gateway-cache", bytes);
    }
    return tiers;
  }
}
