package io.dharmana.checkpoint;

import io.dharmana.tensor.DType;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a checkpoint shard, as its table records it.
 *
 * @param name the tensor's name
 * @param dtype element type
 * @param shape dimensions, outermost first
 * @param sha256 hex SHA-256 of the tensor's raw bytes, or for a tensor stored raw {@code chunks:} and
 *     the hash of its chunk list (see {@code CheckpointManager.chunkListHash}); restore checks it
 * @param manifestId manifest of the encoded bytes
 * @param encoding how the bytes are stored: {@link Encoding#FULL}, {@link Encoding#DELTA} against
 *     the entry of step {@code baseStep}, or {@link Encoding#REUSED} (identical to a tensor stored
 *     before, costs nothing)
 * @param baseStep the step whose tensor is the delta parent, -1 if none
 * @param depth delta links restore walks to decode this tensor (0 for a full encoding)
 * @param storedBytes bytes this entry added to the store (0 when reused)
 * @param lossy whether the stored bytes are only an approximation
 */
public record TensorEntry(String name, DType dtype, long[] shape, String sha256, String manifestId, Encoding encoding,
    long baseStep, int depth, long storedBytes, boolean lossy) {

  /** How a tensor's bytes are stored. */
  public enum Encoding {
    FULL, DELTA, REUSED
  }

  public TensorEntry {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(manifestId, "manifestId");
    Objects.requireNonNull(encoding, "encoding");
    shape = shape.clone();
    if (depth < 0 || storedBytes < 0) {
      throw new IllegalArgumentException("Invalid tensor entry " + name + ": negative depth or size");
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Raw size in bytes. */
  public long byteSize() {
    long n = dtype.size();
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
        && sha256.equals(e.sha256) && manifestId.equals(e.manifestId) && encoding == e.encoding
        && baseStep == e.baseStep && depth == e.depth && storedBytes == e.storedBytes && lossy == e.lossy;
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, sha256, manifestId);
  }

  @Override
  public String toString() {
    return "TensorEntry[" + name + ", " + dtype + Arrays.toString(shape) + ", " + encoding
        + (baseStep >= 0 ? "@" + baseStep : "") + ", " + storedBytes + " stored]";
  }
}
