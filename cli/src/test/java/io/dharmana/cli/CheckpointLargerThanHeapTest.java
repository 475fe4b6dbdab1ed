package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint file larger than the JVM's heap (a 7B model's shard is 5-10 GB), one of whose
 * tensors is larger than one buffer (2.25 GiB, as a large model's embedding is), saves and restores
 * byte for byte through {@code dharmana checkpoint}, run in this JVM. Before, save staged every
 * tensor on the heap (a 3.2 GB file ran out of 4 GiB), restore held them all at once, and a tensor
 * over 2 GiB was refused. Needs three times the file's size free on disk, and about a minute.
 */
class CheckpointLargerThanHeapTest {
  private static final long COLUMNS = 4_096;
  private static final long ROWS = 16_384;
  private static final long TENSOR_BYTES = ROWS * COLUMNS * 4; // 256 MiB
  private static final long BIG_ROWS = 147_456;
  private static final long BIG_BYTES = BIG_ROWS * COLUMNS * 4; // 2.25 GiB

  @TempDir Path tmp;

  @Test
  void aCheckpointLargerThanTheHeapSavesAndRestoresByteForByte() throws IOException {
    int tensors = (int) Math.max(1, (Runtime.getRuntime().maxMemory() * 5 / 4 - BIG_BYTES) / TENSOR_BYTES + 1);
    long bytes = BIG_BYTES + tensors * TENSOR_BYTES;
    assumeTrue(Files.getFileStore(tmp).getUsableSpace() > 3 * bytes + (1L << 30),
        "skipped: CheckpointLargerThanHeapTest needs " + (3 * bytes >> 30) + " GiB free in " + tmp);
    Path model = tmp.resolve("model.safetensors");
    write(model, tensors);
    assertTrue(Files.size(model) > Runtime.getRuntime().maxMemory(), "the file must be larger than the heap");
    Path repo = tmp.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    CompressCommandTest.Run save = CompressCommandTest.run("checkpoint", "save", repo.toString(), "--run", "big", "--step", "1",
        model.toString());
    assertEquals(0, save.exit(), save.err());
    Path out = tmp.resolve("restored");
    CompressCommandTest.Run restore = CompressCommandTest.run("checkpoint", "restore", repo.toString(), "--run", "big", "--step", "1",
        "--out", out.toString());
    assertEquals(0, restore.exit(), restore.err());
    assertEquals(-1, Files.mismatch(model, out.resolve("model.safetensors")), "the restored file differs");
    System.out.printf("a %d-byte checkpoint (a %d-byte tensor and %d more) saved and restored under a %d-byte heap: %s",
        Files.size(model), BIG_BYTES, tensors,
        Runtime.getRuntime().maxMemory(), save.out());
  }

  /**
   * An F32 embedding of [BIG_ROWS, COLUMNS], then {@code tensors} F32 tensors of [ROWS, COLUMNS],
   * weight-like values (random mantissas, exponents of a gaussian's spread).
   */
  private static void write(Path file, int tensors) throws IOException {
    StringBuilder header = new StringBuilder("{\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[" + BIG_ROWS + "," + COLUMNS
        + "],\"data_offsets\":[0," + BIG_BYTES + "]}");
    for (int t = 0; t < tensors; t++) {
      long begin = BIG_BYTES + t * TENSOR_BYTES;
      header.append(",\"layers.").append(t).append(".weight\":{\"dtype\":\"F32\",\"shape\":[").append(ROWS)
          .append(',').append(COLUMNS).append("],\"data_offsets\":[").append(begin).append(',').append(begin + TENSOR_BYTES)
          .append("]}");
    }
    header.append('}');
    header.append(" ".repeat((8 - header.length() % 8) % 8));
    byte[] json = header.toString().getBytes(StandardCharsets.US_ASCII);
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(16 << 20).order(ByteOrder.LITTLE_ENDIAN);
      buffer.putLong(json.length).put(json);
      long state = 0x9E3779B97F4A7C15L;
      for (long i = 0; i < (BIG_BYTES + tensors * TENSOR_BYTES) / 4; i++) {
        if (!buffer.hasRemaining()) {
          out.write(buffer.flip());
          buffer.clear();
        }
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        int exponent = Math.min(122, 118 + Long.bitCount(state & 0xF0000000000L) + (int) ((state >>> 48) & 1));
        buffer.putInt((int) (state >>> 63) << 31 | exponent << 23 | (int) (state & 0x7FFFFF));
      }
      out.write(buffer.flip());
    }
  }
}
