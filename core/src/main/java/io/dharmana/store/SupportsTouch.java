package io.dharmana.store;

/**
 * A store that can refresh a blob's last-modified time. Deduplication touches a chunk it reuses,
 * so that garbage collection, which only deletes unreferenced blobs older than its grace period,
 * cannot delete a chunk that a writer is about to reference.
 */
public interface SupportsTouch {

  /** Sets the blob's last-modified time to now; returns false if the blob does not exist. */
  boolean touch(String key);
}
