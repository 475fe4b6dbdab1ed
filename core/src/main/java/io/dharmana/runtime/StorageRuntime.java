package io.dharmana.runtime;

import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.chunk.ChunkStore;
import io.dharmana.chunk.Chunker;
import io.dharmana.chunk.Chunkers;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.stage.SupportsBufferDecode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Walks the storage path of a pipeline: cuts bytes into chunks, encodes each through the stage
 * chain on a pool of threads, stores the result content-addressed, and on the way back fetches,
 * verifies and decodes chunks ahead of the reader, in order. Records every stage, the chunking,
 * hashing and store I/O into the given {@link PipelineMetrics}.
 *
 * <p>Encoding and decoding run on a CPU pool (one thread per core by default); store reads and
 * writes on a separate I/O pool, so that a durable store's fsync latency overlaps with encoding
 * instead of adding to it. At most {@code window} chunks are in flight, which bounds memory.
 * Thread-safe; close it to stop the pools.
 */
public final class StorageRuntime implements AutoCloseable {
  private final ChunkStore chunks;
  private final ExecutorService codecPool;
  private final ExecutorService ioPool;
  private final int window;
  private final int readWindow;
  private final int decoderThreads;

  public StorageRuntime(ChunkStore chunks, int threads, int window) {
    this.chunks = chunks;
    this.codecPool = Executors.newFixedThreadPool(Math.max(1, threads), daemon("dharmana-codec"));
    this.ioPool = Executors.newFixedThreadPool(Math.max(4, 4 * threads), daemon("dharmana-io"));
    this.window = Math.max(2, window);
    this.readWindow = Math.max(this.window, 64);
    this.decoderThreads = Math.max(1, threads);
  }

