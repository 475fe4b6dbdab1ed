package io.dharmana.dataset.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.CorruptDataException;
import io.dharmana.dataset.Sample;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageListener;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.store.BlobInput;
import io.dharmana.store.MappedLength;
import io.dharmana.store.SupportsMapping;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;

/**
 * Reads samples of one shard ({@link ShardFormat}) by position. Thread-safe: reads are
 * positioned, and decoded blocks are kept in a small LRU so that neighbouring samples of a
 * compressed block are decoded once. Does not close the {@link BlobInput}; the caller owns it.
 *
 * <p>A shard without stages whose input {@link SupportsMapping maps} (a local file) is mapped
 * once; its samples are then read-only views of the page cache, checked against their CRC32C in
 * place, as cheap as {@code cat} reading the file. Views stay valid after the input is closed.
 */
public final class ShardReader {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int DECODED_BLOCKS_KEPT = 4;
  /**
   * Largest coalesced read of consecutive samples. Only inputs that cannot be mapped read runs (an
   * object store: one ranged GET per run), so a run is as large as the S3 store's read part: in
   * dataset-s3-read.sh's in-order reads, 4 and 8 MiB runs gave 1.09-1.20x and 0.88-0.97x the AWS
   * CLI's MB/s where 1 MiB runs gave 0.66x and 0.82x (two rounds, machine loaded).
   */
  private static final long RUN_BYTES = 8 << 20;

  private final String name;
  private final BlobInput input;
  private final long firstSample;
  private final StageChain chain;
  private final boolean identity;
  private final long[] blockOffset;
  private final int[] blockStored;
  private final int[] blockRaw;
  private final int[] blockCrc;
  private final int[] sampleBlock;
  private final int[] sampleOffset;
  private final String[] sampleKey;
  private final String[][] fieldNames;
  private final int[][] fieldLengths;
  private final byte[][] restore;
  private final int[] sampleCrc;
  private final byte[][] sampleSha;
  // the whole file mapped read-only when the store allows it and blocks are stored as is: samples
  // are then views of the page cache, verified in place and never copied (null otherwise)
  private final ByteBuffer mapped;
  // the shard file's length for reads through the mapping (null without one)
  private final MappedLength mappedLength;
  private final Map<Integer, byte[]> decoded = new LinkedHashMap<>(8, 0.75f, true);
  private final LongAdder storedBytesRead = new LongAdder();

  private ShardReader(String name, BlobInput input, long firstSample, StageChain chain, ByteBuffer table, int tableBlocks) {
    this.name = name;
    this.input = input;
    this.firstSample = firstSample;
    this.chain = chain;
    this.identity = chain.stages().isEmpty();
    this.mapped = identity ? map(input) : null;
    this.mappedLength = mapped != null ? new MappedLength((SupportsMapping) input) : null;
    blockOffset = new long[tableBlocks];
    blockStored = new int[tableBlocks];
    blockRaw = new int[tableBlocks];
    blockCrc = new int[tableBlocks];
    for (int b = 0; b < tableBlocks; b++) {
      blockOffset[b] = table.getLong();
      blockStored[b] = table.getInt();
      blockRaw[b] = table.getInt();
      blockCrc[b] = table.getInt();
      if (blockOffset[b] < 0 || blockOffset[b] + blockStored[b] > input.length() || blockStored[b] < 0 || blockRaw[b] < 0) {
        throw corrupt("block " + b + " lies outside the file");
      }
    }
    int n = table.getInt();
    if (n < 0 || n > input.length()) {
      throw corrupt("sample count " + n + " is impossible");
    }
    sampleBlock = new int[n];
    sampleOffset = new int[n];
    sampleKey = new String[n];
    fieldNames = new String[n][];
    fieldLengths = new int[n][];
    restore = new byte[n][];
    sampleCrc = new int[n];
    sampleSha = new byte[n][];
    for (int s = 0; s < n; s++) {
      sampleBlock[s] = table.getInt();
      sampleOffset[s] = table.getInt();
      sampleKey[s] = readShortString(table);
      int fields = Short.toUnsignedInt(table.getShort());
      fieldNames[s] = new String[fields];
      fieldLengths[s] = new int[fields];
      long total = 0;
      for (int f = 0; f < fields; f++) {
        fieldNames[s][f] = readShortString(table);
        fieldLengths[s][f] = table.getInt();
        total += fieldLengths[s][f];
      }
      int restoreLength = table.getInt();
      if (restoreLength < 0 || restoreLength > table.remaining()) {
        throw corrupt("sample " + s + " has a restore length of " + restoreLength);
      }
      restore[s] = bytes(table, restoreLength);
      sampleCrc[s] = table.getInt();
      sampleSha[s] = bytes(table, 32);
      int b = sampleBlock[s];
      if (b < 0 || b >= tableBlocks || sampleOffset[s] < 0 || sampleOffset[s] + total > blockRaw[b]) {
        throw corrupt("sample " + s + " (" + sampleKey[s] + ") lies outside its block");
      }
    }
  }

