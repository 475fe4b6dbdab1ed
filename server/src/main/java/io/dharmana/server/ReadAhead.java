package io.dharmana.server;

import io.dharmana.descriptor.CacheSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads ahead for sequential readers across requests: a data loader reads a large object as a
 * sequence of ranged GETs, and each would otherwise start cold (fetch, verify and decode of its
 * chunks only when it arrives). When a ranged open of an object version starts where an earlier
 * ranged open of the same version ended, the next ranges (each as long as this one) are read in
 * the background into memory, so that the reader's next GET is served from there. The depth grows
 * as the reader proves sequential: one range ahead at first, one more each time a range read ahead
 * is served (a burst of reads at a sequence's start would take the cores from the reader's own
 * next GET).
 *
 * <p>Configured per pipeline from its {@link CacheSpec}: up to {@code prefetch} ranges ahead of each
 * sequential reader, at most {@code threads} background reads at once, and at most {@code memory}
 * bytes held for the pipeline's readers together; memory or prefetch 0 turns it off. Objects the
 * backend serves from a file on local disk ({@link StoredObject.Reads#FROM_LOCAL_FILE}: tensor-coded
 * {@code .safetensors} objects, decoded whole into the backend's cache of decoded files) are not
 * read ahead.
 *
 * <p>Correctness: everything read ahead went through the backend's own (verified) open of exactly
 * that version, keyed by its content id, which names immutable content: an overwritten object has
 * a new content id and starts afresh. A range is served from memory only when one range read
 * ahead covers it and that read succeeded; otherwise (not read ahead, read failed, not yet
 * started) the backend serves it as before. A range read ahead is dropped once served to its
 * end.
 *
 * <p>Bounds: ranges are reserved against the pipeline's memory before they are read; to make room
 * the ranges of the least recently active readers go first (those not being read, farthest ahead
 * first). A reader that stops asking schedules nothing more, and its ranges are dropped after
 * {@link #IDLE_NANOS} or when room is needed. At most {@link #MAX_READERS} object versions are
 * tracked. Thread safe.
 */
final class ReadAhead extends ForwardingObjectBackend implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ReadAhead.class.getName());
  /** Object versions tracked at once, least recently read dropped first. */
  static final int MAX_READERS = 256;
  /** Ends of recent ranged opens remembered per version: a few concurrent readers of one object each continue. */
  static final int RECENT_ENDS = 8;
  /** A reader that has not asked for this long has gone away: its ranges are dropped. */
  static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final int COPY_BYTES = 1 << 20;

  private final Function<String, Optional<CacheSpec>> cacheOfPipeline;
  private final LongSupplier nanoTime;
  private final Map<String, Pipeline> pipelines = new HashMap<>();
  private final LinkedHashMap<String, Reader> readers = new LinkedHashMap<>(64, 0.75f, true);
  private BiConsumer<String, Stats> onPipeline = (p, s) -> { };
  private boolean closed;

  /**
   * @param cacheOfPipeline a pipeline's cache settings (empty: no read-ahead), asked once per
   *     pipeline on the first ranged read of one of its objects
   */
  ReadAhead(ObjectBackend backend, Function<String, Optional<CacheSpec>> cacheOfPipeline) {
    this(backend, cacheOfPipeline, System::nanoTime);
  }

  ReadAhead(ObjectBackend backend, Function<String, Optional<CacheSpec>> cacheOfPipeline, LongSupplier nanoTime) {
    super(backend);
    this.cacheOfPipeline = Objects.requireNonNull(cacheOfPipeline, "cacheOfPipeline");
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
  }

  /** Called with each pipeline's figures when its read-ahead starts (for metrics). */
  synchronized void onPipeline(BiConsumer<String, Stats> listener) {
    this.onPipeline = Objects.requireNonNull(listener, "listener");
  }

  /** What one pipeline's read-ahead did; counters are cumulative. */
  static final class Stats {
    /** Ranged opens served from memory read ahead. */
    final LongAdder hits = new LongAdder();
    /** Ranged opens that continued a sequence but were read from the backend (not read ahead, or not yet started). */
    final LongAdder misses = new LongAdder();
    /** Ranged opens whose read-ahead failed, read from the backend instead. */
    final LongAdder fallbacks = new LongAdder();
    final LongAdder servedBytes = new LongAdder();
    /** Bytes read ahead in the background. */
    final LongAdder readBytes = new LongAdder();
    /** Bytes read ahead and dropped before a reader asked for them. */
    final LongAdder wastedBytes = new LongAdder();
    /** Bytes reserved or held for readers now, and the most ever. */
    volatile long heldBytes;
    volatile long peakHeldBytes;
  }

  @Override
  public InputStream open(StoredObject object, long offset, long length) {
    long from = Math.max(0, offset);
    long n = Math.max(0, Math.min(length, object.size() - from));
    if (object.contentId() == null || n == 0 || (from == 0 && n == object.size())) {
      return delegate().open(object, offset, length); // a whole object: nothing to continue
    }
    if (object.reads() == StoredObject.Reads.FROM_LOCAL_FILE) {
      return delegate().open(object, offset, length); // served from a file on disk already: a copy in memory gains nothing
    }
    Segment served = null;
    Pipeline pipeline;
    boolean sequential;
    synchronized (this) {
      pipeline = closed ? null : pipeline(object.pipeline());
      if (pipeline == null) {
        return delegate().open(object, offset, length);
      }
      long now = nanoTime.getAsLong();
      dropIdle(now);
      Reader reader = readers.get(object.contentId());
      if (reader == null) {
        reader = new Reader(object, pipeline);
        readers.put(object.contentId(), reader);
        while (readers.size() > MAX_READERS) {
          Iterator<Reader> eldest = readers.values().iterator();
          Reader gone = eldest.next();
          eldest.remove();
          gone.dropAll();
        }
      }
      reader.lastUsed = now;
      Map.Entry<Long, Segment> before = reader.segments.floorEntry(from);
      Segment covering = before != null && before.getValue().end() >= from + n ? before.getValue() : null;
      sequential = covering != null || reader.continues(from);
      if (covering != null) {
        if (covering.state == State.FAILED) {
          reader.remove(covering);
          pipeline.stats.fallbacks.increment();
          sequential = false; // counted as a fallback, not a miss
        } else if (covering.state == State.QUEUED) {
          // not started yet: reading it here now is sooner than waiting for the queue
          reader.drop(covering, false);
        } else {
          served = covering;
          reader.depth = Math.min(reader.depth + 1, pipeline.ranges);
          if (covering.end() == from + n) {
            reader.remove(covering); // served to its end: the reader has moved on
          }
        }
      }
      reader.ended(from + n);
      if (sequential || covering != null) {
        reader.scheduleFrom(from + n, n);
      }
    }
    if (served != null) {
      try {
        byte[] data = served.data.get();
        pipeline.stats.hits.increment();
        pipeline.stats.servedBytes.add(n);
        return new ByteArrayInputStream(data, (int) (from - served.offset), (int) n);
      } catch (ExecutionException | CancellationException e) {
        pipeline.stats.fallbacks.increment();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancellationException("Cannot read " + object.name() + ": interrupted while waiting for its read-ahead");
      }
    } else if (sequential) {
      pipeline.stats.misses.increment();
    }
    return delegate().open(object, offset, length);
  }

  /** The pipeline's read-ahead, or null when it has none. Holds the lock. */
  private Pipeline pipeline(String name) {
    if (name == null) {
      return null;
    }
    Pipeline p = pipelines.get(name);
    if (p == null && !pipelines.containsKey(name)) {
      CacheSpec cache;
      try {
        cache = cacheOfPipeline.apply(name).orElse(null);
      } catch (RuntimeException e) { // a descriptor that cannot be read: its objects are served without
        LOG.log(Level.WARNING, "Cannot read the cache settings of pipeline " + name + "; no read-ahead for it: " + e.getMessage(), e);
        cache = null;
      }
      p = cache == null || cache.memoryBytes() == 0 || cache.prefetch() == 0 ? null : new Pipeline(name, cache);
      pipelines.put(name, p);
      if (p != null) {
        onPipeline.accept(name, p.stats);
      }
    }
    return p;
  }

  private void dropIdle(long now) {
    for (Iterator<Reader> it = readers.values().iterator(); it.hasNext(); ) {
      Reader r = it.next(); // least recently used first: stop at the first one still active
      if (now - r.lastUsed < IDLE_NANOS) {
        break;
      }
      it.remove();
      r.dropAll();
    }
  }

  /** Makes room for {@code bytes} in the pipeline's memory, dropping others' ranges; false if it cannot. Holds the lock. */
  private boolean reserve(Pipeline p, long bytes, Reader asking) {
    while (p.held + bytes > p.memoryBytes) {
      Segment victim = null;
      for (Reader r : readers.values()) { // least recently active first
        if (r != asking && r.pipeline == p) {
          for (Segment s : r.segments.descendingMap().values()) { // farthest ahead first
            if (s.state != State.RUNNING && s.reserved) {
              victim = s;
              break;
            }
          }
        }
        if (victim != null) {
          break;
        }
      }
      if (victim == null) {
        return false;
      }
      victim.reader.drop(victim, true);
    }
    p.held += bytes;
    p.stats.heldBytes = p.held;
    p.stats.peakHeldBytes = Math.max(p.stats.peakHeldBytes, p.held);
    return true;
  }

  /** Reads one range in the background (on the pipeline's threads). */
  private void fill(Segment s) {
    synchronized (this) {
      if (s.state != State.QUEUED) {
        return;
      }
      s.state = State.RUNNING;
    }
    StoredObject object = s.reader.object;
    try (InputStream in = delegate().open(object, s.offset, s.length)) {
      byte[] data = new byte[s.length];
      int n = 0;
      while (n < data.length) {
        if (s.state == State.DROPPED) {
          throw new CancellationException("Cannot read ahead " + object.name() + ": its reader went away");
        }
        int r = in.read(data, n, Math.min(COPY_BYTES, data.length - n));
        if (r < 0) {
          throw new IOException("Cannot read ahead " + object.name() + " at " + s.offset + ": the backend gave " + n + " of "
              + data.length + " bytes");
        }
        n += r;
      }
      s.reader.pipeline.stats.readBytes.add(n);
      synchronized (this) {
        if (s.state == State.RUNNING) {
          s.state = State.DONE;
        }
      }
      s.data.complete(data);
    } catch (IOException | RuntimeException | Error e) { // an Error too: a waiting reader must not wait forever
      synchronized (this) {
        // kept (without its memory) so that its reader, asking, counts a fallback; not read ahead again
        s.reader.release(s);
        if (s.state == State.RUNNING) {
          s.state = State.FAILED;
        }
      }
      if (!(e instanceof CancellationException)) {
        LOG.log(Level.WARNING, "Cannot read ahead " + object.name() + " at " + s.offset + " (+" + s.length
            + " bytes); its reader reads it from the pipeline: " + e.getMessage(), e);
      }
      s.data.completeExceptionally(e);
      if (e instanceof Error error) {
        throw error;
      }
    }
  }

  @Override
  public void close() {
    List<Pipeline> running;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Reader r : readers.values()) {
        r.dropAll();
      }
      readers.clear();
      running = new ArrayList<>();
      for (Pipeline p : pipelines.values()) {
        if (p != null) {
          running.add(p);
        }
      }
    }
    for (Pipeline p : running) {
      p.threads.shutdownNow();
    }
  }

  private enum State { QUEUED, RUNNING, DONE, FAILED, DROPPED }

  /** One pipeline's settings, threads and memory. Fields are guarded by the {@link ReadAhead}'s lock. */
  private static final class Pipeline {
    final int ranges;
    final long memoryBytes;
    final ThreadPoolExecutor threads;
    final Stats stats = new Stats();
    long held;

    Pipeline(String name, CacheSpec cache) {
      this.ranges = cache.prefetch();
      this.memoryBytes = cache.memoryBytes();
      int n = cache.effectiveThreads();
      AtomicInteger number = new AtomicInteger();
      this.threads = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
        Thread t = new Thread(r, "dharmana-gateway-read-ahead-" + name + "-" + number.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      threads.allowCoreThreadTimeOut(true);
    }
  }

  /** The readers of one object version. Guarded by the {@link ReadAhead}'s lock. */
  private final class Reader {
    final StoredObject object;
    final Pipeline pipeline;
    final TreeMap<Long, Segment> segments = new TreeMap<>();
    final long[] ends = new long[RECENT_ENDS];
    int nextEnd;
    long lastUsed;
    /** Ranges kept read ahead: one at first, one more each time one is served, up to the pipeline's prefetch. */
    int depth = 1;

    Reader(StoredObject object, Pipeline pipeline) {
      this.object = object;
      this.pipeline = pipeline;
      java.util.Arrays.fill(ends, -1);
    }

    /** Whether a ranged open at {@code offset} continues one that ended there. */
    boolean continues(long offset) {
      for (long end : ends) {
        if (end == offset) {
          return true;
        }
      }
      return false;
    }

    void ended(long end) {
      if (!continues(end)) {
        ends[nextEnd] = end;
        nextEnd = (nextEnd + 1) % ends.length;
      }
    }

    /** Keeps {@link #depth} ranges of {@code length} bytes read ahead from {@code start}. */
    void scheduleFrom(long start, long length) {
      if (length > pipeline.memoryBytes / 2 || length > Integer.MAX_VALUE - 8) {
        return; // room for less than this range and the next: reading ahead would only thrash
      }
      long at = start;
      for (int i = 0; i < depth && at < object.size(); i++) {
        Map.Entry<Long, Segment> existing = segments.floorEntry(at);
        if (existing != null && existing.getValue().end() > at) {
          at = existing.getValue().end(); // read ahead already (by this reader or another of the same version)
          continue;
        }
        int n = (int) Math.min(length, object.size() - at);
        if (!reserve(pipeline, n, this)) {
          return;
        }
        Segment s = new Segment(this, at, n);
        segments.put(at, s);
        pipeline.threads.execute(() -> fill(s));
        at += n;
      }
    }

    /** Takes {@code s} out (served to its end, or failed): its memory is the pipeline's again. */
    void remove(Segment s) {
      if (segments.get(s.offset) == s) {
        segments.remove(s.offset);
      }
      release(s);
    }

    void release(Segment s) {
      if (s.reserved) {
        s.reserved = false;
        pipeline.held -= s.length;
        pipeline.stats.heldBytes = pipeline.held;
      }
    }

    /** Drops {@code s} unserved; a read under way stops at its next piece. */
    void drop(Segment s, boolean wasted) {
      remove(s);
      if (wasted && s.state == State.DONE) {
        pipeline.stats.wastedBytes.add(s.length);
      }
      s.state = State.DROPPED;
      s.data.cancel(false);
    }

    void dropAll() {
      for (Segment s : new ArrayList<>(segments.values())) {
        drop(s, true);
      }
    }
  }

  /** One range read ahead. {@code state} is written under the lock; read by its filling thread without it. */
  private static final class Segment {
    final Reader reader;
    final long offset;
    final int length;
    final CompletableFuture<byte[]> data = new CompletableFuture<>();
    volatile State state = State.QUEUED;
    boolean reserved = true; // its length counts against the pipeline's memory

    Segment(Reader reader, long offset, int length) {
      this.reader = reader;
      this.offset = offset;
      this.length = length;
    }

    long end() {
      return offset + length;
    }
  }
}
