package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.DharmanaException;
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
  void aNewerRepositoryIsRefusedAndLeftAsItIs() throws Exception {
    Repository.init(dir, Repository.defaultPipeline()).close();
    Files.writeString(formatFile(), "3\n");
    DharmanaException e = assertThrows(DharmanaException.class, () -> Repository.open(dir));
    assertTrue(e.getMessage().contains("format version is 3"), e.getMessage());
    assertTrue(e.getMessage().contains(formatFile().toString()), e.getMessage());
    assertTrue(e.getMessage().contains("versions 1 to " + RepositoryFormat.CURRENT), e.getMessage());
    assertEquals("3", format());
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
