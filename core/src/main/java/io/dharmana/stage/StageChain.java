package io.dharmana.stage;

import java.util.List;

/**
 * An ordered list of stages: encode applies them first to last, decode last to first. The chain
 * itself keeps no state, so one instance serves many threads; timing per stage is recorded by the
 * caller's {@link StageListener}.
 */
public final class StageChain {
  private final List<Stage> stages;

  public StageChain(List<Stage> stages) {
    this.stages = List.copyOf(stages);
  }

  public List<Stage> stages() {
    return stages;
  }

  public List<StageSpec> specs() {
    return stages.stream().map(Stage::spec).toList();
  }

  public boolean lossy() {
    return stages.stream().anyMatch(Stage::lossy);
  }

  public byte[] encode(byte[] input, StageListener listener) {
    byte[] current = input;
    for (int i = 0; i < stages.size(); i++) {
      long start = System.nanoTime();
      byte[] next = stages.get(i).encode(current);
      listener.encoded(i, stages.get(i), current.length, next.length, System.nanoTime() - start);
      current = next;
    }
    return current;
  }

  public byte[] decode(byte[] stored, StageListener listener) {
    byte[] current = stored;
    for (int i = stages.size() - 1; i >= 0; i--) {
      long start = System.nanoTime();
      byte[] next = stages.get(i).decode(current);
      listener.decoded(i, stages.get(i), current.length, next.length, System.nanoTime() - start);
      current = next;
    }
    return current;
  }

  public byte[] encode(byte[] input) {
    return encode(input, StageListener.NONE);
  }

  public byte[] decode(byte[] stored) {
    return decode(stored, StageListener.NONE);
  }
}
