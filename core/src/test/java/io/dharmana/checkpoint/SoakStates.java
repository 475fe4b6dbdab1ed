package io.dharmana.checkpoint;

import io.dharmana.tensor.DType;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The states the kill -9 soak saves: synthetic fp32 tensors, large frozen ones (as in
 * fine-tuning: stored once, then reused at no cost) and smaller trained ones that change in a
 * fraction of their elements from step to step (delta-coded), all computed from the seed and
 * step alone so the checker can rebuild any step; plus, when the sample corpus is present, the tensors
 * of one of its checkpoints chosen by the step.
 */
final class SoakStates {
  /** Frozen tensors (never change; stored once, then reused) and trained ones (change every step). */
  static final int FROZEN = 6;
  static final int TRAINED = 2;
  static final int FROZEN_ELEMENTS = 1 << 20;
  static final int TRAINED_ELEMENTS = 1 << 18;
  private static final String[] CORPUS = {
      "w_step2000.safetensors", "w_step2010.safetensors", "w_step2200.safetensors", "w_finetune.safetensors"};

  private static final java.util.Map<Long, byte[]> BASES = new java.util.concurrent.ConcurrentHashMap<>();

  private SoakStates() {}

  /** The step-independent weights of tensor {@code t}, computed once per process. */
  private static byte[] base(long seed, int t, int elements) {
    return BASES.computeIfAbsent(seed * 31 + t, key -> {
      Random base = new Random(key);
      ByteBuffer b = ByteBuffer.allocate(elements * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < elements; i++) {
        b.putFloat(i * 4, (float) (base.nextGaussian() * 0.02));
      }
      return b.array();
    });
  }

  static List<Tensor> state(long seed, long step, Path corpusDir) {
    List<Tensor> out = new ArrayList<>();
    for (int t = 0; t < FROZEN + TRAINED; t++) {
      int elements = t < FROZEN ? FROZEN_ELEMENTS : TRAINED_ELEMENTS;
      ByteBuffer b = ByteBuffer.allocate(elements * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.put(0, base(seed, t, elements));
      if (t >= FROZEN) {
        Random drift = new Random(seed * 1_000_003 + step * 7919 + t);
        for (int k = 0; k < elements / 16; k++) {
          int i = drift.nextInt(elements);
          b.putFloat(i * 4, b.getFloat(i * 4) + (float) (drift.nextGaussian() * 1e-3));
        }
      }
      out.add(Tensor.of((t < FROZEN ? "frozen." : "trained.") + t, DType.F32, new long[] {elements / 1024, 1024}, b));
    }
    if (corpusDir != null) {
      Path file = corpusDir.resolve("checkpoints").resolve(CORPUS[(int) (step % CORPUS.length)]);
      if (Files.isRegularFile(file)) {
        try (SafetensorsFile f = Safetensors.open(file)) {
          for (Tensor t : f.tensors()) {
            ByteBuffer copy = ByteBuffer.allocate((int) t.byteSize());
            copy.put(t.data()).flip();
            out.add(Tensor.of("corpus." + t.name(), t.dtype(), t.shape(), copy));
          }
        }
      }
    }
    return out;
  }
}