  private static ByteBuffer map(BlobInput input) {
    if (!(input instanceof SupportsMapping m) || input.length() > Integer.MAX_VALUE) {
      return null;
    }
    try {
      return m.map(0, input.length());
    } catch (IOException | UnsupportedOperationException e) {
      // not every file system maps; positioned reads still work
      return null;
    }
  }

  /**
   * Opens a shard: reads and checks its trailer, table and header.
   *
   * @param name the shard's key, used in error messages
   * @param firstSample dataset index of the shard's first sample
   * @throws CorruptDataException naming the shard when the file is not a readable shard
   */
  public static ShardReader open(String name, BlobInput input, long firstSample) {
    try {
      long length = input.length();
      if (length < ShardFormat.TRAILER_BYTES + 16) {
        throw new CorruptDataException("Cannot read shard " + name + ": " + length + " bytes is too short to be a shard");
      }
      ByteBuffer trailer = ByteBuffer.wrap(input.readFully(length - ShardFormat.TRAILER_BYTES, ShardFormat.TRAILER_BYTES));
      long tableOffset = trailer.getLong();
      int tableLength = trailer.getInt();
      int tableCrc = trailer.getInt();
      byte[] endMagic = new byte[8];
      trailer.get(endMagic);
      if (!Arrays.equals(endMagic, ShardFormat.END_MAGIC)) {
        throw new CorruptDataException("Cannot read shard " + name + ": no end marker (truncated or not a shard)");
      }
      if (tableOffset < 0 || tableLength < 8 || tableOffset + tableLength != length - ShardFormat.TRAILER_BYTES) {
        throw new CorruptDataException("Cannot read shard " + name + ": table at " + tableOffset + " of " + tableLength + " bytes is out of bounds");
      }
      byte[] table = input.readFully(tableOffset, tableLength);
      CRC32C crc = new CRC32C();
      crc.update(table);
      if ((int) crc.getValue() != tableCrc) {
        throw new CorruptDataException("Cannot read shard " + name + ": its sample table failed CRC32C verification");
      }
      ByteBuffer head = ByteBuffer.wrap(input.readFully(0, 16));
      byte[] magic = new byte[8];
      head.get(magic);
      if (!Arrays.equals(magic, ShardFormat.MAGIC)) {
        throw new CorruptDataException("Cannot read shard " + name + ": bad magic (not a Dharmana shard)");
      }
      int version = head.getInt();
      if (version != ShardFormat.VERSION) {
        throw new CorruptDataException("Cannot read shard " + name + ": format version " + version + " is not readable (this build reads 1)");
      }
      int headerLength = head.getInt();
      if (headerLength < 0 || headerLength > tableOffset) {
        throw new CorruptDataException("Cannot read shard " + name + ": header length " + headerLength + " is out of bounds");
      }
      JsonNode header = JSON.readTree(input.readFully(16, headerLength));
      JsonNode stages = header == null ? null : header.get("stages");
      // binding StageSpec records costs milliseconds on first use; uncompressed shards have no stages
      List<StageSpec> specs = stages == null || stages.isEmpty() ? List.of() : JSON.convertValue(stages, new TypeReference<List<StageSpec>>() {});
      StageChain chain = specs.isEmpty() ? new StageChain(List.of()) : Stages.chain(specs, StageContext.system());
      // parsed from a buffer, not a DataInputStream: a stream costs a call per byte, which shows
      // when a shuffled epoch opens every shard in its first batch
      ByteBuffer in = ByteBuffer.wrap(table);
      int blocks = in.getInt();
      if (blocks < 0 || blocks > length) {
        throw new CorruptDataException("Cannot read shard " + name + ": block count " + blocks + " is impossible");
      }
      try {
        return new ShardReader(name, input, firstSample, chain, in, blocks);
      } catch (BufferUnderflowException e) {
        throw new CorruptDataException("Cannot read shard " + name + ": its sample table ends early", e);
      }
    } catch (IOException e) {
      throw new CorruptDataException("Cannot read shard " + name + ": " + e, e);
    }
  }

