package io.dharmana.tensor.file;

import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.AtomicFile;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.SafetensorsHeader;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.lossy.ErrorReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Reads a {@code .dhz} file: its index, single tensors (decoding only those), or the whole
 * safetensors file back.
 *
 * <p>{@link #open} checks the magic, version, trailer and header checksum, that the index lies
 * inside the file and covers the original's tensor data exactly, before any tensor is decoded;
 * that the index agrees with the embedded original safetensors header is checked on opening a
 * version 1 file and before the first lookup by name in a version 2 or 3 file (a full
 * decompression needs no lookup: the check of its output covers the header). Damaged files raise
 * {@link CorruptDataException} naming the file. Every decoded tensor is checked against its
 * CRC-32C. A full decompression of a version 1 or 2 file is checked against the SHA-256 of the
 * expected output; of a version 3 file, every byte written is covered by a CRC-32C (the header
 * region's, each tensor's), and the index by the CRC-32C of the whole output, which must follow
 * from those in index order ({@link Crc32cCombine}). Instances are safe for concurrent use.
 */
public final class TensorFileReader implements AutoCloseable {
  private final Path path;
  private final FileChannel channel;
  private final Arrival arrival;
  private final FileHeader header;
  private final Map<String, TensorFileEntry> byName = new LinkedHashMap<>();
  /** The entries of each tensor stored in pieces ({@link TensorPieces}), in order. */
  private final Map<String, List<TensorFileEntry>> pieces = new HashMap<>();
  private volatile boolean agreed;

  private TensorFileReader(Path path, FileChannel channel, Arrival arrival, FileHeader header, boolean agreed) {
    this.path = path;
    this.channel = channel;
    this.arrival = arrival;
    this.header = header;
    this.agreed = agreed;
    TensorFileEntry previous = null;
    for (TensorFileEntry e : header.tensors()) {
      if (previous != null && previous.name().equals(e.name())) {
        pieces.computeIfAbsent(e.name(), n -> new ArrayList<>(List.of(byName.get(n)))).add(e);
      }
      byName.put(e.name(), e);
      previous = e;
    }
  }

  /**
   * Opens and validates {@code path}.
   *
   * @throws NotFoundException if it does not exist
   * @throws InvalidDescriptorException if it is not a {@code .dhz} file (it bears neither signature)
   * @throws CorruptDataException if it is a damaged {@code .dhz} file
   */
  public static TensorFileReader open(Path path) {
    return open(path, Arrival.WHOLE);
  }

  /**
   * Bytes of a tensor file that is still being written (fetched) while it is read: the reader asks
   * for each range before it reads it, so that it can decode the first tensors while later ones are
   * on their way. The file must have its final size from the start.
   */
  @FunctionalInterface
  public interface Arrival {
    /** A file written whole before it is opened. */
    Arrival WHOLE = (position, length) -> { };

    /**
     * Returns once bytes {@code [position, position + length)} of the file are written; throws if
     * they never will be: the fetch's own unchecked exception (a {@link CorruptDataException} for a
     * damaged source passes through the reader as it is) or an {@link IOException}.
     */
    void await(long position, long length) throws IOException;
  }

  /**
   * As {@link #open(Path)}, for a file still being written: every read of it, the index's and each
   * tensor's, first waits on {@code arrival} for its bytes. A reader of a file that is fetched from
   * its end first (trailer and index) and then from its start decodes a tensor as soon as its bytes
   * are there, the tensors being laid out in the index's order.
   */
  public static TensorFileReader open(Path path, Arrival arrival) {
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot open tensor file " + path + ": it does not exist");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open tensor file " + path, e);
    }
    try {
      Opened opened = readHeader(path, channel, arrival);
      return new TensorFileReader(path, channel, arrival, opened.header(), opened.agreed());
    } catch (RuntimeException | IOException e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      if (e instanceof IOException io) {
        throw new UncheckedIOException("Cannot read tensor file " + path, io);
      }
      throw (RuntimeException) e;
    }
  }

  /** A validated header; {@code agreed} when it was also compared with the embedded safetensors header. */
  private record Opened(FileHeader header, boolean agreed) {}

  private static Opened readHeader(Path path, FileChannel channel, Arrival arrival) throws IOException {
    long size = channel.size();
    // a file with neither signature, the first bytes' nor the last bytes', is not a .dhz: the caller gave
    // the wrong file (invalid input); one with either whose checks fail is a damaged .dhz (corrupt data)
    byte[] magic = new byte[TensorFileFormat.MAGIC.length];
    if (size >= magic.length) {
      read(channel, arrival, 0, magic.length, path).get(magic);
    }
    if (!Arrays.equals(magic, TensorFileFormat.MAGIC)) {
      byte[] end = new byte[TensorFileFormat.END_MAGIC.length];
      if (size >= magic.length + end.length) {
        read(channel, arrival, size - end.length, end.length, path).get(end);
      }
      if (!Arrays.equals(end, TensorFileFormat.END_MAGIC)) {
        throw new InvalidDescriptorException("Invalid tensor file " + path + ": it does not start with DHARMANZ (not a .dhz file)");
      }
      throw new CorruptDataException("Cannot read tensor file " + path + ": it does not start with DHARMANZ (damaged signature)");
    }
    if (size < TensorFileFormat.PREAMBLE_BYTES + TensorFileFormat.TRAILER_BYTES) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": " + size + " bytes is too small (truncated)");
    }
    ByteBuffer preamble = read(channel, arrival, 0, TensorFileFormat.PREAMBLE_BYTES, path);
    preamble.position(magic.length);
    int version = preamble.getInt();
    if (version < TensorFileFormat.VERSION_JSON_HEADER || version > TensorFileFormat.VERSION_PIECES) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": format version " + version + " is not one of "
          + TensorFileFormat.VERSION_JSON_HEADER + ".." + TensorFileFormat.VERSION_PIECES);
    }
    ByteBuffer trailer = read(channel, arrival, size - TensorFileFormat.TRAILER_BYTES, TensorFileFormat.TRAILER_BYTES, path);
    long headerOffset = trailer.getLong();
    long headerLength = trailer.getLong();
    int headerCrc = trailer.getInt();
    byte[] end = new byte[4];
    trailer.get(end);
    long trailerStart = size - TensorFileFormat.TRAILER_BYTES;
    if (!Arrays.equals(end, TensorFileFormat.END_MAGIC)
        || headerOffset < TensorFileFormat.PREAMBLE_BYTES
        || headerLength < 0
        || headerLength > TensorFileFormat.MAX_HEADER_BYTES
        || headerOffset + headerLength != trailerStart) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": damaged or truncated trailer");
    }
    ByteBuffer stored = read(channel, arrival, headerOffset, (int) headerLength, path);
    CRC32C crc = new CRC32C();
    crc.update(stored.duplicate());
    if ((int) crc.getValue() != headerCrc) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": header checksum mismatch");
    }
    byte[] compressed = new byte[stored.remaining()];
    stored.get(compressed);
    // version 1 holds JSON here, versions 2 and 3 binary (BinaryHeader)
    long headerSize = com.github.luben.zstd.Zstd.getFrameContentSize(compressed);
    if (headerSize < 0 || headerSize > TensorFileFormat.MAX_HEADER_BYTES) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": header of " + headerSize + " bytes is damaged or too large");
    }
    byte[] headerBytes;
    try {
      headerBytes = com.github.luben.zstd.Zstd.decompress(compressed, (int) headerSize);
    } catch (RuntimeException e) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": damaged header (" + e.getMessage() + ")", e);
    }
    if (version != TensorFileFormat.VERSION_JSON_HEADER) {
      FileHeader header = BinaryHeader.read(headerBytes, path, version);
      validateLayout(path, header, headerOffset);
      return new Opened(header, false);
    }
    // Version 1: the embedded safetensors header is parsed on a second thread while this one reads the index:
    // each takes ~0.15 s in a cold JVM for 8,162 tensors, and no tensor decodes before both are done.
    FutureTask<Early> original = new FutureTask<>(() -> parseOriginal(FileHeader.peekOriginal(headerBytes)));
    Thread parser = new Thread(original, "dharmana-header");
    parser.setDaemon(true);
    parser.start();
    FileHeader header;
    try {
      header = FileHeader.parse(headerBytes);
    } catch (CorruptDataException e) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": " + e.getMessage(), e);
    }
    validate(path, header, headerOffset, early(header, original));
    return new Opened(header, true);
  }

  /** What {@link #parseOriginal} gave: the parsed header with its input, or the input with the reason it is invalid. */
  private record Early(FileHeader.Original input, SafetensorsHeader parsed, InvalidDescriptorException invalid) {}

  private static Early parseOriginal(FileHeader.Original input) {
    if (input == null) {
      return null;
    }
    try {
      return new Early(input, SafetensorsHeader.parse(input.header(), input.size() - 8 - input.header().length), null);
    } catch (InvalidDescriptorException e) {
      return new Early(input, null, e);
    }
  }

  /** The early parse when it read the very bytes {@code header} holds, else null. */
  private static Early early(FileHeader header, FutureTask<Early> original) {
    Early result;
    try {
      result = original.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      return null; // parsed again below, where the failure is reported
    }
    return result != null && result.input().size() == header.originalSize()
        && Arrays.equals(result.input().header(), header.originalHeader()) ? result : null;
  }

  private static void validate(Path path, FileHeader header, long payloadEnd, Early early) {
    SafetensorsHeader original;
    try {
      if (early == null) {
        original = parseEmbedded(header);
      } else if (early.invalid() != null) {
        throw early.invalid();
      } else {
        original = early.parsed();
      }
    } catch (InvalidDescriptorException e) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": embedded safetensors header is invalid: " + e.getMessage(), e);
    }
    checkAgreement(path, header, original);
    for (TensorFileEntry e : header.tensors()) {
      checkPayload(path, e, payloadEnd);
    }
  }

  private static SafetensorsHeader parseEmbedded(FileHeader header) {
    return SafetensorsHeader.parse(header.originalHeader(), header.originalSize() - 8 - header.originalHeader().length);
  }

  private static void checkAgreement(Path path, FileHeader header, SafetensorsHeader original) {
    TensorPieces.check(path, original.tensors(), header.tensors());
  }

  private static void checkPayload(Path path, TensorFileEntry e, long payloadEnd) {
    if (e.offset() < TensorFileFormat.PREAMBLE_BYTES || e.length() < 0 || e.offset() + e.length() > payloadEnd
        || e.length() > Integer.MAX_VALUE - 8) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": tensor " + e.name() + " lies outside the payload");
    }
  }

  /**
   * Checks a version 2 or 3 index on its own, without parsing the embedded safetensors header: the
   * tensors' byte ranges follow one another from 0 to the end of the original data, each as large as
   * its shape and dtype say, and their encodings lie in the payload. So a full decompression writes
   * exactly the original's size, and the check of its output (SHA-256 in version 2, CRC-32Cs in
   * version 3) then proves the header bytes and every tensor right.
   * Whether the names, dtypes and shapes agree with the embedded header is checked once a tensor is
   * looked up by name ({@link #agreed}).
   */
  private static void validateLayout(Path path, FileHeader header, long payloadEnd) {
    long dataLength = header.originalSize() - 8 - header.originalHeader().length;
    long end = 0;
    for (int i = 0; i < header.tensors().size(); i++) {
      TensorFileEntry e = header.tensors().get(i);
      if (e.begin() != end || e.end() < e.begin()) {
        throw new CorruptDataException("Cannot read tensor file " + path + ": index entry " + i + " (" + e.name() + ") covers bytes ["
            + e.begin() + ", " + e.end() + ") of the original data, not the range starting at " + end);
      }
      long elements = 1;
      try {
        for (long d : e.shape()) {
          elements = Math.multiplyExact(elements, d);
        }
        if (Math.multiplyExact(elements, e.dtype().size()) != e.originalBytes()) {
          elements = -1;
        }
      } catch (ArithmeticException overflow) {
        elements = -1;
      }
      if (elements < 0) {
        throw new CorruptDataException("Cannot read tensor file " + path + ": index entry " + i + " (" + e.name() + ") has "
            + e.originalBytes() + " bytes, not what its shape " + Arrays.toString(e.shape()) + " of " + e.dtype() + " holds");
      }
      checkPayload(path, e, payloadEnd);
      end = e.end();
    }
    if (end != dataLength) {
      throw new CorruptDataException("Cannot read tensor file " + path + ": the index covers " + end + " bytes of tensor data, the original "
          + "file of " + header.originalSize() + " bytes holds " + dataLength);
    }
  }

  /**
   * Versions 2 and 3: checks once, before the first tensor is looked up by name, that the index agrees with
   * the embedded safetensors header (version 1 files are checked when opened).
   */
  private void agreed() {
    if (agreed) {
      return;
    }
    synchronized (this) {
      if (!agreed) {
        SafetensorsHeader original;
        try {
          original = parseEmbedded(header);
        } catch (InvalidDescriptorException e) {
          throw new CorruptDataException("Cannot read tensor file " + path + ": embedded safetensors header is invalid: " + e.getMessage(), e);
        }
        checkAgreement(path, header, original);
        agreed = true;
      }
    }
  }

  private static ByteBuffer read(FileChannel channel, Arrival arrival, long position, int length, Path path) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, arrival, buffer, position, path);
    return buffer.flip();
  }

  private static void readFully(FileChannel channel, Arrival arrival, ByteBuffer buffer, long position, Path path) throws IOException {
    arrival.await(position, buffer.remaining());
    long pos = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, pos);
      if (n < 0) {
        throw new CorruptDataException("Cannot read tensor file " + path + ": ended at " + pos);
      }
      pos += n;
    }
  }

  public Path path() {
    return path;
  }

  /** The index, in the original file's order. */
  public List<TensorFileEntry> entries() {
    agreed();
    return header.tensors();
  }

  /**
   * The index entry of tensor {@code name}: its last piece for one stored in pieces (see {@link #entries(String)}).
   *
   * @throws NotFoundException if there is no tensor of that name
   */
  public TensorFileEntry entry(String name) {
    agreed();
    TensorFileEntry e = byName.get(name);
    if (e == null) {
      throw new NotFoundException("Cannot find tensor '" + name + "' in " + path);
    }
    return e;
  }

  /**
   * The index entries of tensor {@code name}: one, or its pieces in order.
   *
   * @throws NotFoundException if there is no tensor of that name
   */
  public List<TensorFileEntry> entries(String name) {
    TensorFileEntry last = entry(name);
    return pieces.getOrDefault(name, List.of(last));
  }

  /** Whether some tensors are stored approximately. */
  public boolean lossy() {
    return header.lossy();
  }

  /** Error over all quantized tensors. */
  public ErrorReport error() {
    return header.error();
  }

  public long originalSize() {
    return header.originalSize();
  }

  /** The SHA-256 of the original file, recorded by format versions 1 and 2; version 3 records CRC-32Cs instead. */
  public Optional<String> originalSha256() {
    return Optional.ofNullable(header.originalSha256());
  }

  /**
   * What a full decompression checks its output against: {@code "SHA-256"} (of the whole output,
   * format versions 1 and 2) or {@code "CRC-32C"} (of the header region and of every tensor, version 3).
   */
  public String outputCheck() {
    return header.checkedByCrc() ? "CRC-32C" : "SHA-256";
  }

  /** The stages the tensors went through, as readable descriptions. */
  public List<String> chain() {
    return Collections.unmodifiableList(header.chain());
  }

  /** The parent's file name when the file is delta-coded. */
  public Optional<String> parentName() {
    return Optional.ofNullable(header.parentName());
  }

  public Optional<String> parentSha256() {
    return Optional.ofNullable(header.parentSha256());
  }

  /** The original safetensors header bytes (without the 8-byte length). */
  public byte[] originalHeader() {
    return header.originalHeader().clone();
  }

  /**
   * Opens {@code base} as this file's parent after checking its SHA-256; returns null when the
   * file is not delta-coded.
   *
   * @throws InvalidDescriptorException if a parent is needed but {@code base} is null or the wrong file
   */
  public SafetensorsFile openParent(Path base) {
    if (header.parentName() == null) {
      return null;
    }
    if (base == null) {
      throw new InvalidDescriptorException("Cannot decode " + path + ": it is delta-coded against " + header.parentName()
          + " (SHA-256 " + header.parentSha256() + "); give that file as the base");
    }
    String sha = TensorFileWriter.sha256(base);
    if (!sha.equals(header.parentSha256())) {
      throw new InvalidDescriptorException("Cannot decode " + path + " against " + base + ": its SHA-256 is " + sha
          + " but the file was coded against " + header.parentName() + " with SHA-256 " + header.parentSha256());
    }
    return Safetensors.open(base);
  }

  /**
   * A delta-coded file's parent as its decode reads it: a tensor's bytes by name. Safe for
   * concurrent use; may wait for bytes still on their way (a parent that is itself being decoded).
   */
  @FunctionalInterface
  public interface ParentTensors {
    /**
     * Bytes {@code [from, from + length)} of the parent's tensor {@code name}, from the buffer's
     * position to its limit (a tensor stored in pieces is read a piece at a time).
     *
     * @throws NotFoundException if the parent holds no such tensor
     */
    ByteBuffer data(String name, long from, int length);
  }

  private static ParentTensors tensorsOf(SafetensorsFile parent) {
    return parent == null ? null : parent::data;
  }

  /**
   * Decodes one tensor without touching the others.
   *
   * @param parent the file returned by {@link #openParent}, required when the tensor is delta-coded
   * @throws CorruptDataException if its bytes are damaged
   */
  public Tensor tensor(String name, SafetensorsFile parent) {
    List<TensorFileEntry> parts = entries(name);
    TensorFileEntry first = parts.get(0);
    long size = parts.get(parts.size() - 1).end() - first.begin();
    if (size > Integer.MAX_VALUE - 8) {
      throw new DharmanaException("Cannot read tensor '" + name + "' of " + path + " alone: its " + size + " bytes are more than "
          + "one array holds (it is stored in pieces); decompress the whole file");
    }
    byte[] bytes = new byte[(int) size];
    byte[] encoded = new byte[(int) parts.stream().mapToLong(TensorFileEntry::length).max().orElse(0)];
    for (TensorFileEntry e : parts) {
      decode(e, tensorsOf(parent), false, encoded, bytes, (int) (e.begin() - first.begin()));
    }
    long[] shape = first.shape();
    if (parts.size() > 1) {
      shape[0] = parts.stream().mapToLong(e -> e.shape()[0]).sum(); // pieces of rows
    }
    return Tensor.of(name, first.dtype(), shape, ByteBuffer.wrap(bytes));
  }

  private int checkedSize(TensorFileEntry e) {
    if (e.originalBytes() > Integer.MAX_VALUE - 8) {
      throw new CorruptDataException("Cannot decode tensor " + e.name() + ": " + e.originalBytes() + " bytes exceed one array");
    }
    return (int) e.originalBytes();
  }

  /**
   * Decodes {@code e} into {@code bytes[at..at + originalBytes)}, reading its encoding through
   * {@code encoded} (at least {@code e.length()} bytes) and checking its CRC-32C.
   */
  private void decode(TensorFileEntry e, ParentTensors parent, boolean wide, byte[] encoded, byte[] bytes, int at) {
    int size = checkedSize(e);
    int length = (int) e.length();
    try {
      readFully(channel, arrival, ByteBuffer.wrap(encoded, 0, length), e.offset(), path);
    } catch (IOException ex) {
      throw new UncheckedIOException("Cannot read tensor " + e.name() + " of " + path, ex);
    }
    decodeRead(e, parent, wide, encoded, 0, bytes, at);
    checkCrc(e, bytes, at);
  }

  /** Decodes {@code e}, whose encoding is at {@code encoded[from..]}, into {@code bytes[at..]}. */
  private void decodeRead(TensorFileEntry e, ParentTensors parent, boolean wide, byte[] encoded, int from, byte[] bytes, int at) {
    ByteBuffer parentData = null;
    if (e.delta()) {
      if (parent == null) {
        throw new InvalidDescriptorException("Cannot decode tensor " + e.name() + " of " + path + ": it is delta-coded against "
            + header.parentName() + ", which was not given");
      }
      try {
        List<TensorFileEntry> parts = pieces.get(e.name());
        parentData = parent.data(e.name(), parts == null ? 0 : e.begin() - parts.get(0).begin(), checkedSize(e));
      } catch (IndexOutOfBoundsException shorter) {
        parentData = null;
      }
      if (parentData == null || parentData.remaining() != e.originalBytes()) {
        throw new InvalidDescriptorException("Cannot decode tensor " + e.name() + ": the parent's tensor has another size");
      }
    }
    ByteBuffer out = ByteBuffer.wrap(bytes, at, checkedSize(e)).slice().order(ByteOrder.LITTLE_ENDIAN);
    try {
      e.codec().decode(encoded, from, (int) e.length(), e.dtype(), parentData, out, wide);
    } catch (CorruptDataException ex) {
      throw new CorruptDataException("Cannot decode tensor " + e.name() + " of " + path + ": " + ex.getMessage(), ex);
    } catch (RuntimeException ex) {
      throw new CorruptDataException("Cannot decode tensor " + e.name() + " of " + path + ": damaged data (" + ex + ")", ex);
    }
    if (out.hasRemaining()) {
      throw new CorruptDataException("Cannot decode tensor " + e.name() + " of " + path + ": decoded too few bytes");
    }
  }

  private void checkCrc(TensorFileEntry e, byte[] bytes, int at) {
    if (TensorFileWriter.crc(ByteBuffer.wrap(bytes, at, (int) e.originalBytes())) != e.crc32c()) {
      throw new CorruptDataException("Cannot decode tensor " + e.name() + " of " + path + ": CRC-32C mismatch, the data is damaged");
    }
  }

  /**
   * Writes the whole safetensors file to {@code output} (atomically), decoding tensors on
   * {@code threads} threads, and verifies it ({@link #outputCheck}).
   *
   * @param base the parent file when this file is delta-coded, else null (ignored)
   */
  public CompressionResult decompress(Path output, Path base, int threads) {
    return decompress(output, base, threads, ProgressListener.NONE);
  }

  /**
   * As {@link #decompress(Path, Path, int)}, telling {@code progress} how many bytes of the output
   * are written, of {@link #originalSize()}, after each tensor (one call at a time).
   */
  public CompressionResult decompress(Path output, Path base, int threads, ProgressListener progress) {
    if (threads < 1) {
      throw new InvalidDescriptorException("Invalid threads " + threads + ": must be >= 1");
    }
    long start = System.nanoTime();
    try (SafetensorsFile parent = openParent(base)) {
      ParentTensors tensors = tensorsOf(parent);
      AtomicFile.write(output, channel -> {
        if (header.checkedByCrc()) {
          decodeAllInPlace(channel, tensors, threads, progress, verified -> { }, true);
        } else {
          decodeAll(channel, tensors, threads, progress);
        }
      });
      double seconds = (System.nanoTime() - start) / 1e9;
      return new CompressionResult(Files.size(path), Files.size(output), seconds, !header.lossy(), header.error(), header.tensors());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot decompress " + path, e);
    }
  }

  /**
   * Writes the whole safetensors file into {@code out} from its start, as {@link #decompress(Path,
   * Path, int)} does but into a channel the caller owns and without forcing it to disk, and tells
   * {@code verified} how far the output may be used while the rest is still being decoded: a call
   * with {@code n} means bytes {@code [0, n)} of {@code out} are written and verified. Calls come one
   * at a time, on any thread, with {@code n} growing, the last with {@link #originalSize()}.
   *
   * <p>Version 3 checks the header region and the index (the whole output's CRC-32C follows from
   * the parts') before it writes a byte, and each tensor by its CRC-32C before it writes it; so
   * {@code n} grows as the header region and then each run of tensors from the start is written.
   * Versions 1 and 2 are verified only by the SHA-256 of the whole output: one call, after it.
   * On failure this throws, and bytes of {@code out} beyond the last {@code n} must not be used.
   *
   * @param parent the parent's tensors when this file is delta-coded, else null (ignored). Unlike
   *     a parent file given by path ({@link #openParent}), its SHA-256 is not checked (that would
   *     need all of it before the first tensor): the caller must know it is the right parent. A
   *     wrong one is still caught, by the CRC-32C of every tensor decoded against it.
   */
  public void decompress(FileChannel out, ParentTensors parent, int threads, LongConsumer verified) {
    if (threads < 1) {
      throw new InvalidDescriptorException("Invalid threads " + threads + ": must be >= 1");
    }
    try {
      if (header.checkedByCrc()) {
        decodeAllInPlace(out, parent, threads, ProgressListener.NONE, verified, false);
      } else {
        decodeAll(out, parent, threads, ProgressListener.NONE);
        verified.accept(header.originalSize());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot decompress " + path, e);
    }
  }

  /**
   * Version 3: every thread decodes whole runs of tensors (see {@link #RUN_BYTES}) and writes each
   * straight to its place in the output, checked by the tensors' CRC-32Cs on that thread; nothing
   * serial runs behind them. One thread leaves the checks and writes to a {@link WriteBehind}. The header
   * region and the index are checked before any tensor is decoded. {@code verified} hears of the
   * prefix of the output written so far (threads finish runs out of order); {@code writeBack}
   * sends the output to disk as it goes, for a caller that forces it at the end.
   */
  private void decodeAllInPlace(FileChannel out, ParentTensors parent, int threads, ProgressListener progress,
      LongConsumer verified, boolean writeBack) throws IOException {
    ByteBuffer prefix = TensorFileWriter.headerRegion(header.originalHeader());
    long headerCrc = TensorFileWriter.crc(prefix);
    if (headerCrc != header.headerCrc32c()) {
      throw new CorruptDataException("Cannot decompress " + path + ": the original's header region (" + prefix.remaining()
          + " bytes) fails its CRC-32C");
    }
    List<TensorFileEntry> entries = header.tensors();
    // The whole output's CRC-32C follows from the parts': a damaged or reordered index that still
    // lays the tensors out end to end is caught here, as the SHA-256 of the output catches it in version 2.
    long whole = headerCrc;
    for (TensorFileEntry e : entries) {
      whole = Crc32cCombine.combine(whole, e.crc32c(), e.originalBytes());
    }
    if (whole != header.decodedCrc32c()) {
      throw new CorruptDataException("Cannot decompress " + path + ": the index's tensors (order, sizes or CRC-32Cs) do not give "
          + "the recorded CRC-32C of the whole output");
    }
    long dataStart = TensorFileWriter.writeFully(out, prefix, 0);
    verified.accept(dataStart);
    List<Run> runs = runs(entries);
    ArrayPool encodedArrays = new ArrayPool();
    ArrayPool decodedArrays = new ArrayPool();
    try (EarlyWriteback writeback = new EarlyWriteback(out, writeBack ? EarlyWriteback.STEP_BYTES : Long.MAX_VALUE)) {
      if (threads == 1) {
        decodeRuns(out, parent, runs, dataStart, encodedArrays, decodedArrays, writeback, progress, verified);
        return;
      }
      AtomicInteger next = new AtomicInteger();
      AtomicLong written = new AtomicLong(dataStart);
      long[] reported = {dataStart}; // threads reach the lock in any order: progress only goes up
      boolean[] done = new boolean[runs.size()];
      int[] prefixEnd = {0}; // runs [0, prefixEnd) are all written
      long[] verifiedEnd = {dataStart};
      InParallel.run(threads, () -> {
        for (int r; (r = next.getAndIncrement()) < runs.size(); ) {
          try {
            Run run = runs.get(r);
            byte[] decoded = decodeRun(run, parent, threads, encodedArrays, decodedArrays);
            checkAndWriteRun(out, run, decoded, dataStart);
            decodedArrays.give(decoded);
            long total = written.addAndGet(run.size());
            synchronized (writeback) {
              writeback.written(total);
              if (total > reported[0]) {
                reported[0] = total;
                progress.progress(total, header.originalSize());
              }
              done[r] = true;
              if (r == prefixEnd[0]) {
                while (prefixEnd[0] < done.length && done[prefixEnd[0]]) {
                  prefixEnd[0]++;
                }
                long end = dataStart + runs.get(prefixEnd[0] - 1).end();
                if (end > verifiedEnd[0]) { // a run of empty tensors adds nothing
                  verifiedEnd[0] = end;
                  verified.accept(end);
                }
              }
            }
          } catch (IOException | RuntimeException ex) {
            next.set(runs.size()); // the other threads take no further run
            throw ex;
          }
        }
      });
    }
  }

  /**
   * Bytes of decoded tensors (and at most as many of encodings) that a thread of a full
   * decompression reads, decodes and writes at once: one read and one write per run, not per
   * tensor (a checkpoint may hold thousands of tensors of a few hundred bytes), and a run's
   * encoding and its decoding stay in the decoding core's 2 MiB cache (on this project's machines,
   * runs of 2 and 4 MiB decompressed 20-25% slower than 1 MiB).
   */
  static final int RUN_BYTES = 1 << 20;

  /**
   * Version 3 on one decoding thread: it reads and decodes each run, while a {@link WriteBehind}
   * checks the previous run's CRC-32Cs and writes it. The output and its verified prefix grow in
   * order.
   */
  private void decodeRuns(FileChannel out, ParentTensors parent, List<Run> runs, long dataStart, ArrayPool encodedArrays,
      ArrayPool decodedArrays, EarlyWriteback writeback, ProgressListener progress, LongConsumer verified) {
    long verifiedEnd = dataStart;
    try (WriteBehind writes = new WriteBehind()) {
      for (Run run : runs) {
        byte[] decoded = decodeRun(run, parent, 1, encodedArrays, decodedArrays);
        long end = dataStart + run.end();
        boolean grows = end > verifiedEnd; // a run of empty tensors adds nothing
        verifiedEnd = end;
        writes.write(() -> {
          try {
            checkAndWriteRun(out, run, decoded, dataStart);
          } catch (IOException ex) {
            throw new UncheckedIOException("Cannot write the decompressed file", ex);
          }
          decodedArrays.give(decoded);
          if (grows) {
            writeback.written(end);
            progress.progress(end, header.originalSize());
            verified.accept(end);
          }
        });
      }
      writes.finish();
    }
  }

  /**
   * Consecutive tensors stored end to end and restored end to end: their encodings at {@code
   * [offset, offset + length)} of the file, their bytes at {@code [begin, begin + size)} of the
   * original's tensor data.
   */
  private record Run(List<TensorFileEntry> tensors, long offset, long length, long begin, long size) {
    static Run of(List<TensorFileEntry> tensors) {
      TensorFileEntry first = tensors.get(0);
      TensorFileEntry last = tensors.get(tensors.size() - 1);
      return new Run(tensors, first.offset(), last.offset() + last.length() - first.offset(), first.begin(),
          last.end() - first.begin());
    }

    long end() {
      return begin + size;
    }
  }

  /** The tensors in runs of up to {@link #RUN_BYTES} either way (a larger tensor alone). */
  private static List<Run> runs(List<TensorFileEntry> entries) {
    List<Run> runs = new ArrayList<>();
    int first = 0;
    for (int i = 1; i <= entries.size(); i++) {
      if (i < entries.size()) {
        TensorFileEntry start = entries.get(first);
        TensorFileEntry prev = entries.get(i - 1);
        TensorFileEntry e = entries.get(i);
        boolean adjacent = e.offset() == prev.offset() + prev.length() && e.begin() == prev.end();
        if (adjacent && e.offset() + e.length() - start.offset() <= RUN_BYTES && e.end() - start.begin() <= RUN_BYTES) {
          continue;
        }
      }
      if (first < i) {
        runs.add(Run.of(entries.subList(first, i)));
      }
      first = i;
    }
    return runs;
  }

  /**
   * Reads a run's encodings with one read and decodes them into an array from {@code
   * decodedArrays}, unchecked; a tensor larger than a thread's share decodes on several threads.
   */
  private byte[] decodeRun(Run run, ParentTensors parent, int threads, ArrayPool encodedArrays, ArrayPool decodedArrays) {
    TensorFileEntry first = run.tensors().get(0);
    if (Math.max(run.length(), run.size()) > Integer.MAX_VALUE - 8) {
      throw new CorruptDataException("Cannot decode tensor " + first.name() + " of " + path + ": "
          + Math.max(run.length(), run.size()) + " bytes exceed one array");
    }
    byte[] encoded = encodedArrays.take((int) run.length());
    try {
      readFully(channel, arrival, ByteBuffer.wrap(encoded, 0, (int) run.length()), run.offset(), path);
    } catch (IOException ex) {
      throw new UncheckedIOException("Cannot read tensor " + first.name() + " of " + path, ex);
    }
    byte[] decoded = decodedArrays.take((int) run.size());
    for (TensorFileEntry e : run.tensors()) {
      boolean wide = threads > 1 && e.originalBytes() * threads > header.originalSize();
      decodeRead(e, parent, wide, encoded, (int) (e.offset() - run.offset()), decoded, (int) (e.begin() - run.begin()));
    }
    encodedArrays.give(encoded);
    return decoded;
  }

  /** Checks each tensor of a decoded run by its CRC-32C, then writes the run to its place in the output. */
  private void checkAndWriteRun(FileChannel out, Run run, byte[] decoded, long dataStart) throws IOException {
    for (TensorFileEntry e : run.tensors()) {
      checkCrc(e, decoded, (int) (e.begin() - run.begin()));
    }
    TensorFileWriter.writeFully(out, ByteBuffer.wrap(decoded, 0, (int) run.size()), dataStart + run.begin());
  }

  /**
   * Decodes one tensor of a full decompression into an array from {@code decodedArrays} (its first
   * {@code originalBytes()} bytes; to be given back once written). Encoded bytes are needed only
   * while the tensor decodes; a tensor larger than a thread's share decodes on several threads.
   */
  private byte[] decodePooled(TensorFileEntry e, ParentTensors parent, int threads, ArrayPool encodedArrays,
      ArrayPool decodedArrays) {
    boolean wide = threads > 1 && e.originalBytes() * threads > header.originalSize();
    byte[] bytes = decodedArrays.take(checkedSize(e));
    byte[] encoded = encodedArrays.take((int) e.length());
    decode(e, parent, wide, encoded, bytes, 0);
    encodedArrays.give(encoded);
    return bytes;
  }

  private void decodeAll(FileChannel out, ParentTensors parent, int threads, ProgressListener progress) throws IOException {
    MessageDigest digest = TensorFileWriter.sha256();
    ByteBuffer prefix = TensorFileWriter.headerRegion(header.originalHeader());
    digest.update(prefix.duplicate());
    long position = TensorFileWriter.writeFully(out, prefix, 0);
    List<TensorFileEntry> entries = header.tensors();
    // Encoded bytes are needed only while a tensor decodes, decoded bytes until they are written.
    ArrayPool encodedArrays = new ArrayPool();
    ArrayPool decodedArrays = new ArrayPool();
    long[] end = {position};
    try (EarlyWriteback writeback = new EarlyWriteback(out)) {
      InOrder.<byte[]>run(entries.size(), threads, i -> entries.get(i).originalBytes(),
          i -> decodePooled(entries.get(i), parent, threads, encodedArrays, decodedArrays), (i, bytes) -> {
        int size = (int) entries.get(i).originalBytes();
        digest.update(bytes, 0, size);
        end[0] += TensorFileWriter.writeFully(out, ByteBuffer.wrap(bytes, 0, size), end[0]);
        decodedArrays.give(bytes);
        writeback.written(end[0]);
        progress.progress(end[0], header.originalSize());
      });
    }
    String sha = TensorFileFormat.hex(digest.digest());
    if (!sha.equals(header.decodedSha256())) {
      throw new CorruptDataException("Cannot decompress " + path + ": output SHA-256 " + sha + " differs from the recorded "
          + header.decodedSha256());
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close " + path, e);
    }
  }
}
