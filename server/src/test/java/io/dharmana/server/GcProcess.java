package io.dharmana.server;

import io.dharmana.repo.Repository;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code dharmana gc REPO --grace 0s} in a JVM of its own, as a gc run by hand beside a serving
 * gateway is: the gateway learns of the packs it deleted only from the files, as it would then.
 */
public final class GcProcess {
  private GcProcess() {}

  public static void main(String[] args) {
    try (Repository repository = Repository.open(Path.of(args[0]))) {
      repository.gc(Duration.ZERO);
    }
  }

  /** Runs it on {@code repo} and waits; fails unless it exits with 0. */
  static void run(Path repo) throws Exception {
    Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Xmx256m", GcProcess.class.getName(), repo.toString())
        .redirectErrorStream(true).start();
    String output = new String(gc.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (gc.waitFor() != 0) {
      throw new AssertionError("gc in another process failed: " + output);
    }
  }
}