  public String name() {
    return name;
  }

  public int sampleCount() {
    return sampleKey.length;
  }

  public List<StageSpec> stages() {
    return chain.specs();
  }

  public String key(int sample) {
    return sampleKey[sample];
  }

  public byte[] restore(int sample) {
    return restore[sample].clone();
  }

  public List<String> fieldNames(int sample) {
    return List.of(fieldNames[sample]);
  }

  public String sha256(int sample) {
    return HexFormat.of().formatHex(sampleSha[sample]);
  }

  /** Decoded bytes of a sample (all fields), as stored in the table. */
  public long sampleSize(int sample) {
    long n = 0;
    for (int len : fieldLengths[sample]) {
      n += len;
    }
    return n;
  }

  /** Stored bytes this reader has read so far. */
  public long storedBytesRead() {
    return storedBytesRead.sum();
  }

  /**
   * Reads sample {@code sample} (0-based within the shard) and checks its CRC32C.
   *
   * @throws CorruptDataException naming the shard and the sample when its bytes fail verification
   */
  public Sample read(int sample, StageListener listener) {
    return read(sample, listener, null);
  }

  /** As {@link #read(int, StageListener)}, adding the stored bytes it read to {@code alsoCount} too (when not null). */
  private Sample read(int sample, StageListener listener, LongAdder alsoCount) {
    int length = (int) sampleSize(sample);
    if (mapped != null) {
      int offset = Math.toIntExact(blockOffset[sampleBlock[sample]] + sampleOffset[sample]);
      checkInFile(sample, offset, length);
      counted(length, alsoCount);
      return slice(sample, mapped, offset, length);
    }
    byte[] bytes;
    int offset;
    try {
      if (identity) {
        bytes = input.readFully(blockOffset[sampleBlock[sample]] + sampleOffset[sample], length);
        counted(length, alsoCount);
        offset = 0;
      } else {
        bytes = block(sampleBlock[sample], sample, listener, alsoCount);
        offset = sampleOffset[sample];
      }
    } catch (IOException e) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": " + e, e);
    }
    return slice(sample, bytes, offset, length);
  }

  /**
   * Reads {@code count} consecutive samples from {@code first}. Without stages the samples lie
   * back to back in the file: from a mapped file each is a view of it; otherwise they are read
   * with one positioned read (as {@code cat} would) and handed out as slices of it. With stages
   * each is read as by {@link #read}.
   */
  public Sample[] readRun(int first, int count, StageListener listener) {
    return readRun(first, count, listener, null, null, null);
  }

  /**
   * As {@link #readRun(int, int, StageListener)}, reading into arrays from {@code pool} (when not
   * null) and adding each to {@code taken}, so that the caller can give them back once the samples
   * are no longer used; the stored bytes read are added to {@code alsoCount} too (when not null).
   */
  public Sample[] readRun(int first, int count, StageListener listener, BufferPool pool, java.util.List<ByteBuffer> taken,
      LongAdder alsoCount) {
    Sample[] out = new Sample[count];
    if (!identity || mapped != null) {
      for (int i = 0; i < count; i++) {
        out[i] = read(first + i, listener, alsoCount);
      }
      return out;
    }
    int done = 0;
    while (done < count) {
      // bounded reads: one large array per run would be a humongous allocation for the collector
      int n = 1;
      long bytes = sampleSize(first + done);
      while (done + n < count && bytes + sampleSize(first + done + n) <= RUN_BYTES) {
        bytes += sampleSize(first + done + n);
        n++;
      }
      readContiguous(first + done, n, out, done, pool, taken, alsoCount);
      done += n;
    }
    return out;
  }

  private void readContiguous(int first, int count, Sample[] out, int at, BufferPool pool, java.util.List<ByteBuffer> taken,
      LongAdder alsoCount) {
    long start = blockOffset[sampleBlock[first]] + sampleOffset[first];
    int last = first + count - 1;
    long stop = blockOffset[sampleBlock[last]] + sampleOffset[last] + sampleSize(last);
    int length = Math.toIntExact(stop - start);
    ByteBuffer bytes;
    try {
      if (pool == null) {
        bytes = ByteBuffer.wrap(input.readFully(start, length));
      } else {
        bytes = pool.take(length);
        taken.add(bytes);
        ByteBuffer dst = bytes.duplicate();
        long pos = start;
        while (dst.hasRemaining()) {
          int n = input.read(pos, dst);
          if (n < 0) {
            throw new java.io.EOFException("shard ends at " + pos + ", before " + stop);
          }
          pos += n;
        }
      }
    } catch (IOException e) {
      throw new CorruptDataException("Cannot read samples " + (firstSample + first) + ".." + (firstSample + last) + " of shard " + name
          + ": " + e, e);
    }
    counted(length, alsoCount);
    for (int i = 0; i < count; i++) {
      int s = first + i;
      int offset = (int) (blockOffset[sampleBlock[s]] + sampleOffset[s] - start);
      out[at + i] = slice(s, bytes, offset, (int) sampleSize(s));
    }
  }

  private Sample slice(int sample, ByteBuffer bytes, int offset, int length) {
    if (bytes.hasArray()) {
      return slice(sample, bytes.array(), bytes.arrayOffset() + offset, length);
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes.duplicate().position(offset).limit(offset + length));
    if ((int) crc.getValue() != sampleCrc[sample]) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": its bytes failed CRC32C verification");
    }
    Map<String, ByteBuffer> fields = new LinkedHashMap<>();
    int pos = offset;
    for (int f = 0; f < fieldNames[sample].length; f++) {
      fields.put(fieldNames[sample][f], bytes.duplicate().position(pos).limit(pos + fieldLengths[sample][f]).slice().asReadOnlyBuffer());
      pos += fieldLengths[sample][f];
    }
    return new Sample(firstSample + sample, sampleKey[sample], fields);
  }

  private Sample slice(int sample, byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    if ((int) crc.getValue() != sampleCrc[sample]) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": its bytes failed CRC32C verification");
    }
    Map<String, ByteBuffer> fields = new LinkedHashMap<>();
    int pos = offset;
    for (int f = 0; f < fieldNames[sample].length; f++) {
      fields.put(fieldNames[sample][f], ByteBuffer.wrap(bytes, pos, fieldLengths[sample][f]).slice().asReadOnlyBuffer());
      pos += fieldLengths[sample][f];
    }
    return new Sample(firstSample + sample, sampleKey[sample], fields);
  }

  private byte[] block(int b, int sample, StageListener listener, LongAdder alsoCount) throws IOException {
    synchronized (decoded) {
      byte[] cached = decoded.get(b);
      if (cached != null) {
        return cached;
      }
    }
    byte[] stored = input.readFully(blockOffset[b], blockStored[b]);
    counted(stored.length, alsoCount);
    CRC32C crc = new CRC32C();
    crc.update(stored);
    if ((int) crc.getValue() != blockCrc[b]) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": block " + b + " failed CRC32C verification");
    }
    byte[] raw;
    try {
      raw = chain.decode(stored, listener);
    } catch (CorruptDataException e) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": block " + b + " did not decode: " + e.getMessage(), e);
    }
    if (raw.length != blockRaw[b]) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": block " + b + " decoded to " + raw.length + " bytes, expected " + blockRaw[b]);
    }
    synchronized (decoded) {
      decoded.put(b, raw);
      if (decoded.size() > DECODED_BLOCKS_KEPT) {
        decoded.remove(decoded.keySet().iterator().next());
      }
    }
    return raw;
  }

  /**
   * Throws unless the shard file still holds the sample's bytes: a mapped page past the end of a
   * file cut short outside Dharmana faults, and the CRC code reading the sample would crash the
   * JVM on it rather than throw. The length is one learnt recently ({@link MappedLength}).
   */
  private void checkInFile(int sample, long offset, int length) {
    long known;
    try {
      known = mappedLength.covering(offset + length);
    } catch (IOException closed) {
      return; // the input was closed: its mapping stays valid, and nothing tells its length now
    }
    if (offset + length > known) {
      throw new CorruptDataException("Cannot read sample " + (firstSample + sample) + " (" + sampleKey[sample] + ") of shard " + name
          + ": the file has " + known + " bytes and the sample ends at " + (offset + length) + " (cut short outside Dharmana?)");
    }
  }

  private void counted(long bytes, LongAdder alsoCount) {
    storedBytesRead.add(bytes);
    if (alsoCount != null) {
      alsoCount.add(bytes);
    }
  }

  private CorruptDataException corrupt(String what) {
    return new CorruptDataException("Cannot read shard " + name + ": " + what);
  }

  private static String readShortString(ByteBuffer in) {
    int n = Short.toUnsignedInt(in.getShort());
    if (n > in.remaining()) {
      throw new BufferUnderflowException();
    }
    String value = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
    in.position(in.position() + n);
    return value;
  }

  private static byte[] bytes(ByteBuffer in, int n) {
    byte[] out = new byte[n];
    in.get(out);
    return out;
  }
}
