package io.dharmana.cost;

import static io.dharmana.cost.Quantities.bytes;
import static io.dharmana.cost.Quantities.duration;
import static io.dharmana.cost.Quantities.rate;
import static io.dharmana.cost.Quantities.sig3;

import io.dharmana.descriptor.ByteSize;
import io.dharmana.descriptor.ComputationDescriptor;
import java.util.ArrayList;
import java.util.List;

/**
 * Says what a computation asks of its storage before anything runs ("forcing the question" of
 * what the storage flow must be):
 *
 * <ul>
 *   <li>read bandwidth = accelerators × batch size × sample size / step time;
 *   <li>checkpoint write bandwidth for a synchronous save that blocks training at most a fraction
 *       of the interval (size / (fraction × interval)), and for an asynchronous save that only
 *       has to finish before the next one (size / interval);
 *   <li>capacity = data set + retained checkpoints, and the checkpoint bytes written over the run;
 *   <li>for each ML stage (prepare, train, serve, archive) the storage class to use, why, and what
 *       each option would cost per month.
 * </ul>
 *
 * Figures that need a number the computation does not state are left out, never guessed, except
 * the checkpoint size, which is estimated from the parameter count as the assumptions say.
 */
public final class Planner {
  private static final double TIB = 1024.0 * 1024 * 1024 * 1024;

  private Planner() {}

  /** A plan over the built-in prices and default assumptions. */
  public static StoragePlan plan(ComputationDescriptor computation) {
    return plan(computation, PriceTable.defaults(), PlanAssumptions.DEFAULT);
  }

  public static StoragePlan plan(ComputationDescriptor c, PriceTable prices, PlanAssumptions a) {
    List<String> assumptions = new ArrayList<>();
    List<StoragePlan.Figure> figures = new ArrayList<>();

    double readRate = 0;
    if (c.accelerators() > 0 && c.batchSize() > 0 && c.sampleBytes() > 0 && !c.stepTime().isZero()) {
      readRate = (double) c.accelerators() * c.batchSize() * c.sampleBytes() / seconds(c.stepTime());
      figures.add(new StoragePlan.Figure(StoragePlan.READ_BANDWIDTH, "read bandwidth", readRate, "B/s",
          c.accelerators() + " × " + c.batchSize() + " × " + ByteSize.format(c.sampleBytes()) + " / " + duration(c.stepTime())
              + " = " + rate(readRate)));
      assumptions.add("every accelerator reads a fresh batch each step from storage (no sample is cached between epochs)");
    }

    double checkpoint = c.checkpointBytes();
    if (checkpoint == 0 && c.parameters() > 0) {
      checkpoint = c.parameters() * a.checkpointBytesPerParameter();
      figures.add(new StoragePlan.Figure(StoragePlan.CHECKPOINT_SIZE, "checkpoint size", checkpoint, "B",
          count(c.parameters()) + " parameters × " + sig3(a.checkpointBytesPerParameter()) + " B = " + bytes(checkpoint)));
      assumptions.add("a checkpoint holds weights and optimizer state: " + sig3(a.checkpointBytesPerParameter())
          + " bytes per parameter (mixed-precision Adam: 2 B fp16 weights + 2 B fp16 gradients + 12 B fp32 master"
          + " weights, momentum and variance)");
    } else if (checkpoint > 0) {
      figures.add(new StoragePlan.Figure(StoragePlan.CHECKPOINT_SIZE, "checkpoint size", checkpoint, "B",
          "as stated: " + bytes(checkpoint)));
    }

    double interval = seconds(c.checkpointInterval());
    if (checkpoint > 0 && interval > 0) {
      double budget = a.stallFraction() * interval;
      double sync = checkpoint / budget;
      figures.add(new StoragePlan.Figure(StoragePlan.CHECKPOINT_WRITE_SYNC, "checkpoint write, blocking save", sync, "B/s",
          bytes(checkpoint) + " / (" + sig3(a.stallFraction() * 100) + "% × " + duration(c.checkpointInterval()) + " = "
              + Quantities.seconds(budget) + ") = " + rate(sync)));
      double async = checkpoint / interval;
      figures.add(new StoragePlan.Figure(StoragePlan.CHECKPOINT_WRITE_ASYNC, "checkpoint write, async save", async, "B/s",
          bytes(checkpoint) + " / " + duration(c.checkpointInterval()) + " (" + Quantities.seconds(interval) + ") = "
              + rate(async)));
      assumptions.add("a blocking save may stall training for at most " + sig3(a.stallFraction() * 100)
          + "% of the checkpoint interval; an async save copies a snapshot in memory and only has to finish before the next");
    }

    double run = 0;
    if (readRate > 0 && c.datasetBytes() > 0 && c.epochs() > 0) {
      run = c.epochs() * (double) c.datasetBytes() / readRate;
      figures.add(new StoragePlan.Figure(StoragePlan.RUN_DURATION, "run duration", run, "s",
          c.epochs() + " × " + bytes(c.datasetBytes()) + " / " + rate(readRate) + " = "
              + duration(java.time.Duration.ofMillis(Math.round(run * 1000)))));
      if (checkpoint > 0 && interval > 0) {
        long count = (long) Math.floor(run / interval);
        figures.add(new StoragePlan.Figure(StoragePlan.CHECKPOINTS_WRITTEN, "checkpoints written", count * checkpoint, "B",
            "⌊" + duration(java.time.Duration.ofMillis(Math.round(run * 1000))) + " / " + duration(c.checkpointInterval())
                + "⌋ = " + count + " × " + bytes(checkpoint) + " = " + bytes(count * checkpoint)));
      }
    }

    double retained = checkpoint * a.retainedCheckpoints();
    double capacity = c.datasetBytes() + retained;
    if (capacity > 0) {
      String arithmetic = c.datasetBytes() > 0 && retained > 0
          ? bytes(c.datasetBytes()) + " + " + a.retainedCheckpoints() + " × " + bytes(checkpoint) + " = " + bytes(capacity)
          : retained > 0 ? a.retainedCheckpoints() + " × " + bytes(checkpoint) + " = " + bytes(capacity) : "data set " + bytes(capacity);
      figures.add(new StoragePlan.Figure(StoragePlan.CAPACITY, "capacity", capacity, "B", arithmetic));
      if (retained > 0) {
        assumptions.add(a.retainedCheckpoints() + " checkpoints are kept at once for restarts; older ones are deleted or archived");
      }
    }

    List<StoragePlan.StageAdvice> stages = new ArrayList<>();
    if (c.datasetBytes() > 0) {
      stages.add(advice(prices, "prepare", "raw and prepared data set", c.datasetBytes(), "s3-standard",
          "written once and read by many preprocessing and training workers: object storage is durable, shared, and its"
              + " throughput grows with parallel requests",
          List.of("s3-standard", "s3-standard-ia", "ebs-gp3", "local-hdd"), 0, a));
    }
    if (capacity > 0) {
      double need = Math.max(readRate, checkpoint > 0 && interval > 0 ? checkpoint / (a.stallFraction() * interval) : 0);
      double lustreRate = capacity / TIB * a.lustreBytesPerSecondPerTib();
      String recommended;
      String reason;
      if (need > 0 && lustreRate >= need) {
        recommended = "fsx-lustre";
        reason = "a shared file system sized for the capacity (" + bytes(capacity) + " → " + rate(lustreRate)
            + ") already delivers the " + rate(need) + " needed; every node sees the same files";
      } else if (need > 0) {
        recommended = "local-nvme";
        reason = rate(need) + " needed; a shared file system would have to be provisioned at "
            + sig3(need / a.lustreBytesPerSecondPerTib()) + " TiB for bandwidth alone, while node-local NVMe bandwidth grows"
            + " with every node: cache the data set and write checkpoints there, copy down to s3-standard asynchronously";
      } else {
        recommended = "local-nvme";
        reason = "no bandwidth stated; node-local NVMe is the cheapest fast tier, with s3-standard behind it for durability";
      }
      stages.add(advice(prices, "train", "data set + " + a.retainedCheckpoints() + " checkpoints", (long) capacity, recommended,
          reason, List.of("local-nvme", "fsx-lustre", "ebs-gp3", "s3-standard"), need, a));
    }
    double weights = c.parameters() > 0 ? c.parameters() * a.servingBytesPerParameter()
        : checkpoint * a.servingBytesPerParameter() / a.checkpointBytesPerParameter();
    if (weights > 0) {
      assumptions.add("served weights are " + sig3(a.servingBytesPerParameter()) + " bytes per parameter (bf16), without optimizer state");
      stages.add(advice(prices, "serve", "model weights", (long) weights, "s3-standard",
          "read once per replica start: keep them in object storage and cache on each server's local NVMe",
          List.of("s3-standard", "ebs-gp3", "local-nvme"), 0, a));
    }
    if (checkpoint > 0 || c.datasetBytes() > 0) {
      long archived = (long) (checkpoint + c.datasetBytes());
      stages.add(advice(prices, "archive", "final checkpoint + data set, kept to reproduce the run", archived,
          "s3-deep-archive",
          "rarely or never read: the lowest price per GB; restores take up to 12 h and objects are billed for at least 180"
              + " days; use s3-glacier-ir when a restore must be immediate",
          List.of("s3-deep-archive", "s3-glacier-ir", "s3-standard-ia", "local-hdd"), 0, a));
    }
    return new StoragePlan(c, assumptions, figures, stages);
  }

