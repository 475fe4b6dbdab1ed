package io.dharmana.chunk;

/** Cuts every {@code size} bytes: for data that is updated in place rather than shifted (tensors). */
final class FixedChunker implements Chunker {
  private final int size;

  FixedChunker(int size) {
    this.size = size;
  }

  @Override
  public int nextBoundary(byte[] buf, int offset, int length, boolean last) {
    return Math.min(length, size);
  }

  @Override
  public int maxSize() {
    return size;
  }
}
