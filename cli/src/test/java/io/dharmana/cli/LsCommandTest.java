package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
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

  /** CREATED to the second in the table and to the millisecond in --json, as report prints times; before, to the nanosecond. */
  @Test
  void createdIsToTheSecondAndToTheMillisecondInJson() throws Exception {
    Path repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      r.put("a", new ByteArrayInputStream(new byte[] {1, 2, 3}), PutOptions.defaults());
    }
    Run table = CompressCommandTest.run("ls", repo.toString());
    assertEquals(0, table.exit(), table.err());
    String row = table.out().lines().toList().get(1);
    assertTrue(row.matches(".* \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"), "no fraction of a second: " + row);
    Run json = CompressCommandTest.run("ls", repo.toString(), "--json");
    assertEquals(0, json.exit(), json.err());
    String created = new ObjectMapper().readTree(json.out()).get(0).get("created").asText();
    assertTrue(created.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), created);
  }
}
