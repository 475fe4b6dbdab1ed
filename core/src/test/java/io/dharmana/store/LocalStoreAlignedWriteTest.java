package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.dharmana.AlreadyExistsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A local blob past 64 KiB is written through a pooled 2 MiB buffer in whole, aligned pieces (so
 * that the page cache holds it in large folios); with more outputs open than there are such
 * buffers, the others write as before. Every blob is byte-identical either way, and every buffer
 * comes back whether the output commits, aborts or fails.
 */
class LocalStoreAlignedWriteTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void blobsWrittenInPiecesOfAnySizeAreByteIdenticalWithMoreOutputsOpenThanAlignedBuffers(long seed) throws IOException {
    Random random = new Random(seed);
    int outputs = 40; // more than the 32 aligned buffers
    try (BlobStore store = Stores.local(dir, false)) {
      List<BlobOutput> open = new ArrayList<>();
      List<byte[]> contents = new ArrayList<>();
      List<Integer> written = new ArrayList<>();
      for (int i = 0; i < outputs; i++) {
        open.add(store.create("blob-" + i));
        // sizes around the thresholds: below 64 KiB, exactly 2 MiB, and several MiB
        int size = switch (i % 4) {
          case 0 -> random.nextInt(64 * 1024);
          case 1 -> LocalStore.ALIGNED_WRITE;
          default -> LocalStore.ALIGNED_WRITE * 2 + random.nextInt(LocalStore.ALIGNED_WRITE * 2);
        };
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        contents.add(bytes);
        written.add(0);
      }
      // interleaved writes of pieces from 1 byte to 3 MiB
      boolean any = true;
      while (any) {
        any = false;
        for (int i = 0; i < outputs; i++) {
          int at = written.get(i);
          int left = contents.get(i).length - at;
          if (left == 0) {
            continue;
          }
          any = true;
          int piece = Math.min(left, random.nextBoolean() ? 1 + random.nextInt(100) : 1 + random.nextInt(3 << 20));
          if (piece == 1 && random.nextBoolean()) {
            open.get(i).write(contents.get(i)[at]);
          } else {
            open.get(i).write(contents.get(i), at, piece);
          }
          written.set(i, at + piece);
        }
      }
      for (int i = 0; i < outputs; i++) {
        assertEquals(contents.get(i).length, open.get(i).written(), "seed " + seed + ", blob " + i);
        if (i % 5 == 4) {
          open.get(i).abort();
        } else {
          open.get(i).close();
        }
      }
      assertEquals(0, LocalStore.alignedBuffersInUse(), "every aligned buffer is given back, seed " + seed);
      for (int i = 0; i < outputs; i++) {
        Path file = dir.resolve("blob-" + i);
        if (i % 5 == 4) {
          assertFalse(Files.exists(file), "an aborted blob is not visible, seed " + seed + ", blob " + i);
        } else {
          assertArrayEquals(contents.get(i), Files.readAllBytes(file), "seed " + seed + ", blob " + i);
        }
      }
    }
  }

  @Test
  void aFailedCommitGivesItsBufferBackAndLeavesTheFirstBlob() throws IOException {
    try (BlobStore store = Stores.local(dir, false)) {
      byte[] first = new byte[3 << 20];
      new Random(7).nextBytes(first);
      BlobOutput winner = store.create("same");
      BlobOutput loser = store.create("same");
      winner.write(first);
      loser.write(new byte[5 << 20]);
      winner.close();
      assertThrows(AlreadyExistsException.class, loser::close);
      assertEquals(0, LocalStore.alignedBuffersInUse(), "the failed output gave its buffer back");
      assertArrayEquals(first, Files.readAllBytes(dir.resolve("same")));
      assertThrows(IOException.class, () -> loser.write(1), "a closed output takes no more bytes");
    }
  }
}
