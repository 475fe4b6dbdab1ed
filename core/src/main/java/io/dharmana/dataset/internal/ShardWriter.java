package io.dharmana.dataset.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.chunk.ChunkId;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageListener;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/** Writes one shard in the {@link ShardFormat} from samples held in memory. */
public final class ShardWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What was written: sizes and the SHA-256 of the shard file. */
  public record Result(int samples, long bytes, long storedBytes, String sha256) {}

  private ShardWriter() {}

  /**
   * Writes {@code samples} to {@code out} (not closed), grouping them into blocks of about
   * {@code blockSize} decoded bytes, each encoded through {@code chain}.
   */
  public static Result write(List<PackedSample> samples, StageChain chain, int blockSize, OutputStream out, StageListener listener)
      throws IOException {
    MessageDigest fileDigest = ChunkId.newDigest();
    MessageDigest sampleDigest = ChunkId.newDigest();
    CountingOut counting = new CountingOut(out, fileDigest);
    DataOutputStream data = new DataOutputStream(counting);

    byte[] header = JSON.writeValueAsBytes(Map.of("stages", chain.specs()));
    data.write(ShardFormat.MAGIC);
    data.writeInt(ShardFormat.VERSION);
    data.writeInt(header.length);
    data.write(header);

    ByteArrayOutputStream table = new ByteArrayOutputStream();
    List<long[]> blocks = new ArrayList<>();
    ByteArrayOutputStream sampleTableBytes = new ByteArrayOutputStream();
    DataOutputStream sampleTable = new DataOutputStream(sampleTableBytes);

    long totalBytes = 0;
    int i = 0;
    while (i < samples.size()) {
      // gather samples into one block
      int first = i;
      long raw = samples.get(i).size();
      i++;
      while (i < samples.size() && raw + samples.get(i).size() <= blockSize) {
        raw += samples.get(i).size();
        i++;
      }
      if (raw > Integer.MAX_VALUE - 64) {
        throw new IOException("Cannot pack sample " + samples.get(first).key() + ": " + raw + " bytes exceed the 2 GiB sample limit");
      }
      byte[] block = new byte[(int) raw];
      int pos = 0;
      for (int s = first; s < i; s++) {
        PackedSample sample = samples.get(s);
        int start = pos;
        for (byte[] field : sample.data()) {
          System.arraycopy(field, 0, block, pos, field.length);
          pos += field.length;
        }
        writeSampleEntry(sampleTable, blocks.size(), start, sample, block, pos - start, sampleDigest);
      }
      byte[] stored = chain.encode(block, listener);
      CRC32C crc = new CRC32C();
      crc.update(stored);
      blocks.add(new long[] {counting.count, stored.length, raw, crc.getValue()});
      data.write(stored);
      totalBytes += raw;
    }

    DataOutputStream t = new DataOutputStream(table);
    t.writeInt(blocks.size());
    for (long[] b : blocks) {
      t.writeLong(b[0]);
      t.writeInt((int) b[1]);
      t.writeInt((int) b[2]);
      t.writeInt((int) b[3]);
    }
    t.writeInt(samples.size());
    sampleTable.flush();
    sampleTableBytes.writeTo(t);
    t.flush();

    byte[] tableBytes = table.toByteArray();
    long tableOffset = counting.count;
    data.write(tableBytes);
    CRC32C tableCrc = new CRC32C();
    tableCrc.update(tableBytes);
    data.writeLong(tableOffset);
    data.writeInt(tableBytes.length);
    data.writeInt((int) tableCrc.getValue());
    data.write(ShardFormat.END_MAGIC);
    data.flush();
    return new Result(samples.size(), totalBytes, counting.count, HexFormat.of().formatHex(fileDigest.digest()));
  }

  private static void writeSampleEntry(DataOutputStream t, int block, int offset, PackedSample sample, byte[] blockBytes, int length,
      MessageDigest digest) throws IOException {
    t.writeInt(block);
    t.writeInt(offset);
    writeShortString(t, sample.key(), "key");
    if (sample.names().size() > 0xffff) {
      throw new IOException("Cannot pack sample " + sample.key() + ": " + sample.names().size() + " fields, at most 65535 allowed");
    }
    t.writeShort(sample.names().size());
    for (int f = 0; f < sample.names().size(); f++) {
      writeShortString(t, sample.names().get(f), "field name");
      t.writeInt(sample.data().get(f).length);
    }
    t.writeInt(sample.restore().length);
    t.write(sample.restore());
    CRC32C crc = new CRC32C();
    crc.update(blockBytes, offset, length);
    t.writeInt((int) crc.getValue());
    digest.update(blockBytes, offset, length);
    t.write(digest.digest());
  }

  private static void writeShortString(DataOutputStream t, String s, String what) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > 0xffff) {
      throw new IOException("Cannot pack " + what + " '" + s.substring(0, 40) + "...': longer than 65535 bytes");
    }
    t.writeShort(b.length);
    t.write(b);
  }

  private static final class CountingOut extends OutputStream {
    private final OutputStream out;
    private final MessageDigest digest;
    long count;

    CountingOut(OutputStream out, MessageDigest digest) {
      this.out = out;
      this.digest = digest;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      digest.update((byte) b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      digest.update(b, off, len);
      count += len;
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }
  }
}
