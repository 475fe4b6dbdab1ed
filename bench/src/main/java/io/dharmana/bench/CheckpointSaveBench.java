package io.dharmana.bench;

import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.checkpoint.CheckpointOptions;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Saves a synthetic training state through {@link CheckpointManager} and prints, side by side,
 * the time the caller was blocked, the time a plain memory copy of the same bytes takes (the
 * snapshot limit), and the time until the save was committed on the local tier; {@code
 * bench/scripts/checkpoint-save.sh} adds the disk limit ({@code dd} with fsync of the stored
 * bytes) and {@code torch.save}.
 *
 * <p>Arguments: repository directory (created), state size in MiB, tensor size in MiB, {@code raw}
 * or {@code float}. The first save warms the staging pool and the JIT; then three saves of
 * changed states are timed, each right after a plain memory copy of the same state (medians
 * printed, and the best copy of all), with
 * fullEvery 1 so each is stored whole, not as a delta. Prints one line of {@code key=value} pairs.
 */
public final class CheckpointSaveBench {
  /** Measured saves; the medians are printed. */
  private static final int ROUNDS = 3;

  private CheckpointSaveBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long totalMiB = Long.parseLong(args[1]);
    int tensorMiB = Integer.parseInt(args[2]);
    boolean raw = args[3].equals("raw");
    int count = (int) Math.max(1, totalMiB / tensorMiB);
    int elements = tensorMiB * (1 << 20) / 4;
    List<ByteBuffer> state = new ArrayList<>();
    long x = 0x9E3779B97F4A7C15L;
    for (int t = 0; t < count; t++) {
      ByteBuffer b = ByteBuffer.allocateDirect(elements * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < elements; i++) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        // weights-like floats: sign, exponents around 2^-6, random mantissa
        int bits = (int) (x & 0x807FFFFFL) | ((0x76 + (int) ((x >>> 40) & 7)) << 23);
        b.putInt(i * 4, bits);
      }
      state.add(b);
    }
    long bytes = (long) count * elements * 4;

    // the snapshot limit: a plain single-threaded copy of the same bytes into touched heap memory.
    // Timed right before each timed save, so both see the same machine (other processes, page
    // cache, GC): the medians are compared. The best copy of all is printed too.
    ByteBuffer dst = ByteBuffer.allocate(elements * 4);
    long bestCopy = Long.MAX_VALUE;
    for (int round = 0; round < ROUNDS; round++) {
      bestCopy = Math.min(bestCopy, copy(state, dst));
    }

    Files.createDirectories(dir);
    CheckpointOptions options = CheckpointOptions.DEFAULT.withMaxInFlight(1).withFullEvery(1);
    if (raw) {
      options = options.withRawBytes();
    }
    try (Repository repo = Repository.init(dir, PipelineDescriptor.of("bench", StorageDescriptor.of(List.of())));
        CheckpointManager m = CheckpointManager.open(repo, "bench", options)) {
      m.save(0, tensors(state, count), Map.of()).join();
      long[] blockedRuns = new long[ROUNDS];
      long[] committedRuns = new long[ROUNDS];
      long[] copyRuns = new long[ROUNDS];
      // CPU time of the whole process from save to committed: what a save costs, whatever else runs on the machine
      long[] cpuRuns = new long[ROUNDS];
      com.sun.management.OperatingSystemMXBean cpu =
          (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      CheckpointInfo info = null;
      for (int round = 0; round < ROUNDS; round++) {
        for (ByteBuffer b : state) {
          b.putInt(0, b.getInt(0) + 1); // a new step: every tensor changed, nothing to deduplicate
        }
        System.gc();
        copyRuns[round] = copy(state, dst);
        bestCopy = Math.min(bestCopy, copyRuns[round]);
        long cpu0 = cpu.getProcessCpuTime();
        long t0 = System.nanoTime();
        CompletableFuture<CheckpointInfo> f = m.save(round + 1, tensors(state, count), Map.of());
        blockedRuns[round] = System.nanoTime() - t0;
        info = f.join();
        committedRuns[round] = System.nanoTime() - t0;
        cpuRuns[round] = cpu.getProcessCpuTime() - cpu0;
      }
      java.util.Arrays.sort(blockedRuns);
      java.util.Arrays.sort(committedRuns);
      java.util.Arrays.sort(copyRuns);
      java.util.Arrays.sort(cpuRuns);
      long blocked = blockedRuns[ROUNDS / 2];
      long committed = committedRuns[ROUNDS / 2];
      long copyNanos = copyRuns[ROUNDS / 2];
      System.out.printf(Locale.ROOT,
          "mode=%s bytes=%d tensors=%d stored=%d blocked_s=%.3f memcpy_s=%.3f memcpy_best_s=%.3f committed_s=%.3f"
              + " cpu_s=%.3f blocked_over_memcpy=%.2f%n",
          raw ? "raw" : "float", bytes, count, info.storedBytes(), blocked / 1e9, copyNanos / 1e9, bestCopy / 1e9,
          committed / 1e9, cpuRuns[ROUNDS / 2] / 1e9, (double) blocked / copyNanos);
    }
  }

  /**
   * Copies every tensor of the state, one after another on this thread, into {@code dst} (one
   * tensor's size, so touched already and reused: the copy runs at memory bandwidth without
   * holding a second state in memory). Returns the nanoseconds it took.
   */
  private static long copy(List<ByteBuffer> state, ByteBuffer dst) {
    long t0 = System.nanoTime();
    for (ByteBuffer b : state) {
      dst.clear().put(b.duplicate().clear());
    }
    return System.nanoTime() - t0;
  }

  private static List<Tensor> tensors(List<ByteBuffer> state, int count) {
    List<Tensor> out = new ArrayList<>();
    for (int t = 0; t < count; t++) {
      ByteBuffer b = state.get(t);
      out.add(Tensor.of("layer." + t + ".weight", DType.F32, new long[] {b.capacity() / 4}, b.duplicate().clear()));
    }
    return out;
  }
}
