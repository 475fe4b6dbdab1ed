package io.dharmana.checkpoint;

import io.dharmana.repo.Repository;
import java.nio.file.Path;
import java.util.Map;

/**
 * The child process of {@link CheckpointKillNineSoakTest}: saves steps from {@code args[1]} on,
 * forever, printing {@code committed STEP} as each save's future completes, until killed.
 * Arguments: repository, first step, seed, corpus directory or "-".
 */
public final class CheckpointSoakWriter {
  private CheckpointSoakWriter() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long step = Long.parseLong(args[1]);
    long seed = Long.parseLong(args[2]);
    Path corpus = args[3].equals("-") ? null : Path.of(args[3]);
    try (Repository repo = Repository.open(dir);
        CheckpointManager m = CheckpointManager.open(repo, "soak",
            CheckpointOptions.DEFAULT.withFullEvery(3).withMaxInFlight(2).withThreads(2))) {
      System.out.println("ready");
      System.out.flush();
      while (true) {
        long s = step++;
        m.save(s, SoakStates.state(seed, s, corpus), Map.of("loss", Double.toString(1.0 / (s + 1))))
            .thenAccept(info -> {
              System.out.println("committed " + info.step() + " " + info.logicalBytes());
              System.out.flush();
            });
      }
    }
  }
}
