package io.dharmana.runtime;

/** How much a read checks besides what every read checks. */
public enum Verification {
  /**
   * Every chunk against its id (the SHA-256 of its stored bytes), plus whatever the stages check
   * while decoding (zstd's content checksum, the checksum stage, AES-GCM's tag). Always done.
   */
  CHUNKS,
  /**
   * Also the SHA-256 of the whole decoded object against the manifest's, when the whole object
   * is read and no lossy stage wrote it: end-to-end proof, at the cost of one sequential hash.
   */
  CHUNKS_AND_ORIGINAL;

  /**
   * Whether reading a whole object this way checks the SHA-256 of the original: not for an object
   * a lossy stage wrote (it decodes to an approximation) nor for one written without the hash (as
   * the S3 gateway writes them); those are checked by their chunks alone.
   *
   * @param originalSha256 the hex SHA-256 its manifest records, empty when none was recorded
   */
  public boolean checksOriginal(boolean lossy, String originalSha256) {
    return this == CHUNKS_AND_ORIGINAL && !lossy && !originalSha256.isEmpty();
  }
}
