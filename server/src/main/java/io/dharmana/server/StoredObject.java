package io.dharmana.server;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * What the backend knows about one stored object.
 *
 * @param size the logical (client-visible) size in bytes
 * @param storedBytes bytes the object added to storage after the pipeline (for ratios)
 * @param sha256 hex SHA-256 of the logical content; empty or null when the backend did not record it
 * @param version increases with every put of the same name (for compare-and-set)
 * @param attributes content type, user metadata and the like, as given to put
 * @param contentId names this version's content in the backend (a manifest id), for {@link ObjectBackend#open}
 */
public record StoredObject(
    String name, long size, long storedBytes, String sha256, Instant created, String pipeline,
    Map<String, String> attributes, long version, String contentId) {

  public StoredObject {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(created, "created");
    if (size < 0) {
      throw new IllegalArgumentException("Invalid size " + size + " of " + name + ": must be >= 0");
    }
    attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
  }
}
