package io.dharmana.cost;

import io.dharmana.InvalidDescriptorException;

/**
 * The assumptions a {@link StoragePlan} rests on; each is printed with the plan.
 *
 * @param stallFraction share of the checkpoint interval training may be blocked by a synchronous
 *     checkpoint save (0.05: at most 5%)
 * @param retainedCheckpoints checkpoints kept at once (for restarts and rollbacks)
 * @param checkpointBytesPerParameter bytes per parameter of a full checkpoint when its size is not
 *     stated: 16 for mixed-precision Adam (ZeRO's accounting: 2 B fp16 weights, 2 B fp16
 *     gradients, 12 B fp32 master weights, momentum and variance)
 * @param servingBytesPerParameter bytes per parameter of the weights a server loads (2: bf16)
 * @param lustreBytesPerSecondPerTib throughput a shared file system gives per TiB provisioned
 *     (FSx for Lustre persistent SSD: 125 MB/s per TiB)
 */
public record PlanAssumptions(
    double stallFraction,
    int retainedCheckpoints,
    double checkpointBytesPerParameter,
    double servingBytesPerParameter,
    double lustreBytesPerSecondPerTib) {

  public static final PlanAssumptions DEFAULT = new PlanAssumptions(0.05, 3, 16, 2, 125e6);

  public PlanAssumptions {
    if (!(stallFraction > 0 && stallFraction <= 1)) {
      throw new InvalidDescriptorException("Invalid stall fraction " + stallFraction + ": allowed is (0, 1]");
    }
    if (retainedCheckpoints < 1) {
      throw new InvalidDescriptorException("Invalid retained checkpoints " + retainedCheckpoints + ": must be >= 1");
    }
    if (!(checkpointBytesPerParameter > 0) || !(servingBytesPerParameter > 0) || !(lustreBytesPerSecondPerTib > 0)) {
      throw new InvalidDescriptorException("Invalid plan assumptions " + checkpointBytesPerParameter + ", "
          + servingBytesPerParameter + ", " + lustreBytesPerSecondPerTib + ": bytes per parameter and throughput must be > 0");
    }
  }

  /** The same assumptions with another stall fraction. */
  public PlanAssumptions withStallFraction(double value) {
    return new PlanAssumptions(value, retainedCheckpoints, checkpointBytesPerParameter, servingBytesPerParameter,
        lustreBytesPerSecondPerTib);
  }

  /** The same assumptions with another number of retained checkpoints. */
  public PlanAssumptions withRetainedCheckpoints(int value) {
    return new PlanAssumptions(stallFraction, value, checkpointBytesPerParameter, servingBytesPerParameter,
        lustreBytesPerSecondPerTib);
  }
}
