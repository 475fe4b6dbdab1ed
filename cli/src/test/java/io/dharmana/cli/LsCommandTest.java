package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.dharmana.cli.CompressCommandTest.Run;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LsCommandTest {
  @TempDir Path dir;

  @Test
  void aLongNameKeepsEveryRowsColumnsInLine() {
    Path repo = dir.resolve("repo");
    String longName = "checkpoints/gpt/shards/00000000000000002000/00000";
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      for (String name : List.of("a", longName)) {
        r.put(name, new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults());
      }
    }
    Run run = CompressCommandTest.run("ls", repo.toString());
    assertEquals(0, run.exit(), run.err());
    List<String> lines = run.out().lines().toList();
    assertEquals(3, lines.size(), run.out());
    int size = lines.get(0).indexOf("SIZE") + "SIZE".length();
    int created = lines.get(0).indexOf("CREATED");
    for (String line : lines.subList(1, 3)) {
      assertEquals("B", line.substring(size - 1, size), "SIZE right-aligned under its heading:\n" + run.out());
      assertEquals("2", line.substring(created, created + 1), "CREATED starts under its heading:\n" + run.out());
    }
  }
}
