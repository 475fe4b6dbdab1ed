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
  CHUNKS_AND_ORIGINAL
}
