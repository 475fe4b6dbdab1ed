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
 * @param reads how the backend serves reads of the content; null is {@link Reads#THROUGH_PIPELINE}
 */
public record StoredObject(
    String name, long size, long storedBytes, String sha256, Instant created, String pipeline,
    Map<String, String> attributes, long version, String contentId, Reads reads) {

  /** How a backend serves reads of an object's content. */
  public enum Reads {
    /** Each read fetches, verifies and decodes the chunks it covers. */
    THROUGH_PIPELINE,
    /**
     * From a whole decoded copy the backend keeps in a file on local disk (a tensor-coded {@code
     * .safetensors} object: the first read decodes it there): reading it ahead into memory would
     * only hold a second copy.
     */
    FROM_LOCAL_FILE
  }

  public StoredObject {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(created, "created");
    if (size < 0) {
      throw new IllegalArgumentException("Invalid size " + size + " of " + name + ": must be >= 0");
    }
    attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    reads = reads == null ? Reads.THROUGH_PIPELINE : reads;
  }

  /** An object whose reads go through its pipeline. */
  public StoredObject(String name, long size, long storedBytes, String sha256, Instant created, String pipeline,
      Map<String, String> attributes, long version, String contentId) {
    this(name, size, storedBytes, sha256, created, pipeline, attributes, version, contentId, Reads.THROUGH_PIPELINE);
  }
}
