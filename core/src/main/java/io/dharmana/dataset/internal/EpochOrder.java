package io.dharmana.dataset.internal;

import java.util.SplittableRandom;

/**
 * The order in which one epoch visits a dataset's samples, a pure function of (shard sizes,
 * seed, epoch, shuffle block size), so every rank computes the same global order without talking
 * to the others, and every run with the same seed repeats it.
 *
 * <p>Shuffled order (MosaicML-style block shuffle): the shards are permuted; their samples are
 * concatenated in that order; the sequence is cut into blocks of {@code blockSize} samples and
 * each block is permuted. A reader therefore touches about {@code blockSize} samples' worth of
 * shards at a time, which bounds how much of the dataset a cache must hold.
 *
 * <p>The global order is then split into {@code parts} contiguous ranges of sizes differing by at
 * most one (part {@code p} is rank {@code p / workers}, worker {@code p % workers}), so every
 * sample is visited exactly once per epoch across all ranks and workers.
 */
public final class EpochOrder {
  private EpochOrder() {}

  /** The global order of one epoch: a permutation of {@code 0 .. total - 1}. */
  public static int[] global(long[] shardFirst, int[] shardSamples, long seed, long epoch, boolean shuffle, int blockSize) {
    long total = 0;
    for (int n : shardSamples) {
      total += n;
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("Cannot order " + total + " samples: at most 2^31 per dataset");
    }
    int[] order = new int[(int) total];
    int shards = shardSamples.length;
    int[] shardOrder = new int[shards];
    for (int i = 0; i < shards; i++) {
      shardOrder[i] = i;
    }
    SplittableRandom random = new SplittableRandom(mix(seed, epoch));
    if (shuffle) {
      permute(shardOrder, 0, shards, random);
    }
    int pos = 0;
    for (int s : shardOrder) {
      for (int i = 0; i < shardSamples[s]; i++) {
        order[pos++] = (int) (shardFirst[s] + i);
      }
    }
    if (shuffle) {
      for (int start = 0; start < order.length; start += blockSize) {
        permute(order, start, Math.min(order.length, start + blockSize), random);
      }
    }
    return order;
  }

  /** First position in the global order of part {@code part} of {@code parts}. */
  public static long partStart(long total, int part, int parts) {
    return total * part / parts;
  }

  private static void permute(int[] a, int from, int to, SplittableRandom random) {
    for (int i = to - 1; i > from; i--) {
      int j = from + random.nextInt(i - from + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  private static long mix(long seed, long epoch) {
    long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + 0x165667B19E3779F9L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
