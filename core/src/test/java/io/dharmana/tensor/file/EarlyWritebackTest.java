package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

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
  void aFailingForceIsLeftToTheFinalOne() throws IOException {
    Path file = dir.resolve("closed");
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    channel.close(); // every force now fails
    assertDoesNotThrow(() -> {
      try (EarlyWriteback writeback = new EarlyWriteback(channel, 1)) {
        writeback.written(10);
        writeback.written(20);
      }
    });
  }
}
