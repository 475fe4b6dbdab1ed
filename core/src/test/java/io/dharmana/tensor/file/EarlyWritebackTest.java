package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EarlyWritebackTest {
  @TempDir Path dir;

  @Test
  void forcesWhileWritingLeaveTheBytesAsWritten() throws IOException {
    long seed = 0xEA71BL;
    Random r = new Random(seed);
    byte[] data = new byte[1 << 20];
    r.nextBytes(data);
    Path file = dir.resolve("out");
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        EarlyWriteback writeback = new EarlyWriteback(channel, 4096)) {
      long position = 0;
      while (position < data.length) {
        int n = Math.min(data.length - (int) position, 1 + r.nextInt(20_000));
        position += TensorFileWriter.writeFully(channel, ByteBuffer.wrap(data, (int) position, n), position);
        writeback.written(position);
      }
    }
    assertArrayEquals(data, Files.readAllBytes(file), "seed " + seed);
  }

  @Test
  void aFailingEarlyForceFailsTheClose() throws IOException {
    // after a write-back error the kernel may report success to a later force: the failure must
    // not wait for the final one
    Path file = dir.resolve("closed");
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    channel.close(); // every force now fails
    IOException e = assertThrows(IOException.class, () -> {
      try (EarlyWriteback writeback = new EarlyWriteback(channel, 1)) {
        writeback.written(10);
      }
    });
    assertTrue(e.getMessage().startsWith("Cannot write the file to disk: an early force failed"), e.getMessage());
  }
}
