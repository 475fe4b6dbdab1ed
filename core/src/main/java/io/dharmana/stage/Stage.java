package io.dharmana.stage;

import io.dharmana.CorruptDataException;

/**
 * One step of a storage pipeline: a reversible (or, if {@link #lossy()}, approximately
 * reversible) transformation of a block of bytes, such as compression, byte-plane grouping,
 * a checksum or encryption.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>{@code decode(encode(x))} must equal {@code x} byte for byte for every input, including
 *       the empty array, for a stage that is not lossy. A lossy stage must say so through {@link
 *       #lossy()}; the manifest of everything it wrote records that the data is approximate.
 *   <li>{@link #encode} must be deterministic: equal input and parameters give equal output, so
 *       that equal data stays deduplicable after the stage.
 *   <li>{@link #decode} must not depend on anything but its input and the stage's parameters
 *       (which are recorded beside the data), so that data written years ago still decodes.
 *   <li>{@link #decode} must throw {@link CorruptDataException} when it detects damage (a stage
 *       with {@link #detectsCorruption()} must detect any single flipped bit) and must never
 *       read or allocate without bound because of a damaged length field.
 *   <li>Instances must be safe for concurrent use by several threads.
 * </ul>
 */
public interface Stage {

  /** The stage's registered name, as written in descriptors and manifests (e.g. {@code zstd}). */
  default String name() {
    return spec().name();
  }

  /** The version of the encoded format; decoders must still read every older version. */
  default int version() {
    return spec().version();
  }

  /**
   * The name, version and parameters that decoding needs, as recorded in manifests. Never holds
   * secrets.
   */
  StageSpec spec();

  /** Whether decoding yields only an approximation of the input. */
  default boolean lossy() {
    return false;
  }

  /** Whether {@link #decode} is guaranteed to detect a flipped bit in its input. */
  default boolean detectsCorruption() {
    return false;
  }

  /** Encodes {@code length} bytes of {@code input} from {@code offset}. */
  byte[] encode(byte[] input, int offset, int length);

  default byte[] encode(byte[] input) {
    return encode(input, 0, input.length);
  }

  /**
   * Decodes what {@link #encode} produced.
   *
   * @throws CorruptDataException if the input is damaged and the stage can tell
   */
  byte[] decode(byte[] encoded);
}