  /**
   * The native buffers a read through a channel decodes into at most when its largest chunk is
   * {@code largestChunk} bytes (see {@link #read(ObjectManifest, long, long, WritableByteChannel,
   * PipelineMetrics, String, Verification, ProgressListener)}): one per chunk of the read window,
   * within {@link #DECODE_BUFFER_BYTES}, and never fewer than one per codec thread, one decoded
   * ready and the one being written. Decoding only as far ahead as the threads need cost a 1 GB
   * get of 64 KiB chunks 10-15% of its time (4 buffers against 65, alternating runs): the reader
   * then waits whenever a decoder is descheduled.
   */
  public int decodeBuffersPerRead(long largestChunk) {
    long withinBudget = DECODE_BUFFER_BYTES / Math.max(1, largestChunk);
    return (int) Math.max(decoderThreads + 2, Math.min(readWindow + 1, withinBudget));
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public ChunkStore chunks() {
    return chunks;
  }

  /**
   * Writes {@code in} to its end through {@code chain}, cut by {@code chunker}. Every chunk is
   * stored (durably, if the store is) when this returns; nothing refers to them yet.
   *
   * @param expectedSize for progress only; -1 if unknown
   * @param hashOriginal whether to hash the original bytes; if not, the result's sha256 is empty
   */
  public WrittenObject write(InputStream in, Chunker chunker, StageChain chain, PipelineMetrics metrics,
      long expectedSize, boolean hashOriginal, ProgressListener progress) throws IOException {
    MessageDigest original = hashOriginal ? ChunkId.newDigest() : null;
    ArrayDeque<CompletableFuture<Stored>> inFlight = new ArrayDeque<>();
    List<ChunkRef> refs = new ArrayList<>();
    long[] newChunks = {0, 0};
    long[] done = {0};
    long start = PipelineMetrics.now();
    long[] cutNanos = {0};
    long[] mark = {start};
    try {
      long size = Chunkers.split(in, chunker, chunk -> {
        long t0 = PipelineMetrics.now();
        cutNanos[0] += t0 - mark[0];
        if (original != null) {
          original.update(chunk);
          metrics.step("sha256-original", "encode", chunk.length, chunk.length, PipelineMetrics.now() - t0);
        }
        CompletableFuture<Stored> f = CompletableFuture
            .supplyAsync(() -> encode(chunk, chain, metrics), codecPool)
            .thenApplyAsync(e -> store(e, metrics), ioPool);
        inFlight.add(f);
        while (inFlight.size() >= window) {
          collect(inFlight.poll(), refs, newChunks);
        }
        done[0] += chunk.length;
        progress.progress(done[0], expectedSize);
        mark[0] = PipelineMetrics.now();
      });
      metrics.step("chunking", "encode", size, size, cutNanos[0]);
      while (!inFlight.isEmpty()) {
        collect(inFlight.poll(), refs, newChunks);
      }
      metrics.add(PipelineMetrics.LOGICAL_BYTES, size);
      metrics.add(PipelineMetrics.CHUNKS, refs.size());
      metrics.add(PipelineMetrics.NEW_CHUNKS, newChunks[0]);
      metrics.add(PipelineMetrics.DEDUP_CHUNKS, refs.size() - newChunks[0]);
      metrics.add(PipelineMetrics.NEW_STORED_BYTES, newChunks[1]);
      String sha256 = original == null ? "" : HexFormat.of().formatHex(original.digest());
      WrittenObject written = new WrittenObject(size, sha256, refs, newChunks[0], newChunks[1]);
      metrics.add(PipelineMetrics.STORED_BYTES, written.storedBytes());
      metrics.latency("put", PipelineMetrics.now() - start);
      return written;
    } catch (RuntimeException | IOException e) {
      for (CompletableFuture<Stored> f : inFlight) {
        f.cancel(false);
      }
      throw e;
    }
  }

  private record Encoded(ChunkId id, byte[] stored, int length) {}

  private record Stored(ChunkRef ref, boolean fresh) {}

  private static Encoded encode(byte[] chunk, StageChain chain, PipelineMetrics metrics) {
    byte[] stored = chain.encode(chunk, metrics);
    long t0 = PipelineMetrics.now();
    ChunkId id = ChunkId.of(stored);
    metrics.step("sha256-chunk-id", "encode", stored.length, stored.length, PipelineMetrics.now() - t0);
    return new Encoded(id, stored, chunk.length);
  }

  private Stored store(Encoded e, PipelineMetrics metrics) {
    long t0 = PipelineMetrics.now();
    boolean fresh = chunks.put(e.id, e.stored);
    long nanos = PipelineMetrics.now() - t0;
    metrics.step("store-write", "encode", e.stored.length, fresh ? e.stored.length : 0, nanos);
    metrics.latency("chunk-write", nanos);
    return new Stored(new ChunkRef(e.id, e.length, e.stored.length), fresh);
  }

  private static void collect(CompletableFuture<Stored> f, List<ChunkRef> refs, long[] fresh) {
    Stored s = join(f);
    refs.add(s.ref);
    if (s.fresh) {
      fresh[0]++;
      fresh[1] += s.ref.storedLength();
    }
  }

  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new DharmanaException("Cannot process chunk: " + cause, cause);
    }
  }

  /**
   * Writes bytes {@code [offset, offset + length)} of the object to {@code out}; see {@link
   * #open}.
   */
  public void read(ObjectManifest manifest, long offset, long length, OutputStream out, PipelineMetrics metrics,
      String what, Verification verification, ProgressListener progress) throws IOException {
    long start = PipelineMetrics.now();
    long total = Math.max(0, rangeEnd(manifest, offset, length) - Math.max(0, offset));
    try (InputStream in = open(manifest, offset, length, metrics, what, verification)) {
      long[] done = {0};
      in.transferTo(new java.io.FilterOutputStream(out) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
          done[0] += len;
          progress.progress(done[0], total);
        }
      });
    }
    metrics.latency("get", PipelineMetrics.now() - start);
  }

  /**
   * Writes bytes {@code [offset, offset + length)} of the object to {@code out}, as {@link
   * #read(ObjectManifest, long, long, OutputStream, PipelineMetrics, String, Verification,
   * ProgressListener)} does, without copying the decoded bytes where it can: when the stage chain
   * is empty or one stage that {@link SupportsBufferDecode decodes into a buffer}, each chunk is
   * fetched as the store's {@link io.dharmana.store.BlobStore#readBuffer buffer} (a slice of a
   * mapped pack), verified there, decoded into a native buffer reused from a bounded set ({@link
   * #decodeBuffersPerRead} of them, the size of the largest chunk) and written to the channel from
   * it. Fetches run as far ahead as on the other paths; decodes only as far as the set allows, in
   * chunk order. Other chains take the copying path. Every check is the same on both paths.
   */
  public void read(ObjectManifest manifest, long offset, long length, WritableByteChannel out, PipelineMetrics metrics,
      String what, Verification verification, ProgressListener progress) throws IOException {
    long start = PipelineMetrics.now();
    long total = Math.max(0, rangeEnd(manifest, offset, length) - Math.max(0, offset));
    try (ChunkStream in = new ChunkStream(manifest, offset, length, metrics, what, verification, true)) {
      in.transferTo(out, total, progress);
    }
    metrics.latency("get", PipelineMetrics.now() - start);
  }

  /** Counter of the native buffers a read through a channel allocated to decode into. */
  public static final String DECODE_BUFFERS = "decode.buffers";

  /**
   * The read path's last step: handing decoded bytes to their destination (a file, a socket, a
   * caller's stream), when the read writes them out itself.
   */
  public static final String OUTPUT_WRITE = "output-write";

  /** Chunks larger than this are decoded into arrays: a window of native buffers for them would be too large. */
  static final int MAX_BUFFERED_CHUNK = 4 << 20;

  /** Bytes of native buffers one read through a channel decodes into (see {@link #decodeBuffersPerRead}). */
  public static final long DECODE_BUFFER_BYTES = 64L << 20;

  /**
   * Streams bytes {@code [offset, offset + length)} of the object, fetching and decoding up to
   * {@code window} chunks ahead of the reader. Every chunk is verified against its id; with
   * {@link Verification#CHUNKS_AND_ORIGINAL}, reading the whole object also checks the SHA-256 of
   * the original at the end.
   *
   * @param what names the object in error messages
   */
  public InputStream open(ObjectManifest manifest, long offset, long length, PipelineMetrics metrics, String what) {
    return open(manifest, offset, length, metrics, what, Verification.CHUNKS);
  }

  /** Like {@link #open(ObjectManifest, long, long, PipelineMetrics, String)}, verifying as asked. */
  public InputStream open(ObjectManifest manifest, long offset, long length, PipelineMetrics metrics, String what,
      Verification verification) {
    return new ChunkStream(manifest, offset, length, metrics, what, verification, false);
  }

  /** Reads a manifest's chunks in order with a bounded window of fetches and decodes in flight. */
  private final class ChunkStream extends InputStream {
    private final ObjectManifest manifest;
    private final long end;
    private final long offset;
    private final long[] offsets;
    private final PipelineMetrics metrics;
    private final String what;
    private final StageChain chain;
    private final MessageDigest digest;
    private final ArrayDeque<CompletableFuture<ByteBuffer>> inFlight = new ArrayDeque<>();
    private final ArrayDeque<Integer> indexes = new ArrayDeque<>();
    /** The chain's one stage, decoding chunks into {@link #buffers}; null where chunks take the copying path. */
    private final Stage decodingStage;
    private final SupportsBufferDecode decoder;
    /** Whether chunks are fetched as the store's buffers rather than arrays. */
    private final boolean fetchBuffers;
    private final DecodeBuffers buffers;
    /**
     * Chunks fetched and verified whose index had not reached {@link #decodeLimit}: each waits
     * there for the buffer the reader gives back next. Guarded by itself, as are the fields
     * below it.
     */
    private final Map<Integer, Fetched> parked = new java.util.HashMap<>();
    /** Chunks let through {@link #decodeLimit} while enough decoders ran: the next decoder to finish takes them. */
    private final ArrayDeque<Fetched> ready = new ArrayDeque<>();
    /** Tasks decoding chunks of this read; each takes the {@link #ready} ones before it ends. */
    private int decoding;
    /**
     * Chunks below this index may take a decode buffer. It starts {@link #decodeBuffersPerRead}
     * past the first chunk and moves one on per buffer the reader gives back, so that the chunks
     * holding buffers are always the next few in order: the one the reader waits for never
     * waits for a buffer held by a later chunk.
     */
    private int decodeLimit;
    private int next;
    private ByteBuffer current = ByteBuffer.allocate(0);
    private boolean currentPooled;
    private int pos;
    private int limit;
    private boolean closed;
    private boolean checked;

    /**
     * @param toChannel whether the bytes go to a channel, so that chunks are better kept in
     *     native buffers than in arrays
     */
    ChunkStream(ObjectManifest manifest, long offset, long length, PipelineMetrics metrics, String what,
        Verification verification, boolean toChannel) {
      this.manifest = manifest;
      this.offset = Math.max(0, offset);
      this.end = rangeEnd(manifest, this.offset, length);
      this.offsets = manifest.chunkOffsets();
      this.metrics = metrics;
      this.what = what;
      this.chain = manifest.chunks().isEmpty() ? null : chainFor(manifest);
      boolean whole = this.offset == 0 && end == manifest.size();
      this.digest = whole && verification.checksOriginal(manifest.lossy(), manifest.sha256()) ? ChunkId.newDigest() : null;
      this.next = firstChunk(offsets, this.offset);
      List<Stage> stages = chain == null ? List.of() : chain.stages();
      long largest = 0;
      for (ChunkRef ref : manifest.chunks()) {
        largest = Math.max(largest, ref.length());
      }
      boolean fits = largest <= MAX_BUFFERED_CHUNK;
      if (toChannel && fits && stages.size() == 1 && stages.get(0) instanceof SupportsBufferDecode d) {
        this.decodingStage = stages.get(0);
        this.decoder = d;
        this.fetchBuffers = true;
        int count = decodeBuffersPerRead(largest);
        this.buffers = new DecodeBuffers((int) largest, count);
        this.decodeLimit = next + count;
      } else {
        this.decodingStage = null;
        this.decoder = null;
        // an empty chain hands the stored bytes on as they are: a slice of a mapping is written as it is
        this.fetchBuffers = toChannel && stages.isEmpty();
        this.buffers = null;
      }
    }

    private ByteBuffer chunk(ChunkRef ref) {
      if (fetchBuffers) {
        return verifyUnchanged(ref, fetchBuffer(ref, metrics, what), metrics, what);
      }
      return ByteBuffer.wrap(decode(ref, fetch(ref, metrics, what), chain, metrics, what));
    }

    private boolean fill() {
      if (closed) {
        return false;
      }
      if (currentPooled) {
        currentPooled = false;
        buffers.give(current);
        current = ByteBuffer.allocate(0);
        Fetched waiting;
        boolean start = false;
        synchronized (parked) {
          waiting = parked.remove(decodeLimit++);
          if (waiting != null) {
            // a decoder that is running anyway takes it: a task per chunk costs a thread's wake-up
            if (decoding < decoderThreads) {
              decoding++;
              start = true;
            } else {
              ready.add(waiting);
            }
          }
        }
        if (start) {
          ioPool.execute(() -> decodeFrom(waiting));
        }
      }
      while (inFlight.size() < readWindow && next < manifest.chunks().size() && offsets[next] < end) {
        ChunkRef ref = manifest.chunks().get(next);
        if (decoder != null) {
          CompletableFuture<ByteBuffer> result = new CompletableFuture<>();
          int index = next;
          ioPool.execute(() -> fetchAndDecode(index, ref, result));
          inFlight.add(result);
        } else {
          inFlight.add(CompletableFuture
              // one task per chunk: fetching from a warm tier is cheap, and a hop between pools
              // per chunk costs more than it overlaps
              .supplyAsync(() -> chunk(ref), ioPool));
        }
        indexes.add(next++);
      }
      if (inFlight.isEmpty()) {
        finish();
        return false;
      }
      int i = indexes.poll();
      current = join(inFlight.poll());
      currentPooled = decoder != null;
      if (digest != null) {
        digest.update(current.duplicate());
      }
      pos = (int) Math.max(0, offset - offsets[i]);
      limit = (int) Math.min(current.remaining(), end - offsets[i]);
      metrics.add(PipelineMetrics.READ_BYTES, limit - pos);
      return true;
    }

    private void finish() {
      if (digest != null && !checked) {
        checked = true;
        if (!HexFormat.of().formatHex(digest.digest()).equals(manifest.sha256())) {
          throw new CorruptDataException(
              "Cannot read " + what + ": decoded bytes do not match the original SHA-256 " + manifest.sha256());
        }
      }
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      while (pos >= limit) {
        if (!fill()) {
          return -1;
        }
      }
      int n = Math.min(len, limit - pos);
      current.get(pos, b, off, n);
      pos += n;
      return n;
    }

    /** Hands each decoded chunk to {@code out} as it is, without copying it through a buffer. */
    @Override
    public long transferTo(OutputStream out) throws IOException {
      long total = 0;
      byte[] copy = null;
      while (pos < limit || fill()) {
        long t0 = PipelineMetrics.now();
        int n = limit - pos;
        if (current.hasArray()) {
          out.write(current.array(), current.arrayOffset() + pos, n);
        } else {
          copy = copy == null || copy.length < n ? new byte[n] : copy;
          current.get(pos, copy, 0, n);
          out.write(copy, 0, n);
        }
        written(n, t0);
        total += n;
        pos = limit;
      }
      return total;
    }

    /** Writes each chunk to {@code out} from the buffer it was decoded into. */
    void transferTo(WritableByteChannel out, long total, ProgressListener progress) throws IOException {
      long done = 0;
      while (pos < limit || fill()) {
        long t0 = PipelineMetrics.now();
        ByteBuffer piece = current.duplicate().limit(limit).position(pos);
        while (piece.hasRemaining()) {
          out.write(piece);
        }
        written(limit - pos, t0);
        done += limit - pos;
        pos = limit;
        progress.progress(done, total);
      }
    }

    /**
     * Fetches and verifies chunk {@code index}, then decodes it in the same task if its index is
     * below {@link #decodeLimit}; otherwise parks it until the reader gives a buffer back, when
     * a decoder that is running takes it after its chunk, or a new task if fewer than one per
     * codec thread run.
     */
    private void fetchAndDecode(int index, ChunkRef ref, CompletableFuture<ByteBuffer> result) {
      try {
        ByteBuffer stored = fetchBuffer(ref, metrics, what);
        verify(ref, stored, metrics, what);
        // checked before decoding, so that a damaged size cannot overrun the buffer
        checkLength(ref, decoder.decodedLength(stored), what);
        Fetched fetched = new Fetched(stored, result);
        synchronized (parked) {
          if (index >= decodeLimit) {
            parked.put(index, fetched);
            return;
          }
          decoding++;
        }
        decodeFrom(fetched);
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    }

    /** Decodes {@code first}, then the {@link #ready} chunks until there are none. */
    private void decodeFrom(Fetched first) {
      Fetched fetched = first;
      while (fetched != null) {
        decodeFetched(fetched);
        synchronized (parked) {
          fetched = ready.poll();
          if (fetched == null) {
            decoding--;
          }
        }
      }
    }

    /** Decodes a verified chunk into a buffer taken from {@link #buffers}, completing its result. */
    private void decodeFetched(Fetched fetched) {
      if (fetched.result.isDone()) {
        return; // cancelled by close
      }
      try {
        ByteBuffer out = buffers.take();
        long t0 = PipelineMetrics.now();
        try {
          decoder.decode(fetched.stored, out);
        } catch (RuntimeException e) {
          buffers.give(out);
          throw e;
        }
        out.flip();
        metrics.decoded(0, decodingStage, fetched.stored.remaining(), out.remaining(), PipelineMetrics.now() - t0);
        if (!fetched.result.complete(out)) {
          buffers.give(out);
        }
      } catch (Throwable t) {
        fetched.result.completeExceptionally(t);
      }
    }

    /** Counts the time the destination took to accept a decoded chunk: a slow one limits the read path too. */
    private void written(int bytes, long since) {
      metrics.step(OUTPUT_WRITE, "decode", bytes, bytes, PipelineMetrics.now() - since);
    }

    @Override
    public void close() {
      if (!closed && buffers != null) {
        metrics.add(DECODE_BUFFERS, buffers.allocated());
      }
      closed = true;
      for (CompletableFuture<ByteBuffer> f : inFlight) {
        f.cancel(false);
      }
      inFlight.clear();
    }
  }

  /** End of {@code [offset, offset + length)} clamped to the object; a length up to Long.MAX_VALUE means "to the end". */
  private static long rangeEnd(ObjectManifest manifest, long offset, long length) {
    long from = Math.max(0, offset);
    return Math.min(manifest.size(), from + Math.min(Math.max(0, length), Long.MAX_VALUE - from));
  }

  private static int firstChunk(long[] offsets, long offset) {
    int lo = 0;
    int hi = offsets.length - 2;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (offsets[mid] <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return Math.max(0, lo);
  }

  private final Map<List<StageSpec>, StageChain> chains = new ConcurrentHashMap<>();

  /** The decoding chain a manifest names; chains are cached by their specs. */
  public StageChain chainFor(ObjectManifest manifest) {
    return chains.computeIfAbsent(manifest.stages(),
        specs -> Stages.chain(specs, StageContext.system()));
  }

  private byte[] fetch(ChunkRef ref, PipelineMetrics metrics, String what) {
    return fetch(ref, metrics, what, chunks.blobs()::read, stored -> stored.length);
  }

  /** Like {@link #fetch}, as the store's buffer: a slice of a mapped pack rather than a copy. */
  private ByteBuffer fetchBuffer(ChunkRef ref, PipelineMetrics metrics, String what) {
    return fetch(ref, metrics, what, chunks.blobs()::readBuffer, ByteBuffer::remaining);
  }

  private <T> T fetch(ChunkRef ref, PipelineMetrics metrics, String what, java.util.function.Function<String, T> read,
      java.util.function.ToIntFunction<T> size) {
    long t0 = PipelineMetrics.now();
    T stored;
    try {
      stored = read.apply(ChunkStore.key(ref.id()));
    } catch (CorruptDataException e) {
      throw new CorruptDataException("Cannot read " + what + ": chunk " + ref.id().abbrev() + " is damaged in the store: "
          + e.getMessage(), e);
    } catch (io.dharmana.NotFoundException e) {
      throw new io.dharmana.NotFoundException("Cannot read " + what + ": chunk " + ref.id().abbrev() + " is missing from the store", e);
    }
    long nanos = PipelineMetrics.now() - t0;
    metrics.step("store-read", "decode", size.applyAsInt(stored), size.applyAsInt(stored), nanos);
    metrics.latency("chunk-read", nanos);
    return stored;
  }

  private static void verify(ChunkRef ref, ByteBuffer stored, PipelineMetrics metrics, String what) {
    long t0 = PipelineMetrics.now();
    ref.id().verify(stored, what);
    metrics.step("sha256-verify", "decode", stored.remaining(), stored.remaining(), PipelineMetrics.now() - t0);
  }

  /** A chunk stored as it is (an empty chain): verified and handed on. */
  private static ByteBuffer verifyUnchanged(ChunkRef ref, ByteBuffer stored, PipelineMetrics metrics, String what) {
    verify(ref, stored, metrics, what);
    checkLength(ref, stored.remaining(), what);
    return stored;
  }

  /** A chunk fetched and verified, to be decoded into a buffer and handed to the reader through {@code result}. */
  private record Fetched(ByteBuffer stored, CompletableFuture<ByteBuffer> result) {}

  private static void checkLength(ChunkRef ref, int decoded, String what) {
    if (decoded != ref.length()) {
      throw new CorruptDataException("Cannot read " + what + ": chunk " + ref.id().abbrev()
          + " decoded to " + decoded + " bytes, expected " + ref.length());
    }
  }

  private static byte[] decode(ChunkRef ref, byte[] stored, StageChain chain, PipelineMetrics metrics, String what) {
    long t0 = PipelineMetrics.now();
    ref.id().verify(stored, what);
    metrics.step("sha256-verify", "decode", stored.length, stored.length, PipelineMetrics.now() - t0);
    byte[] data = chain.decode(stored, metrics);
    if (data.length != ref.length()) {
      throw new CorruptDataException("Cannot read " + what + ": chunk " + ref.id().abbrev()
          + " decoded to " + data.length + " bytes, expected " + ref.length());
    }
    return data;
  }

  @Override
  public void close() {
    codecPool.shutdownNow();
    ioPool.shutdownNow();
  }
}
