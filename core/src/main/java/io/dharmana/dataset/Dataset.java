package io.dharmana.dataset;

import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.dataset.internal.ShardReader;
import io.dharmana.dataset.internal.ShardSource;
import io.dharmana.stage.StageListener;
import io.dharmana.store.BlobStore;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A committed dataset opened for reading: its index and random access to its samples. Shards are
 * opened on first use and kept open until {@link #close()}. Thread-safe.
 */
public final class Dataset implements AutoCloseable {
  private final DatasetIndex index;
  private final String fingerprint;
  private final ShardSource shards;
  private final String where;

  private Dataset(DatasetIndex index, String fingerprint, ShardSource shards, String where) {
    this.index = index;
    this.fingerprint = fingerprint;
    this.shards = shards;
    this.where = where;
  }

  /**
   * Opens the dataset under {@code prefix} ("" or ending in '/') of {@code store}.
   *
   * @throws NotFoundException if there is no committed dataset (no index) there
   */
  public static Dataset open(BlobStore store, String prefix) {
    return open(store, prefix, null, 0);
  }

  /**
   * Opens a dataset whose shards are copied, on first use, to {@code cache} (a faster tier) and
   * read from there. The cache holds at most {@code cacheBytes} of shards (at least the shards
   * in use); eviction never deletes a shard that {@code store} does not also hold.
   */
  public static Dataset open(BlobStore store, String prefix, BlobStore cache, long cacheBytes) {
    Objects.requireNonNull(store, "store");
    String key = prefix + DatasetIndex.KEY;
    if (!store.exists(key)) {
      throw new NotFoundException("Cannot open dataset at " + store + (prefix.isEmpty() ? "" : " " + prefix)
          + ": no " + DatasetIndex.KEY + " (not a dataset, or a pack that did not finish)");
    }
    byte[] json = store.read(key);
    DatasetIndex index = DatasetIndex.parse(json, key + " of " + store + (prefix.isEmpty() ? "" : " " + prefix));
    String fingerprint = ChunkId.of(json).hex().substring(0, 16);
    return new Dataset(index, fingerprint, new ShardSource(store, prefix, index, cache, cacheBytes), store + " " + prefix);
  }

  public DatasetIndex index() {
    return index;
  }

  /** A short hash of the index, which names this exact dataset in loader states. */
  public String fingerprint() {
    return fingerprint;
  }

  public long size() {
    return index.samples();
  }

  /** Reads one sample by its dataset index. */
  public Sample sample(long sample) {
    int shard = index.shardOf(sample);
    return shards.read(shard, (int) (sample - index.shards().get(shard).firstSample()), StageListener.NONE);
  }

  /** For {@link DataLoader}. */
  ShardSource shardSource() {
    return shards;
  }

  /** Cache and read counters so far. */
  public ShardCacheStats counters() {
    return shards.counters();
  }

  /** How {@link #unpack} writes tar sources. */
  public enum TarRestore {
    /** The original {@code .tar} file, byte-identical. */
    ARCHIVE,
    /** Each member as a file under a directory named after the archive. */
    MEMBERS
  }

  /**
   * Restores every source under {@code out}: directory sources as their files (relative paths
   * under {@code out}), JSON Lines and tar sources as files named like the originals. Every
   * sample is checked against the SHA-256 recorded at pack time.
   *
   * @throws CorruptDataException naming the shard and sample if a sample fails verification
   * @throws io.dharmana.AlreadyExistsException naming the path when two sources restore the same
   *     one (two directories holding a file of the same relative path, two JSON Lines files of
   *     one name), or {@code out} holds it already: no restored file is written over another
   */
  public void unpack(Path out, TarRestore tarRestore) {
    try {
      Files.createDirectories(out);
      for (SourceInfo source : index.sources()) {
        switch (source.kind()) {
          case SourceInfo.DIR -> unpackDirectory(source, out);
          case SourceInfo.JSONL -> unpackJsonLines(source, out, out.resolve(safeName(source.name())));
          case SourceInfo.TAR -> {
            if (tarRestore == TarRestore.ARCHIVE) {
              unpackTar(source, out, out.resolve(safeName(source.name())));
            } else {
              unpackTarMembers(source, out.resolve(safeName(source.name().replaceFirst("\\.tar$", ""))));
            }
          }
          default -> throw new CorruptDataException("Cannot unpack source " + source.name() + ": unknown kind " + source.kind());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot unpack to " + out + ": " + e.getMessage(), e);
    }
  }

  private Sample verified(long sample) {
    int shard = index.shardOf(sample);
    int local = (int) (sample - index.shards().get(shard).firstSample());
    Sample s = shards.read(shard, local, StageListener.NONE);
    ShardReader reader = shards.reader(shard);
    java.security.MessageDigest digest = ChunkId.newDigest();
    for (ByteBuffer b : s.fields().values()) {
      digest.update(b.duplicate());
    }
    String actual = HexFormat.of().formatHex(digest.digest());
    if (!actual.equals(reader.sha256(local))) {
      throw new CorruptDataException("Cannot unpack sample " + sample + " (" + s.key() + ") of shard " + reader.name()
          + ": SHA-256 " + actual.substring(0, 12) + "… does not match the recorded " + reader.sha256(local).substring(0, 12) + "…");
    }
    return s;
  }

  private byte[] restore(long sample) {
    int shard = index.shardOf(sample);
    return shards.reader(shard).restore((int) (sample - index.shards().get(shard).firstSample()));
  }

  private void unpackDirectory(SourceInfo source, Path out) throws IOException {
    for (long i = source.firstSample(); i < source.firstSample() + source.samples(); i++) {
      Sample s = verified(i);
      Path file = out.resolve(safeRelative(s.key()));
      Files.createDirectories(file.getParent());
      try (OutputStream o = createNew(source, out, file)) {
        writeFields(s, o);
      }
    }
  }

  private void unpackJsonLines(SourceInfo source, Path out, Path file) throws IOException {
    try (OutputStream o = new BufferedOutputStream(createNew(source, out, file), 1 << 20)) {
      for (long i = source.firstSample(); i < source.firstSample() + source.samples(); i++) {
        writeFields(verified(i), o);
        byte[] restore = restore(i);
        int terminator = restore.length == 0 ? 1 : restore[0];
        if (terminator == 1) {
          o.write('\n');
        } else if (terminator == 2) {
          o.write('\r');
          o.write('\n');
        }
      }
    }
  }

  private void unpackTar(SourceInfo source, Path out, Path file) throws IOException {
    try (OutputStream o = new BufferedOutputStream(createNew(source, out, file), 1 << 20)) {
      for (long i = source.firstSample(); i < source.firstSample() + source.samples(); i++) {
        Sample s = verified(i);
        DataInputStream r = new DataInputStream(new ByteArrayInputStream(restore(i)));
        for (ByteBuffer field : s.fields().values()) {
          int rawLength = r.readInt();
          o.write(r.readNBytes(rawLength));
          int size = field.remaining();
          writeBuffer(field, o);
          int pad = (512 - size % 512) % 512;
          if (r.readByte() == 0) {
            o.write(new byte[pad]);
          } else {
            o.write(r.readNBytes(pad));
          }
        }
      }
      if (source.trailer() != null) {
        o.write(Base64.getDecoder().decode(source.trailer()));
      } else {
        o.write(new byte[(int) source.trailerZeros()]);
      }
    }
  }

  private void unpackTarMembers(SourceInfo source, Path dir) throws IOException {
    for (long i = source.firstSample(); i < source.firstSample() + source.samples(); i++) {
      Sample s = verified(i);
      for (var field : s.fields().entrySet()) {
        String name = (field.getKey().isEmpty() ? s.key() : s.key() + "." + field.getKey()).replaceFirst("^(\\./)+", "");
        Path file = dir.resolve(safeRelative(name));
        Files.createDirectories(file.getParent());
        try (OutputStream o = Files.newOutputStream(file)) {
          writeBuffer(field.getValue(), o);
        }
      }
    }
  }

  /**
   * A restored file, which must not exist yet: opened with the defaults, a later source's file of
   * the same path (two directories packed, each with an a.txt) replaced an earlier one's without a
   * word, and unpack reported every sample restored.
   */
  private OutputStream createNew(SourceInfo source, Path out, Path file) throws IOException {
    try {
      return Files.newOutputStream(file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // without the cause, whose message is the path in the staging directory a command restores into
      throw new io.dharmana.AlreadyExistsException("Cannot unpack source " + source.name() + ": " + out.relativize(file)
          + " is restored already, by an earlier source (sources: " + index.sources().stream().map(SourceInfo::name)
              .collect(java.util.stream.Collectors.joining(", ")) + "); sources holding the same path cannot be unpacked into one directory");
    }
  }

  private static void writeFields(Sample s, OutputStream o) throws IOException {
    for (ByteBuffer b : s.fields().values()) {
      writeBuffer(b, o);
    }
  }

  private static void writeBuffer(ByteBuffer b, OutputStream o) throws IOException {
    ByteBuffer d = b.duplicate();
    byte[] tmp = new byte[d.remaining()];
    d.get(tmp);
    o.write(tmp);
  }

  private static String safeName(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..") || name.equals(".")) {
      throw new InvalidDescriptorException("Invalid source name '" + name + "' in dataset index: must be a plain file name");
    }
    return name;
  }

  private static String safeRelative(String key) {
    for (String seg : key.split("/", -1)) {
      if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || seg.contains("\\")) {
        throw new InvalidDescriptorException("Invalid sample key '" + key + "': cannot be unpacked as a relative path");
      }
    }
    return key;
  }

  @Override
  public void close() {
    shards.close();
  }

  @Override
  public String toString() {
    return "Dataset[" + where + ", " + index.samples() + " samples in " + index.shards().size() + " shards]";
  }
}
