package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.DescriptorDiagram;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file in the repository's {@code examples/} loads, round-trips and draws. Stage names are
 * checked only when stages are registered on this class path (the loader accepts any name when
 * the registry is empty).
 */
class ExamplesTest {

  /** The repository's examples directory, found by walking up from the working directory. */
  static Path examples() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("examples")) && Files.exists(dir.resolve("pom.xml"))) {
        return dir.resolve("examples");
      }
    }
    throw new IllegalStateException("Cannot find examples/ above " + Path.of("").toAbsolutePath());
  }

  static List<Path> files() {
    try (Stream<Path> s = Files.list(examples())) {
      return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest
  @MethodSource("files")
  void loadsRoundTripsAndDraws(Path file) {
    if (Stages.names().isEmpty()) {
      System.out.println("ExamplesTest: no stage registered on this class path; stage names in " + file.getFileName() + " not validated");
    }
    PipelineDescriptor d = Descriptors.load(file);
    assertEquals(d, Descriptors.parse(Descriptors.toYaml(d), file + " (written back)"));
    assertTrue(d.computation().isPresent(), file + " has a computation block");
    String diagram = DescriptorDiagram.render(d, false);
    assertFalse(diagram.isEmpty());
    diagram.lines().forEach(l -> assertTrue(l.length() <= DescriptorDiagram.MAX_WIDTH, file + ": too wide: " + l));
    for (var stage : d.storage().stages()) {
      assertTrue(diagram.contains(stage.name()), file + ": " + stage.name());
    }
  }
}