  private static StoragePlan.StageAdvice advice(PriceTable prices, String stage, String what, long bytes, String recommended,
      String reason, List<String> classes, double neededRate, PlanAssumptions a) {
    List<StoragePlan.Option> options = new ArrayList<>();
    for (String name : classes) {
      PriceClass pc = prices.priceClass(name);
      double monthly = bytes / 1e9 * pc.storagePerGbMonth();
      String note = "";
      if (pc.minimumDays() > 0) {
        note = "billed for at least " + pc.minimumDays() + " days";
      }
      if (name.equals("fsx-lustre") && neededRate > 0) {
        double tib = neededRate / a.lustreBytesPerSecondPerTib();
        if (tib * TIB > bytes) {
          double sized = tib * TIB / 1e9 * pc.storagePerGbMonth();
          note = "sized for " + rate(neededRate) + ": " + sig3(tib) + " TiB = " + Money.usd(sized) + "/month";
        }
      }
      options.add(new StoragePlan.Option(name, monthly,
          Quantities.gigabytes(bytes) + " × " + Quantities.price(pc.storagePerGbMonth()) + "/GB-month = " + Money.usd(monthly),
          note));
    }
    return new StoragePlan.StageAdvice(stage, what, bytes, recommended, reason, options);
  }

  private static double seconds(java.time.Duration d) {
    return d.getSeconds() + d.getNano() / 1e9;
  }

  /** Parameter counts as people say them: 175B, 7B, 25.6M. */
  private static String count(long n) {
    if (n >= 1_000_000_000_000L) {
      return sig3(n / 1e12) + "T";
    }
    if (n >= 1_000_000_000L) {
      return sig3(n / 1e9) + "B";
    }
    if (n >= 1_000_000L) {
      return sig3(n / 1e6) + "M";
    }
    return Quantities.grouped(n);
  }
}
