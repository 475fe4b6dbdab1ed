package io.dharmana.server;

import java.util.Map;

/**
 * How to store one object: through which pipeline, with which attributes, and under which
 * precondition.
 *
 * @param pipeline the pipeline name, or null for the backend's default
 * @param attributes content type, ETag, user metadata
 * @param requireAbsent the put must fail if the name exists (S3's {@code If-None-Match: *})
 * @param requireVersion the put must fail unless the current version is this one; -1 for none
 */
public record PutRequest(String pipeline, Map<String, String> attributes, boolean requireAbsent, long requireVersion) {
  public PutRequest {
    attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    if (requireAbsent && requireVersion >= 0) {
      throw new IllegalArgumentException("Invalid put precondition: requireAbsent and requireVersion " + requireVersion + " together");
    }
  }

  public static PutRequest unconditional(String pipeline, Map<String, String> attributes) {
    return new PutRequest(pipeline, attributes, false, -1);
  }
}
