package io.dharmana.tensor.file;

import io.dharmana.DharmanaException;
import io.dharmana.NotFoundException;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.AtomicFile;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.TensorInfo;
import io.dharmana.tensor.lossy.BlockQuantizer;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.zip.CRC32C;

/**
 * Compresses a safetensors file into the {@code .dhz} format ({@link TensorFileFormat}).
 *
 * <p>Tensors are encoded in parallel ({@link CompressOptions#threads()} threads, the calling thread
 * helping) and written in their original order; a bounded window of tensors is held in memory
 * at once (see {@link InOrder}). The output appears atomically (temporary file, fsync, rename): a
 * crash leaves no partial {@code .dhz}.
 * Lossless output decompresses to the input byte for byte; lossy output quantizes F32 tensors and
 * records the error it introduced per tensor and overall.
 */
public final class TensorFileWriter {
  private TensorFileWriter() {}

  /** Compresses {@code input} into {@code output} (replacing it). */
  public static CompressionResult compress(Path input, Path output, CompressOptions options) {
    return compress(input, output, options, ProgressListener.NONE);
  }

  /**
   * As {@link #compress(Path, Path, CompressOptions)}, telling {@code progress} how many bytes of
   * tensor data are coded and written, of all the input holds, after each run of tensors (on one
   * thread at a time).
   */
  public static CompressionResult compress(Path input, Path output, CompressOptions options, ProgressListener progress) {
    return compress(input, output, options, progress, TensorPieces.SPLIT_ABOVE, TensorPieces.PIECE_BYTES);
  }

  /** As {@link #compress(Path, Path, CompressOptions, ProgressListener)}, storing tensors above {@code splitAbove} bytes in pieces of {@code pieceBytes}. */
  static CompressionResult compress(Path input, Path output, CompressOptions options, ProgressListener progress, long splitAbove,
      long pieceBytes) {
    long start = System.nanoTime();
    // With threads to spare, a parent is hashed on a thread of its own from the start, beside the
    // parsing of the header (which nothing else can share) and the coding.
    FutureTask<String> parentHash = options.threads() > 1 && options.base() != null ? startHashing(options.base()) : null;
    try (SafetensorsFile in = Safetensors.open(input);
        SafetensorsFile parent = options.base() == null ? null : Safetensors.open(options.base())) {
      List<TensorFileEntry> entries = new ArrayList<>();
      AtomicFile.write(output, channel -> encodeAll(in, parent, parentHash, options, splitAbove, pieceBytes, channel, entries, progress));
      boolean lossy = entries.stream().anyMatch(e -> e.codec().lossy());
      ErrorReport overall = entries.stream().filter(e -> e.codec().lossy()).map(TensorFileEntry::error)
          .reduce(ErrorReport.EXACT, ErrorReport::plus);
      long outputBytes = Files.size(output);
      double seconds = (System.nanoTime() - start) / 1e9;
      return new CompressionResult(in.fileSize(), outputBytes, seconds, !lossy, overall, entries);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot compress " + input, e);
    } finally {
      if (parentHash != null) {
        parentHash.cancel(true); // done by now unless compressing failed
      }
    }
  }

  /** Hashes {@code file} on a new thread: the hex of its SHA-256. */
  private static FutureTask<String> startHashing(Path file) {
    FutureTask<String> task = new FutureTask<>(() -> sha256Mapped(file));
    Thread t = new Thread(task, "dharmana-hash");
    t.setDaemon(true);
    t.start();
    return task;
  }

