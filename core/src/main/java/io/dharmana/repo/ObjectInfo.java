package io.dharmana.repo;

import java.time.Instant;
import java.util.Map;

/**
 * A stored object as users see it.
 *
 * @param name the object's name in the repository
 * @param size logical bytes
 * @param storedBytes bytes its chunks occupy (before deduplication against other objects)
 * @param sha256 hex SHA-256 of the original bytes
 * @param pipeline the pipeline that wrote it
 * @param manifestId id of the manifest the name points at
 * @param version the name's ref version (moves up by one with every put or remove)
 * @param lossy whether a lossy stage wrote it
 */
public record ObjectInfo(
    String name,
    long size,
    long storedBytes,
    String sha256,
    Instant created,
    String pipeline,
    Map<String, String> attributes,
    String manifestId,
    long version,
    boolean lossy) {

  public double ratio() {
    return storedBytes == 0 ? (size == 0 ? 1 : Double.POSITIVE_INFINITY) : (double) size / storedBytes;
  }
}
