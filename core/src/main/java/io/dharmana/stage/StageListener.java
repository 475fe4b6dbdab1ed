package io.dharmana.stage;

/** Receives the bytes and time of each stage application; metrics recorders implement it. */
public interface StageListener {
  StageListener NONE = new StageListener() {};

  /** Stage {@code index} of the chain turned {@code bytesIn} bytes into {@code bytesOut}. */
  default void encoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {}

  /** Stage {@code index} of the chain turned {@code bytesIn} stored bytes into {@code bytesOut}. */
  default void decoded(int index, Stage stage, long bytesIn, long bytesOut, long nanos) {}
}