  /**
   * SHA-256 of a whole file, hex, read through mappings (the file is most likely in the page cache:
   * no copy into a buffer); stops early when the thread is interrupted.
   */
  static String sha256Mapped(Path file) {
    MessageDigest digest = sha256();
    try (FileChannel channel = FileChannel.open(file)) {
      long size = channel.size();
      for (long position = 0; position < size; position += HASH_WINDOW_BYTES) {
        if (Thread.currentThread().isInterrupted()) {
          throw new java.util.concurrent.CancellationException("Cannot hash " + file + ": interrupted");
        }
        digest.update(channel.map(FileChannel.MapMode.READ_ONLY, position, Math.min(HASH_WINDOW_BYTES, size - position)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot hash " + file, e);
    }
    return TensorFileFormat.hex(digest.digest());
  }

  private static final long HASH_WINDOW_BYTES = 64L << 20;

  /**
   * One encoded tensor, ready to be written: {@code bytes} from position 0, over {@code pooled} (to be
   * given back once written) or null.
   */
  private record Encoded(TensorFileEntry entry, ByteBuffer bytes, byte[] pooled) {}

  private static void encodeAll(
      SafetensorsFile in, SafetensorsFile parent, FutureTask<String> parentHash, CompressOptions options, long splitAbove,
      long pieceBytes, FileChannel channel, List<TensorFileEntry> entries, ProgressListener progress)
      throws IOException {
    byte[] headerBytes = in.headerBytes();
    long headerCrc = crc(headerRegion(headerBytes));
    // The output's CRC-32C follows from the tensors' (each computed by the thread that coded it)
    // in file order: no serial pass over the data.
    long[] decodedCrc = {headerCrc};

    List<TensorPieces.Piece> pieces = TensorPieces.of(in.infos(), splitAbove, pieceBytes);
    ByteBuffer preamble = ByteBuffer.allocate(TensorFileFormat.PREAMBLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    // only a file with a tensor in pieces needs a reader that knows them
    int version = pieces.size() > in.infos().size() ? TensorFileFormat.VERSION_PIECES : TensorFileFormat.VERSION;
    preamble.put(TensorFileFormat.MAGIC).putInt(version).flip();
    long position = 0;
    position += writeFully(channel, preamble, position);

    ArrayPool arrays = new ArrayPool();
    OrderedWrites writes;
    try (EarlyWriteback writeback = new EarlyWriteback(channel);
        // one coding thread leaves the writes to a thread of their own, as decompression does
        WriteBehind behind = options.threads() == 1 ? new WriteBehind() : null) {
      writes = new OrderedWrites(channel, behind, writeback, arrays, progress, in.header().dataLength(), position);
      InOrder.<Encoded>run(pieces.size(), options.threads(), i -> pieces.get(i).piece().byteSize(), i -> {
        TensorPieces.Piece piece = pieces.get(i);
        // A tensor bigger than a fair share of the data would leave threads idle: split it into chunks too.
        boolean wide = options.threads() > 1 && piece.piece().byteSize() * options.threads() > in.header().dataLength();
        return encode(in, parent, piece, options, wide, arrays);
      }, (i, encoded) -> {
        TensorFileEntry entry = encoded.entry().withOffset(writes.end());
        decodedCrc[0] = Crc32cCombine.combine(decodedCrc[0], entry.crc32c(), entry.originalBytes());
        entries.add(entry);
        writes.add(encoded, entry.originalBytes());
      });
      writes.flush();
      if (behind != null) {
        behind.finish();
      }
    }
    position = writes.end();
    String parentSha = parent == null ? null : parentHash == null ? sha256(options.base()) : await(parentHash);
    boolean lossy = entries.stream().anyMatch(e -> e.codec().lossy());
    ErrorReport overall = entries.stream().filter(e -> e.codec().lossy()).map(TensorFileEntry::error)
        .reduce(ErrorReport.EXACT, ErrorReport::plus);
    FileHeader header = new FileHeader(
        in.fileSize(), null, null, headerBytes, chain(entries, options), lossy, options.block(),
        parent == null ? null : options.base().getFileName().toString(),
        parentSha,
        overall, entries, headerCrc, decodedCrc[0]);
    // The index repeats names and numbers; zstd shrinks it several times over (it matters for small files).
    byte[] stored = com.github.luben.zstd.Zstd.compress(BinaryHeader.write(header), 3);
    long headerOffset = position;
    position += writeFully(channel, ByteBuffer.wrap(stored), position);
    CRC32C crc = new CRC32C();
    crc.update(stored);
    ByteBuffer trailer = ByteBuffer.allocate(TensorFileFormat.TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    trailer.putLong(headerOffset).putLong(stored.length).putInt((int) crc.getValue()).put(TensorFileFormat.END_MAGIC).flip();
    writeFully(channel, trailer, position);
  }

  /**
   * Writes encoded tensors one after the other from where the tensor data starts, in runs, each
   * with one write: on the calling thread, or, given a {@link WriteBehind}, on that thread. A run
   * closes once the arrays it holds reach {@link TensorFileReader#RUN_BYTES} (many small tensors
   * each hold an array sized for the largest, see {@link ArrayPool}).
   */
  private static final class OrderedWrites {
    private final FileChannel channel;
    private final WriteBehind behind;
    private final EarlyWriteback writeback;
    private final ArrayPool arrays;
    private final ProgressListener progress;
    private final long total;
    private List<Encoded> run = new ArrayList<>();
    private ByteBuffer gather; // used by one thread: the caller's, or the write-behind's
    private long runStart;
    private long held;
    private long end;
    private long coded;

    OrderedWrites(FileChannel channel, WriteBehind behind, EarlyWriteback writeback, ArrayPool arrays, ProgressListener progress,
        long total, long start) {
      this.channel = channel;
      this.behind = behind;
      this.writeback = writeback;
      this.arrays = arrays;
      this.progress = progress;
      this.total = total;
      this.runStart = start;
      this.end = start;
    }

    /** Where the next tensor goes: the end of those added so far. */
    long end() {
      return end;
    }

    void add(Encoded encoded, long originalBytes) throws IOException {
      run.add(encoded);
      end += encoded.bytes().remaining();
      coded += originalBytes;
      held += encoded.pooled() != null ? encoded.pooled().length : encoded.bytes().remaining();
      if (held >= TensorFileReader.RUN_BYTES) {
        flush();
      }
    }

    void flush() throws IOException {
      if (run.isEmpty()) {
        return;
      }
      List<Encoded> batch = run;
      long from = runStart;
      long to = end;
      long done = coded;
      run = new ArrayList<>();
      runStart = end;
      held = 0;
      if (behind == null) {
        write(batch, from, to, done);
      } else {
        behind.write(() -> {
          try {
            write(batch, from, to, done);
          } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the compressed file", e);
          }
        });
      }
    }

    private void write(List<Encoded> batch, long from, long to, long done) throws IOException {
      // The run's tensors are gathered into one direct buffer and written with one system call, not
      // one per tensor (the JDK copies each heap buffer into a direct one to write it anyway); a
      // tensor larger than the buffer is written on its own. With heap buffers, a gathering write
      // took a temporary direct buffer per tensor, of ever other sizes.
      if (gather == null) {
        gather = ByteBuffer.allocateDirect(TensorFileReader.RUN_BYTES);
      }
      long at = from;
      for (Encoded e : batch) {
        ByteBuffer bytes = e.bytes();
        if (bytes.remaining() > gather.remaining()) {
          at += writeFully(channel, gather.flip(), at);
          gather.clear();
        }
        if (bytes.remaining() > gather.capacity()) {
          at += writeFully(channel, bytes, at);
        } else {
          gather.put(bytes);
        }
        if (e.pooled() != null) {
          arrays.give(e.pooled());
        }
      }
      at += writeFully(channel, gather.flip(), at);
      gather.clear();
      assert at == to : at + " != " + to;
      writeback.written(to);
      progress.progress(done, total);
    }
  }

  private static List<String> chain(List<TensorFileEntry> entries, CompressOptions options) {
    List<String> chain = new ArrayList<>();
    chain.add("safetensors-split");
    for (TensorCodec codec : TensorCodec.values()) {
      long count = entries.stream().filter(e -> e.codec() == codec).count();
      if (count > 0) {
        String params = codec.lossy() ? "{format=" + (codec == TensorCodec.INT8 ? "int8" : "fp8") + ", block=" + options.block() + "}" : "";
        chain.add(codec.label() + params + " x" + count);
      }
    }
    if (entries.stream().anyMatch(TensorFileEntry::delta)) {
      chain.add("delta-vs-parent");
    }
    return chain;
  }

  private static Encoded encode(
      SafetensorsFile in, SafetensorsFile parent, TensorPieces.Piece piece, CompressOptions options, boolean wide, ArrayPool arrays) {
    TensorInfo info = piece.piece();
    TensorInfo whole = piece.tensor();
    int size = (int) info.byteSize(); // a piece fits one array
    ByteBuffer data = in.data(info.name(), piece.offset(), size);
    ByteBuffer parentData = null;
    if (parent != null && parent.contains(info.name())) {
      TensorInfo p = parent.info(info.name());
      if (p.dtype() == whole.dtype() && Arrays.equals(p.shape(), whole.shape())) {
        parentData = parent.data(info.name(), piece.offset(), size);
      }
    }
    if (options.lossy() != null && info.dtype() == DType.F32 && info.byteSize() > 0) {
      TensorCodec codec = TensorCodec.lossyFor(options.lossy());
      try {
        byte[] bytes = codec.encode(info.dtype(), data, parentData, options.block());
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        codec.decode(bytes, info.dtype(), parentData, out);
        byte[] decoded = out.array();
        ErrorReport error = compare(data, decoded);
        return new Encoded(entry(info, codec, parentData != null, bytes.length, crc(ByteBuffer.wrap(decoded)), error),
            ByteBuffer.wrap(bytes), null);
      } catch (IllegalArgumentException nonFinite) {
        // NaN or infinity in the tensor: quantization cannot represent it, keep it lossless.
      }
    }
    TensorCodec codec = options.losslessCodec();
    long bound = codec.maxEncodedBytes(info.byteSize());
    byte[] buffer = bound > 0 && bound <= Integer.MAX_VALUE - 8 ? arrays.take((int) bound) : null;
    ByteBuffer bytes = codec.encode(info.dtype(), data, parentData, options.block(), wide, buffer);
    boolean delta = parentData != null;
    if (bytes.remaining() >= info.byteSize()) {
      // Raw is the tensor's bytes as they are: written straight from the input's mapping.
      codec = TensorCodec.RAW;
      delta = false;
      bytes = data.duplicate();
    }
    return new Encoded(entry(info, codec, delta, bytes.remaining(), crc(data), ErrorReport.EXACT), bytes, buffer);
  }

  private static TensorFileEntry entry(TensorInfo info, TensorCodec codec, boolean delta, long length, long crc, ErrorReport error) {
    return new TensorFileEntry(info.name(), info.dtype(), info.shape(), info.begin(), info.end(), codec, delta, -1, length, crc, error);
  }

  private static ErrorReport compare(ByteBuffer original, byte[] decoded) {
    FloatBuffer a = original.duplicate().order(ByteOrder.LITTLE_ENDIAN).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    FloatBuffer b = ByteBuffer.wrap(decoded).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    ErrorReport.Accumulator acc = new ErrorReport.Accumulator();
    for (int i = 0; i < a.remaining(); i++) {
      acc.add(a.get(i), b.get(i));
    }
    return acc.report();
  }

  /** A safetensors file's bytes before its tensor data: the 8-byte little-endian header length and the header. */
  static ByteBuffer headerRegion(byte[] headerBytes) {
    return ByteBuffer.allocate(8 + headerBytes.length).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).put(headerBytes)
        .flip();
  }

  static long crc(ByteBuffer data) {
    CRC32C crc = new CRC32C();
    crc.update(data.duplicate());
    return crc.getValue();
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot hash: the JDK lacks SHA-256", e);
    }
  }

  /** SHA-256 of a whole file, hex, read in 1 MiB pieces. */
  static String sha256(Path file) {
    MessageDigest digest = sha256();
    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel channel = FileChannel.open(file)) {
      while (channel.read(buffer) >= 0) {
        buffer.flip();
        digest.update(buffer);
        buffer.clear();
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // a parent given with --base is hashed before it is opened
      throw new NotFoundException("Cannot open safetensors file " + file + ": it does not exist");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot hash " + file, e);
    }
    return TensorFileFormat.hex(digest.digest());
  }

  static long writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    long written = 0;
    while (buffer.hasRemaining()) {
      written += channel.write(buffer, position + written);
    }
    return written;
  }

  static <T> T await(Future<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DharmanaException("Cannot finish: interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new DharmanaException("Cannot encode tensor: " + cause, cause);
    }
  }

  static java.util.concurrent.ThreadFactory daemonThreads() {
    return r -> {
      Thread t = new Thread(r, "dharmana-tensor-file");
      t.setDaemon(true);
      return t;
    };
  }
}
