package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RmCommandTest {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  /** Through Main's command line, so that exit codes are Main's. */
  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.commandLine("rm").setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private Path repository(String... names) {
    Path repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      for (String name : names) {
        r.put(name, new ByteArrayInputStream(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)), PutOptions.defaults());
      }
    }
    return repo;
  }

  private static List<String> texts(JsonNode array) {
    List<String> texts = new ArrayList<>();
    array.forEach(n -> texts.add(n.asText()));
    return texts;
  }

  @Test
  void jsonListsTheRemovedAndTheMissingNamesAndAMissingOneIsStillAnError() throws Exception {
    Path repo = repository("a", "b", "c");
    Run run = run("rm", repo.toString(), "a", "nope", "c", "gone/too", "--json");
    assertEquals(Main.NOT_FOUND, run.exit(), run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertEquals(List.of("a", "c"), texts(json.get("removed")));
    assertEquals(List.of("nope", "gone/too"), texts(json.get("missing")));
    assertTrue(run.err().contains("dharmana rm: Cannot remove nope: no such object")
        && run.err().contains("Cannot remove gone/too"), run.err());
    try (Repository r = Repository.open(repo)) {
      assertEquals(List.of("b"), r.list("").map(o -> o.name()).toList(), "what the JSON says was removed is gone");
    }
  }

  @Test
  void jsonWithNothingMissingExitsZero() throws Exception {
    Path repo = repository("x");
    Run run = run("rm", repo.toString(), "x", "--json");
    assertEquals(Main.OK, run.exit(), run.err());
    assertEquals("", run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertEquals(List.of("x"), texts(json.get("removed")));
    assertEquals(List.of(), texts(json.get("missing")));
    // removed once: a second rm finds it missing
    json = new ObjectMapper().readTree(run("rm", repo.toString(), "x", "--json").out());
    assertEquals(List.of("x"), texts(json.get("missing")));
  }

  @Test
  void recursiveRemovesEveryNameUnderAPrefixAndAPrefixOfNothingIsMissing() throws Exception {
    Path repo = repository("runs/7/a", "runs/7/b/c", "runs/70", "runs/8/a");
    Run run = run("rm", repo.toString(), "-r", "runs/7/", "none/", "--json");
    assertEquals(Main.NOT_FOUND, run.exit(), run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertEquals(List.of("runs/7/a", "runs/7/b/c"), texts(json.get("removed")));
    assertEquals(List.of("none/"), texts(json.get("missing")));
    assertTrue(run.err().contains("Cannot remove none/: no object's name starts with it"), run.err());
    try (Repository r = Repository.open(repo)) {
      assertEquals(List.of("runs/70", "runs/8/a"), r.list("").map(o -> o.name()).toList());
    }
    Run plain = run("rm", repo.toString(), "runs/8");
    assertEquals(Main.NOT_FOUND, plain.exit(), "without -r a name is a name, not a prefix");
  }
}
