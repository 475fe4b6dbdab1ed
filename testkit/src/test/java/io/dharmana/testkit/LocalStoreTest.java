package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.NotFoundException;
import io.dharmana.store.BlobInfo;
import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.BlobInput;
import io.dharmana.store.SupportsListing;
import io.dharmana.store.SupportsMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the local store adds to the contract: its layout on disk and its temporary files. */
class LocalStoreTest {
  @TempDir Path dir;

  private static List<String> keys(BlobStore store) {
    try (Stream<BlobInfo> infos = ((SupportsListing) store).list("")) {
      return infos.map(BlobInfo::key).collect(Collectors.toList());
    }
  }

  private long temporaries() throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve(".tmp"))) {
      return files.count();
    }
  }

  @Test
  void blobsAreFilesAtTheirKeyPathAndWritesGoThroughTheTempDirectory() throws IOException {
    try (BlobStore store = Stores.local(dir, true)) {
      BlobOutput out = store.create("runs/7/ckpt");
      out.write(new byte[] {1, 2, 3});
      assertEquals(1, temporaries(), "an uncommitted blob lives in .tmp");
      assertFalse(Files.exists(dir.resolve("runs/7/ckpt")));
      out.close();
      assertEquals(0, temporaries(), "a commit removes its temporary");
      assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(dir.resolve("runs/7/ckpt")));
      BlobOutput aborted = store.create("runs/7/other");
      aborted.write(9);
      aborted.abort();
      assertEquals(0, temporaries(), "an abort removes its temporary");
    }
  }

  @Test
  void staleTemporariesAreIgnoredAndRemovedOnOpen() throws IOException {
    Files.createDirectories(dir.resolve(".tmp"));
    Path stale = Files.write(dir.resolve(".tmp/crashed.part"), new byte[] {1});
    Files.setLastModifiedTime(stale, FileTime.from(Instant.now().minus(Duration.ofHours(2))));
    Path fresh = Files.write(dir.resolve(".tmp/in-flight.part"), new byte[] {2});
    try (BlobStore store = Stores.local(dir, false)) {
      assertFalse(Files.exists(stale), "a temporary older than an hour is removed on open");
      assertTrue(Files.exists(fresh), "a recent temporary may belong to a live writer in another process");
      assertEquals(List.of(), keys(store));
      store.write("a", new byte[] {3});
      assertEquals(List.of("a"), keys(store));
    }
  }

  @Test
  void theTempDirectoryIsNotAKey() {
    try (BlobStore store = Stores.local(dir, false)) {
      assertThrows(IllegalArgumentException.class, () -> store.create(".tmp/x"));
      assertThrows(IllegalArgumentException.class, () -> store.open(".tmp"));
      store.write("a/.tmp/x", new byte[] {1}); // only the top-level name is reserved
      assertEquals(List.of("a/.tmp/x"), keys(store));
    }
  }

  @Test
  void aKeyCannotBeBothABlobAndAPrefix() throws IOException {
    try (BlobStore store = Stores.local(dir, false)) {
      store.write("a/b", new byte[] {1});
      BlobOutput asBlob = store.create("a");
      asBlob.write(1);
      IOException e = assertThrows(IOException.class, asBlob::close);
      assertTrue(e.getMessage().startsWith("Cannot commit a:"), e.getMessage());
      assertThrows(NotFoundException.class, () -> store.open("a"));
      assertFalse(store.exists("a"));
      assertFalse(store.delete("a"));
      BlobOutput under = store.create("a/b/c");
      under.write(1);
      assertThrows(IOException.class, under::close);
      assertEquals(List.of("a/b"), keys(store));
      assertEquals(0, temporaries());
    }
  }

  @Test
  void emptyDirectoriesLeftByDeletesAreHarmless() {
    try (BlobStore store = Stores.local(dir, false)) {
      store.write("x/y/z", new byte[] {1});
      assertTrue(store.delete("x/y/z"));
      assertEquals(List.of(), keys(store));
      store.write("x/y/z", new byte[] {2});
      assertArrayEquals(new byte[] {2}, store.read("x/y/z"));
    }
  }

  @Test
  void mappedViewsHoldTheBlobsBytesAfterCloseAndDelete() throws IOException {
    long seed = 20261122;
    byte[] bytes = new byte[300_000];
    new Random(seed).nextBytes(bytes);
    try (BlobStore store = Stores.local(dir, false)) {
      store.write("shards/a", bytes);
      ByteBuffer view;
      try (BlobInput in = store.open("shards/a")) {
        SupportsMapping mapping = assertInstanceOf(SupportsMapping.class, in, "local inputs map");
        view = mapping.map(1000, 200_000);
        assertTrue(view.isReadOnly());
        assertEquals(200_000, view.remaining());
        assertThrows(IllegalArgumentException.class, () -> mapping.map(200_000, 100_001));
        assertThrows(IllegalArgumentException.class, () -> mapping.map(-1, 10));
      }
      assertTrue(store.delete("shards/a"));
      byte[] seen = new byte[view.remaining()];
      view.get(seen);
      assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 1000, 201_000), seen, "seed " + seed);
    }
  }
}
