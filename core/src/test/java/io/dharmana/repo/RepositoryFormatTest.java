package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
import io.dharmana.manifest.ManifestCodec;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryFormatTest {
  @TempDir Path dir;

  private Path formatFile() {
    return dir.resolve("meta").resolve(RepositoryFormat.FILE);
  }

  private String format() throws Exception {
    return Files.readString(formatFile(), StandardCharsets.UTF_8).strip();
  }

  private static byte[] bytes(Repository r, String name) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    r.get(name, out, io.dharmana.runtime.ProgressListener.NONE);
    return out.toByteArray();
  }

  @Test
  void aNewRepositoryIsOfTheCurrentVersion() throws Exception {
    Repository.init(dir, Repository.defaultPipeline()).close();
    assertEquals(String.valueOf(RepositoryFormat.CURRENT), format());
    Repository.open(dir).close();
    assertEquals(String.valueOf(RepositoryFormat.CURRENT), format());
  }

  @Test
  void aRepositoryWithoutTheFileIsOfVersionOneAndIsMarkedCurrentWhenOpened() throws Exception {
    byte[] data = "weights".getBytes(StandardCharsets.UTF_8);
    try (Repository r = Repository.init(dir, Repository.defaultPipeline())) {
      r.put("a/b", new ByteArrayInputStream(data), PutOptions.defaults());
    }
    Files.delete(formatFile());
    assertEquals(1, RepositoryFormat.read(formatFile()));
    try (Repository r = Repository.open(dir)) {
      assertArrayEquals(data, bytes(r, "a/b"));
    }
    assertEquals(String.valueOf(RepositoryFormat.CURRENT), format());
  }

  @Test
  void manifestsOfAVersion2RepositoryAreReadFromMetaKeptWhileLiveAndCollectedWhenNot() throws Exception {
    byte[] kept = "weights of a version 2 repository".getBytes(StandardCharsets.UTF_8);
    byte[] removed = "an object removed after the upgrade".getBytes(StandardCharsets.UTF_8);
    List<String> ids = new ArrayList<>();
    try (Repository r = Repository.init(dir, Repository.defaultPipeline())) {
      ids.add(r.put("kept", new ByteArrayInputStream(kept), PutOptions.defaults()).manifestId());
      ids.add(r.put("removed", new ByteArrayInputStream(removed), PutOptions.defaults()).manifestId());
      // the layout of version 2: each manifest a file in meta/manifests, none in the tiers
      for (String id : ids) {
        Path file = dir.resolve("meta").resolve(Repository.manifestKey(id));
        Files.createDirectories(file.getParent());
        Files.write(file, ManifestCodec.encode(r.manifest(id)));
        assertTrue(r.tiers().delete(Repository.manifestKey(id)));
      }
    }
    Files.writeString(formatFile(), "2\n");
    byte[] added = "written after the upgrade".getBytes(StandardCharsets.UTF_8);
    try (Repository r = Repository.open(dir)) {
      assertEquals(String.valueOf(RepositoryFormat.CURRENT), format());
      assertArrayEquals(kept, bytes(r, "kept"));
      assertArrayEquals(removed, bytes(r, "removed"));
      String addedId = r.put("added", new ByteArrayInputStream(added), PutOptions.defaults()).manifestId();
      assertFalse(Files.exists(dir.resolve("meta").resolve(Repository.manifestKey(addedId))), "new manifests go to the tiers");
      assertTrue(r.remove("removed"));
      GcResult gc = r.gc(java.time.Duration.ZERO);
      assertEquals(1, gc.manifestsDeleted(), gc.toString());
      assertTrue(Files.exists(dir.resolve("meta").resolve(Repository.manifestKey(ids.get(0)))));
      assertFalse(Files.exists(dir.resolve("meta").resolve(Repository.manifestKey(ids.get(1)))));
    }
    try (Repository r = Repository.open(dir)) {
      assertArrayEquals(kept, bytes(r, "kept"));
      assertArrayEquals(added, bytes(r, "added"));
      assertEquals(List.of("added", "kept"), r.list("").map(ObjectInfo::name).toList());
    }
  }

  @Test
  void aNewerRepositoryIsRefusedAndLeftAsItIs() throws Exception {
    Repository.init(dir, Repository.defaultPipeline()).close();
    String newer = String.valueOf(RepositoryFormat.CURRENT + 1);
    Files.writeString(formatFile(), newer + "\n");
    DharmanaException e = assertThrows(DharmanaException.class, () -> Repository.open(dir));
    assertTrue(e.getMessage().contains("format version is " + newer), e.getMessage());
    assertTrue(e.getMessage().contains(formatFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("versions 1 to " + RepositoryFormat.CURRENT), e.getMessage());
    assertEquals(newer, format());
  }

  @Test
  void aFileWithoutAVersionNumberIsReportedWithItsContent() throws Exception {
    Repository.init(dir, Repository.defaultPipeline()).close();
    for (String text : List.of("two", "", "2.0", "-1", "99999999999")) {
      Files.writeString(formatFile(), text);
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> Repository.open(dir), text);
      assertTrue(e.getMessage().contains(formatFile().toString()) && e.getMessage().contains("'" + text + "'"),
          e.getMessage());
    }
  }

  @Test
  void processesUpgradingOneRepositoryAtOnceAllOpenIt() throws Exception {
    Repository.init(dir, Repository.defaultPipeline()).close();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      for (int round = 0; round < 10; round++) {
        Files.delete(formatFile());
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> opens = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          opens.add(pool.submit(() -> {
            go.await();
            Repository.open(dir).close();
            return null;
          }));
        }
        go.countDown();
        for (Future<?> f : opens) {
          f.get();
        }
        assertEquals(String.valueOf(RepositoryFormat.CURRENT), format());
      }
    } finally {
      pool.shutdownNow();
    }
    try (Stream<Path> files = Files.list(dir.resolve("meta"))) {
      assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("." + RepositoryFormat.FILE)).toList());
    }
  }
}
