package io.dharmana.dataset.internal;

import io.dharmana.AlreadyExistsException;
import io.dharmana.dataset.DatasetIndex;
import io.dharmana.dataset.Sample;
import io.dharmana.dataset.ShardCacheStats;
import io.dharmana.stage.StageListener;
import io.dharmana.store.BlobInput;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Opens the shards of a dataset on demand, optionally through a cache tier: a shard is copied
 * from the source store to the cache store on first use and read from there. The cache holds at
 * most {@code cacheBytes} of shards, evicting the least recently used shard that no read is
 * using, and only when the source store still holds that shard, so the cache never deletes the
 * only copy (a shard removed from the source meanwhile, or a cache store that is the source
 * store, is kept). Thread-safe.
 */
public final class ShardSource implements AutoCloseable {
  private final BlobStore store;
  private final String prefix;
  private final DatasetIndex index;
  private final BlobStore cache;
  private final long cacheBytes;
  private final Object lock = new Object();
  // access-ordered: the first entry is the least recently used
  private final LinkedHashMap<Integer, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<Integer, Long> cachedSizes = new HashMap<>();
  private long cachedBytes;
  // the dataset's counts but stored bytes read, which its readers keep
  private final ShardCounters totals = new ShardCounters();
  private final LongAdder closedReadersBytes = new LongAdder();
  private boolean closed;

  private static final class Entry {
    int inUse;
    BlobInput input;
    ShardReader reader;
  }

  public ShardSource(BlobStore store, String prefix, DatasetIndex index, BlobStore cache, long cacheBytes) {
    this.store = store;
    this.prefix = prefix;
    this.index = index;
    this.cache = cache == store ? null : cache;
    this.cacheBytes = cacheBytes;
  }

  /** Reads sample {@code local} of shard {@code shard}. */
  public Sample read(int shard, int local, StageListener listener) {
    Entry e = acquire(shard, 1, null);
    try {
      return e.reader.read(local, listener);
    } finally {
      synchronized (lock) {
        e.inUse--;
      }
      evictIfNeeded(null);
    }
  }

  /**
   * Reads {@code count} consecutive samples of shard {@code shard} from {@code first}, counting
   * what it took in the dataset's counters and in {@code caller}'s (when not null): the hits or
   * misses, the copy to the cache tier, the stored bytes read and the evictions that made room.
   */
  public Sample[] readRun(int shard, int first, int count, StageListener listener, BufferPool pool, java.util.List<java.nio.ByteBuffer> taken,
      ShardCounters caller) {
    Entry e = acquire(shard, count, caller);
    try {
      return e.reader.readRun(first, count, listener, pool, taken, caller == null ? null : caller.storedBytesRead);
    } finally {
      synchronized (lock) {
        e.inUse--;
      }
      evictIfNeeded(caller);
    }
  }

  /** Adds {@code n} to one of the dataset's counters and to the caller's, if any. */
  private void count(ShardCounters caller, Function<ShardCounters, LongAdder> counter, long n) {
    counter.apply(totals).add(n);
    if (caller != null) {
      counter.apply(caller).add(n);
    }
  }

  /** The reader of a shard, opened if needed; for metadata (keys, restore records, hashes). */
  public ShardReader reader(int shard) {
    Entry e = acquire(shard, 0, null);
    synchronized (lock) {
      e.inUse--;
    }
    return e.reader;
  }

  /** Decoded size of a sample, from the shard's table. */
  public long sampleSize(int shard, int local) {
    return reader(shard).sampleSize(local);
  }

  private Entry acquire(int shard, int samples, ShardCounters caller) {
    Entry e;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("Cannot read shard " + index.shards().get(shard).key() + ": the dataset is closed");
      }
      e = entries.computeIfAbsent(shard, s -> new Entry());
      e.inUse++;
    }
    synchronized (e) {
      if (e.reader == null) {
        String key = prefix + index.shards().get(shard).key();
        BlobStore from = store;
        if (cache != null) {
          if (!cache.exists(key)) {
            // the first sample waits for the copy; the others of the run find it there
            count(caller, c -> c.misses, Math.min(1, samples));
            count(caller, c -> c.hits, Math.max(0, samples - 1));
            copyToCache(key, caller);
          } else {
            count(caller, c -> c.hits, samples);
          }
          from = cache;
        }
        e.input = from.open(key);
        e.reader = ShardReader.open(key, e.input, index.shards().get(shard).firstSample());
      } else if (cache != null) {
        count(caller, c -> c.hits, samples);
      }
    }
    if (cache != null) {
      // lock order is lock, then entry: never take the lock while holding an entry
      synchronized (lock) {
        if (cachedSizes.putIfAbsent(shard, index.shards().get(shard).storedBytes()) == null) {
          cachedBytes += index.shards().get(shard).storedBytes();
        }
      }
    }
    return e;
  }

  private void copyToCache(String key, ShardCounters caller) {
    BlobOutput out;
    try {
      out = cache.create(key);
    } catch (AlreadyExistsException raced) {
      return;
    }
    // a sequential stream: on an object store it keeps several ranged GETs in flight, where
    // positional reads fetched one part at a time
    try (BlobInput in = store.open(key); InputStream stream = in.stream()) {
      byte[] buf = new byte[1 << 20];
      long pos = 0;
      for (int n; (n = stream.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        pos += n;
      }
      out.close();
      count(caller, c -> c.fetchedBytes, pos);
    } catch (AlreadyExistsException raced) {
      out.abort();
    } catch (IOException | RuntimeException e) {
      out.abort();
      throw new UncheckedIOException("Cannot copy shard " + key + " to the cache tier: " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  private void evictIfNeeded(ShardCounters caller) {
    if (cache == null) {
      return;
    }
    synchronized (lock) {
      if (cachedBytes <= cacheBytes) {
        return;
      }
      for (var it = entries.entrySet().iterator(); it.hasNext() && cachedBytes > cacheBytes; ) {
        var candidate = it.next();
        Entry e = candidate.getValue();
        int shard = candidate.getKey();
        if (e.inUse > 0 || !cachedSizes.containsKey(shard)) {
          continue;
        }
        String key = prefix + index.shards().get(shard).key();
        if (!store.exists(key)) {
          count(caller, c -> c.evictionsRefused, 1);
          continue;
        }
        synchronized (e) {
          closeEntry(e);
        }
        it.remove();
        cache.delete(key);
        cachedBytes -= cachedSizes.remove(shard);
        count(caller, c -> c.evictions, 1);
      }
    }
  }

  private void closeEntry(Entry e) {
    if (e.reader != null) {
      closedReadersBytes.add(e.reader.storedBytesRead());
    }
    try {
      if (e.input != null) {
        e.input.close();
      }
    } catch (IOException ignored) {
      // closing a reader we no longer need
    }
    e.input = null;
    e.reader = null;
  }

  public ShardCacheStats counters() {
    long read;
    synchronized (lock) {
      // under the lock, as eviction moves a reader's count here: read before it, an evicted
      // reader's bytes would be in neither sum, and a later snapshot minus this one too large
      read = closedReadersBytes.sum();
      for (Entry e : entries.values()) {
        ShardReader r = e.reader;
        if (r != null) {
          read += r.storedBytesRead();
        }
      }
    }
    return new ShardCacheStats(totals.hits.sum(), totals.misses.sum(), totals.fetchedBytes.sum(), totals.evictions.sum(),
        totals.evictionsRefused.sum(), read);
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      for (Entry e : entries.values()) {
        synchronized (e) {
          closeEntry(e);
        }
      }
    }
  }
}
