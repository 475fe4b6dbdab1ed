package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.cli.CompressCommandTest.Run;
import io.dharmana.repo.Repository;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitCommandTest {
  @TempDir Path dir;

  @Test
  void jsonNamesTheRepositoryAndItsPipelineInsteadOfTheDiagram() throws Exception {
    Path repo = dir.resolve("repo");
    Run run = CompressCommandTest.run("init", repo.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertEquals(repo.toAbsolutePath().toString(), json.get("repository").asText());
    assertEquals(Repository.defaultPipeline().name(), json.get("pipeline").asText());
    try (Repository r = Repository.open(repo)) {
      assertTrue(r.pipelines().contains(json.get("pipeline").asText()), "the repository has the pipeline named: " + r.pipelines());
    }
    assertEquals(json.get("pipeline").asText(), json.get("descriptor").get("name").asText());
    assertFalse(run.out().contains("Initialized"), run.out());
  }

  @Test
  void jsonGivesTheDescriptorAsDescribeDoes() throws Exception {
    Path yaml = ExamplesTest.examples().resolve("llm-checkpoints.yaml");
    Path repo = dir.resolve("repo");
    Run run = CompressCommandTest.run("init", repo.toString(), "--pipeline", yaml.toString(), "--json");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = new ObjectMapper().readTree(run.out());
    Run describe = CompressCommandTest.run("describe", yaml.toString(), "--json");
    assertEquals(0, describe.exit(), describe.err());
    assertEquals(new ObjectMapper().readTree(describe.out()), json.get("descriptor"));
    assertEquals(json.get("descriptor").get("name").asText(), json.get("pipeline").asText());
    assertTrue(Files.isDirectory(Path.of(json.get("repository").asText())));
  }

  @Test
  void aPathInTheWayIsNamedWithWhatIsWrongWithIt() throws Exception {
    Path repo = Files.createDirectories(dir.resolve("repo"));
    Files.writeString(repo.resolve("meta"), "a file where the repository's meta directory goes");
    java.io.StringWriter err = new java.io.StringWriter();
    int exit = Main.commandLine("init").setErr(new java.io.PrintWriter(err)).execute("init", repo.toString());
    Run run = new Run(exit, "", err.toString());
    assertEquals(Main.FAILED, run.exit(), run.err());
    assertTrue(run.err().contains("Cannot init " + repo + ": " + repo.resolve("meta") + ": exists and is not a directory"), run.err());
  }
}
