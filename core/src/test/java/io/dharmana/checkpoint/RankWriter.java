package io.dharmana.checkpoint;

import io.dharmana.repo.Repository;
import java.nio.file.Path;
import java.util.Map;

/**
 * A rank of a distributed job, as a child process of {@link MultiRankCommitTest}. Arguments:
 * repository, rank, world, first step, last step, tensors per shard. Saves its shard of each step,
 * printing {@code staged STEP} when save returns and {@code committed STEP complete|partial} when
 * it is committed, then exits.
 */
public final class RankWriter {
  private RankWriter() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int rank = Integer.parseInt(args[1]);
    int world = Integer.parseInt(args[2]);
    long first = Long.parseLong(args[3]);
    long last = Long.parseLong(args[4]);
    int tensors = Integer.parseInt(args[5]);
    try (Repository repo = Repository.open(dir);
        CheckpointManager m = CheckpointManager.open(repo, "dist", CheckpointOptions.DEFAULT.withRank(rank, world).withThreads(1))) {
      for (long step = first; step <= last; step++) {
        long s = step;
        var f = m.save(step, MultiRankCommitTest.shard(rank, step, tensors), Map.of("rank", Integer.toString(rank)));
        System.out.println("staged " + s);
        System.out.flush();
        CheckpointInfo info = f.join();
        System.out.println("committed " + s + " " + (info.complete() ? "complete" : "partial"));
        System.out.flush();
      }
    }
  }
}
