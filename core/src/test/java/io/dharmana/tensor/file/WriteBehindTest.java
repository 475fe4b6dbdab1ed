package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteBehindTest {
  @TempDir Path tmp;

  @Test
  void writesRunInTheOrderGivenAndAreAllDoneAfterFinish() throws Exception {
    Path file = tmp.resolve("ordered");
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        WriteBehind writes = new WriteBehind()) {
      List<Integer> order = new ArrayList<>(); // only the write-behind thread touches it until finish
      for (int i = 0; i < 200; i++) {
        int n = i;
        writes.write(() -> {
          order.add(n);
          try {
            TensorFileWriter.writeFully(channel, ByteBuffer.wrap(new byte[] {(byte) n}), n);
          } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      }
      writes.finish();
      for (int i = 0; i < 200; i++) {
        assertEquals(i, order.get(i));
      }
    }
    byte[] back = Files.readAllBytes(file);
    assertEquals(200, back.length);
    for (int i = 0; i < 200; i++) {
      assertEquals((byte) i, back[i]);
    }
  }

  @Test
  void aFailedWriteIsThrownByTheNextCall() throws Exception {
    UncheckedIOException failure = new UncheckedIOException(new java.io.IOException("disk full"));
    CountDownLatch failed = new CountDownLatch(1);
    try (WriteBehind writes = new WriteBehind()) {
      writes.write(() -> {
        failed.countDown();
        throw failure;
      });
      assertTrue(failed.await(10, TimeUnit.SECONDS));
      UncheckedIOException thrown = assertThrows(UncheckedIOException.class, () -> {
        writes.write(() -> { });
      });
      assertSame(failure, thrown);
    }
  }

  /** Closing after the caller failed waits for the write under way, never interrupting it (that would close its channel). */
  @Test
  void closeWaitsForTheWriteUnderWayWithoutInterruptingIt() throws Exception {
    Path file = tmp.resolve("closing");
    CountDownLatch started = new CountDownLatch(1);
    AtomicBoolean interrupted = new AtomicBoolean();
    AtomicBoolean finished = new AtomicBoolean();
    AtomicBoolean queuedRan = new AtomicBoolean();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      WriteBehind writes = new WriteBehind();
      writes.write(() -> {
        started.countDown();
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() < until) {
          Thread.onSpinWait();
        }
        interrupted.set(Thread.currentThread().isInterrupted());
        try {
          TensorFileWriter.writeFully(channel, ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
        } catch (java.io.IOException e) {
          throw new UncheckedIOException(e);
        }
        finished.set(true);
      });
      writes.write(() -> queuedRan.set(true));
      assertTrue(started.await(10, TimeUnit.SECONDS));
      writes.close();
      assertTrue(finished.get(), "close returned before the write under way had finished");
      assertFalse(interrupted.get(), "the write under way was interrupted");
      assertFalse(queuedRan.get(), "a write queued behind was still run after close");
      assertTrue(channel.isOpen());
    }
    assertEquals(3, Files.size(file));
  }
}
