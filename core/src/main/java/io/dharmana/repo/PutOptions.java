package io.dharmana.repo;

import java.util.Map;
import java.util.Optional;

/**
 * How a put commits.
 *
 * @param pipeline the pipeline to write through; empty for the repository's default
 * @param expectedVersion the ref version the put must replace: {@code 0} = the name must not
 *     exist (or have been removed); {@code -1} = whatever version the name had when the put started (a writer that
 *     moved it in between makes this put fail)
 * @param attributes metadata kept in the manifest (content type, ETag, user metadata)
 * @param expectedSize for progress only, -1 if unknown
 * @param includes manifest ids the object's content refers to; they stay alive as long as it does
 * @param hashOriginal whether the manifest records the SHA-256 of the original bytes; a writer
 *     that identifies its content otherwise (by the chunk ids of a stage-less pipeline) saves a
 *     pass over every byte without it, and the manifest's {@code sha256} is then empty
 */
public record PutOptions(Optional<String> pipeline, long expectedVersion, Map<String, String> attributes, long expectedSize,
    java.util.List<String> includes, boolean hashOriginal) {
  public static final long CURRENT = -1;

  public PutOptions {
    pipeline = pipeline == null ? Optional.empty() : pipeline;
    attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    includes = includes == null ? java.util.List.of() : java.util.List.copyOf(includes);
    if (expectedVersion < -1) {
      throw new IllegalArgumentException("Invalid expected version " + expectedVersion);
    }
  }

  /** Replace whatever is there when the put starts. */
  public static PutOptions defaults() {
    return new PutOptions(Optional.empty(), CURRENT, Map.of(), -1, null, true);
  }

  /** Fail if the name exists. */
  public static PutOptions ifAbsent() {
    return defaults().withExpectedVersion(0);
  }

  public PutOptions withPipeline(String name) {
    return new PutOptions(Optional.of(name), expectedVersion, attributes, expectedSize, includes, hashOriginal);
  }

  public PutOptions withExpectedVersion(long version) {
    return new PutOptions(pipeline, version, attributes, expectedSize, includes, hashOriginal);
  }

  public PutOptions withAttributes(Map<String, String> attrs) {
    return new PutOptions(pipeline, expectedVersion, attrs, expectedSize, includes, hashOriginal);
  }

  public PutOptions withIncludes(java.util.List<String> manifestIds) {
    return new PutOptions(pipeline, expectedVersion, attributes, expectedSize, manifestIds, hashOriginal);
  }

  public PutOptions withExpectedSize(long size) {
    return new PutOptions(pipeline, expectedVersion, attributes, size, includes, hashOriginal);
  }

  /** Leaves the original bytes unhashed (see {@code hashOriginal}). */
  public PutOptions withoutOriginalHash() {
    return new PutOptions(pipeline, expectedVersion, attributes, expectedSize, includes, false);
  }
}
