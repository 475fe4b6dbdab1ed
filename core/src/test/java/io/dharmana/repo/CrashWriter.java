package io.dharmana.repo;

import java.nio.file.Path;

/**
 * Child process of {@link CrashRecoveryTest}: puts objects {@code obj-<i>} from index {@code
 * start} on, forever, printing each name once its put has returned (committed). The parent kills
 * it with SIGKILL at a random moment.
 */
public final class CrashWriter {
  static long sizeOf(int i) {
    return (1L << 20) + (i * 7919L % 7) * (1L << 20) + i;
  }

  public static void main(String[] args) {
    Path repo = Path.of(args[0]);
    int start = Integer.parseInt(args[1]);
    try (Repository r = Repository.open(repo)) {
      System.out.println("ready");
      System.out.flush();
      for (int i = start; ; i++) {
        r.put("obj-" + i, new SyntheticData(i, sizeOf(i)), PutOptions.defaults());
        System.out.println("committed obj-" + i);
        System.out.flush();
        if (i % 3 == 0) {
          // replace an older object too: a new version must never be half visible either
          r.put("obj-" + (i / 2), new SyntheticData(i / 2, sizeOf(i / 2)), PutOptions.defaults());
        }
      }
    }
  }
}
