package io.dharmana.tensor;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Finds the shared sample checkpoints, or skips the calling test with a clear message. */
public final class TestCorpus {
  private TestCorpus() {}

  /** The corpus directory: env DHARMANA_CORPUS, else the first {@code shared/corpus} beside an ancestor of the working dir. */
  public static Path dir() {
    String env = System.getenv("DHARMANA_CORPUS");
    if (env != null && Files.isDirectory(Paths.get(env))) {
      return Paths.get(env);
    }
    for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolveSibling("shared").resolve("corpus");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
      candidate = p.resolve("shared").resolve("corpus");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** The checkpoint {@code name} (e.g. "w_step2000.safetensors"); skips the test when the corpus is absent. */
  public static Path checkpoint(String name) {
    Path dir = dir();
    assumeTrue(dir != null, "corpus not found: set DHARMANA_CORPUS or place shared/corpus beside the repository");
    Path file = dir.resolve("checkpoints").resolve(name);
    assumeTrue(Files.isRegularFile(file), "corpus file missing: " + file);
    return file;
  }
}
