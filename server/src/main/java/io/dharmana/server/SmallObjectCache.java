package io.dharmana.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keeps the content of small objects in memory, least recently used first out, so hot small GETs
 * (labels, indexes, 4 KiB samples) skip the pipeline's fetch-and-decode.
 *
 * <p>Entries are keyed by content id, and a content id names immutable content, so an entry can
 * never be stale: an overwritten object has a new content id. Content enters only after the
 * backend read it to its end, which verifies it. Everything else passes through unchanged.
 */
final class SmallObjectCache extends ForwardingObjectBackend {
  private final long maxObjectBytes;
  private final long capacityBytes;
  private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>(256, 0.75f, true);
  private long bytes;

  SmallObjectCache(ObjectBackend backend, long maxObjectBytes, long capacityBytes) {
    super(backend);
    this.maxObjectBytes = maxObjectBytes;
    this.capacityBytes = capacityBytes;
  }

  @Override
  public InputStream open(StoredObject object, long offset, long length) {
    if (object.size() > maxObjectBytes || object.contentId() == null) {
      return delegate().open(object, offset, length);
    }
    byte[] content;
    synchronized (this) {
      content = entries.get(object.contentId());
    }
    if (content == null) {
      try (InputStream in = delegate().open(object, 0, object.size())) {
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
  public Map<String, Long> bytesByTier() {
    Map<String, Long> tiers = new LinkedHashMap<>(super.bytesByTier());
    synchronized (this) {
      tiers.put("gateway-cache", bytes);
    }
    return tiers;
  }
}
