package io.dharmana.repo;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Child process of {@link GcCrashTest}: runs one garbage collection (which merges the small packs)
 * and says when it starts and ends. The parent kills it with SIGKILL at a random moment.
 */
public final class CrashGc {
  public static void main(String[] args) {
    try (Repository r = Repository.open(Path.of(args[0]))) {
      System.out.println("ready");
      System.out.flush();
      GcResult result = r.gc(Duration.ZERO);
      System.out.println("done " + result.smallPacksMerged());
      System.out.flush();
    }
  }
}
