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

  /**
   * A failed write is thrown from a later call, at the latest from the write that has to wait for
   * it (one may be outstanding) or from finish, whenever the write-behind thread gets to it.
   */
  @Test
  void aFailedWriteIsThrownByALaterCall() {
    UncheckedIOException failure = new UncheckedIOException(new java.io.IOException("disk full"));
    try (WriteBehind writes = new WriteBehind()) {
      writes.write(() -> {
        throw failure;
      });
      assertSame(failure, assertThrows(UncheckedIOException.class, () -> {
        writes.write(() -> { });
        writes.write(() -> { });
      }));
    }
    try (WriteBehind writes = new WriteBehind()) {
      writes.write(() -> {
        throw failure;
      });
      assertSame(failure, assertThrows(UncheckedIOException.class, writes::finish));
    }
  }

  /**
   * Closing after the caller failed drops the writes queued and waits for the one under way, never
   * interrupting it (that would close its channel).
   */
  @Test
  void closeWaitsForTheWriteUnderWayWithoutInterruptingIt() throws Exception {
    Path file = tmp.resolve("closing");
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean interrupted = new AtomicBoolean();
    AtomicBoolean queuedRan = new AtomicBoolean();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      WriteBehind writes = new WriteBehind();
      writes.write(() -> {
        started.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          interrupted.set(true);
        }
        interrupted.compareAndSet(false, Thread.currentThread().isInterrupted());
        try {
          TensorFileWriter.writeFully(channel, ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
        } catch (java.io.IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      writes.write(() -> queuedRan.set(true));
      assertTrue(started.await(10, TimeUnit.SECONDS));
      Thread closer = new Thread(writes::close);
      closer.start();
      // close has dropped the queued write once it waits for the thread to end
      while (closer.getState() != Thread.State.TIMED_WAITING && closer.isAlive()) {
        Thread.onSpinWait();
      }
      assertTrue(closer.isAlive(), "close returned before the write under way had finished");
      release.countDown();
      closer.join(10_000);
      assertFalse(closer.isAlive());
      assertFalse(interrupted.get(), "the write under way was interrupted");
      assertFalse(queuedRan.get(), "a write queued behind was still run after close");
      assertTrue(channel.isOpen());
    }
    assertEquals(3, Files.size(file));
  }
}
