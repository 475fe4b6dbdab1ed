package io.dharmana.tensor.file;

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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real-size tensor larger than one Java array: 2.25 GiB of F32 weights, as an LLM's embedding or
 * its fp32 optimizer state is. Before pieces, {@code compress} refused it ("exceed the 2 GiB limit
 * of one buffer"). Needs ~7 GB of disk in the temporary directory (input, .dhz, output) and ~40 s.
 */
class LargeTensorTest {
  private static final long ROWS = 147_456;
  private static final long COLUMNS = 4_096;
  private static final long BIG_BYTES = ROWS * COLUMNS * 4; // 2.25 GiB

  @TempDir Path tmp;

  @Test
  void aTensorOverTwoGiBIsCompressedInPiecesAndRestoredByteForByte() throws IOException {
    assumeTrue(Files.getFileStore(tmp).getUsableSpace() > 8L << 30,
        "skipped: LargeTensorTest needs 8 GiB free in " + tmp + " for a 2.25 GiB tensor, its .dhz and its output");
    Path input = tmp.resolve("big.safetensors");
    write(input);
    Path dhz = tmp.resolve("big.dhz");
    CompressionResult result = TensorFileWriter.compress(input, dhz, CompressOptions.defaults().withThreads(2));
    List<TensorFileEntry> pieces = result.tensors().stream().filter(e -> e.name().equals("embed.weight")).toList();
    assertEquals(9, pieces.size(), "2.25 GiB in pieces of 256 MiB");
    assertEquals(BIG_BYTES, pieces.stream().mapToLong(TensorFileEntry::originalBytes).sum());
    assertTrue(result.outputBytes() < Files.size(input) / 1.15,
        "float coding must still shrink it: " + result.outputBytes() + " of " + Files.size(input));
    Path back = tmp.resolve("back.safetensors");
    try (TensorFileReader reader = TensorFileReader.open(dhz)) {
      reader.decompress(back, null, 2);
      // more than one array holds: not read alone, and told so before anything is decoded
      io.dharmana.DharmanaException alone = org.junit.jupiter.api.Assertions.assertThrows(io.dharmana.DharmanaException.class,
          () -> reader.tensor("embed.weight", null));
      assertTrue(alone.getMessage().contains("embed.weight") && alone.getMessage().contains("decompress the whole file"),
          alone.getMessage());
    }
    assertEquals(-1, Files.mismatch(input, back), "the output differs from the input");
    System.out.printf("a %d-byte F32 tensor in %d pieces: %d -> %d bytes (%.3fx), %.1f s to compress%n", BIG_BYTES, pieces.size(),
        result.inputBytes(), result.outputBytes(), (double) result.inputBytes() / result.outputBytes(), result.seconds());
  }

  /** [ROWS, COLUMNS] F32 weights around 0.02 (random mantissas, exponents of a gaussian's spread), then a small tensor. */
  private static void write(Path file) throws IOException {
    String header = "{\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[" + ROWS + "," + COLUMNS + "],\"data_offsets\":[0," + BIG_BYTES
        + "]},\"norm.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + BIG_BYTES + "," + (BIG_BYTES + 16) + "]}}";
    byte[] json = (header + " ".repeat((8 - header.length() % 8) % 8)).getBytes(StandardCharsets.US_ASCII);
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(16 << 20).order(ByteOrder.LITTLE_ENDIAN);
      buffer.putLong(json.length).put(json);
      long state = 0x9E3779B97F4A7C15L;
      for (long i = 0; i < BIG_BYTES / 4; i++) {
        if (!buffer.hasRemaining()) {
          out.write(buffer.flip());
          buffer.clear();
        }
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        // exponent 118..122 (|x| from 2^-9 to 2^-5), weighted toward the middle as a gaussian's are
        int exponent = 118 + Long.bitCount(state & 0xF0000000000L) + (int) ((state >>> 48) & 1);
        int bits = (int) (state >>> 63) << 31 | Math.min(exponent, 122) << 23 | (int) (state & 0x7FFFFF);
        buffer.putInt(bits);
      }
      if (buffer.remaining() < 16) {
        out.write(buffer.flip());
        buffer.clear();
      }
      buffer.putFloat(1f).putFloat(0.5f).putFloat(-0f).putFloat(2f);
      out.write(buffer.flip());
    }
  }
}
