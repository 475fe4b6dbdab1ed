package io.dharmana.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the shared sample checkpoints ({@code shared/corpus}), or skips the calling test with a
 * message saying how to provide them. (Core's tests keep a copy of their own: core cannot depend
 * on this module.)
 */
public final class TestCorpus {
  private TestCorpus() {}

  /** Env DHARMANA_CORPUS, else the first {@code shared/corpus} beside or in an ancestor of the working directory; null if none. */
  public static Path dir() {
    String env = System.getenv("DHARMANA_CORPUS");
    if (env != null && Files.isDirectory(Path.of(env))) {
      return Path.of(env);
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      for (Path candidate : new Path[] {p.resolveSibling("shared").resolve("corpus"), p.resolve("shared").resolve("corpus")}) {
        if (Files.isDirectory(candidate)) {
          return candidate;
        }
      }
    }
    return null;
  }

  /** The checkpoint {@code name} (e.g. "w_step2000.safetensors"); skips the test when it is absent. */
  public static Path checkpoint(String name) {
    Path dir = dir();
    assumeTrue(dir != null, "shared/corpus not found (set DHARMANA_CORPUS or place shared/corpus beside the repository): skipping");
    Path file = dir.resolve("checkpoints").resolve(name);
    assumeTrue(Files.isRegularFile(file), "corpus file missing: " + file + ": skipping");
    return file;
  }
}
