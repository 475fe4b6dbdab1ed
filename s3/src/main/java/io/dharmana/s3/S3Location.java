package io.dharmana.s3;

import java.util.Objects;

/**
 * Where a store lives: a bucket and a key prefix inside it. Every blob key {@code k} of the store
 * is the object key {@code prefix/k} (or {@code k} for an empty prefix).
 *
 * @param bucket an S3 bucket name (3-63 lowercase letters, digits, '.', '-')
 * @param prefix key prefix without leading or trailing '/'; empty for the bucket's root
 */
public record S3Location(String bucket, String prefix) {

  public S3Location {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(prefix, "prefix");
    if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
      throw new IllegalArgumentException(
          "Invalid bucket '" + bucket + "': use 3-63 lowercase letters, digits, '.' or '-'");
    }
    if (prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("//")) {
      throw new IllegalArgumentException(
          "Invalid prefix '" + prefix + "': must not start or end with '/' or contain '//'");
    }
  }

  /**
   * Parses {@code s3://bucket} or {@code s3://bucket/some/prefix} (a trailing '/' is ignored).
   *
   * @throws IllegalArgumentException naming the value if it is not such a URI
   */
  public static S3Location parse(String uri) {
    if (uri == null || !uri.startsWith("s3://")) {
      throw new IllegalArgumentException("Invalid S3 location '" + uri + "': expected s3://bucket/prefix");
    }
    String rest = uri.substring("s3://".length());
    while (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    int slash = rest.indexOf('/');
    return slash < 0
        ? new S3Location(rest, "")
        : new S3Location(rest.substring(0, slash), rest.substring(slash + 1));
  }

  /** The object key of blob key {@code key}. */
  String objectKey(String key) {
    return prefix.isEmpty() ? key : prefix + "/" + key;
  }

  /** The blob key of object key {@code objectKey}, which must be under this location. */
  String blobKey(String objectKey) {
    return prefix.isEmpty() ? objectKey : objectKey.substring(prefix.length() + 1);
  }

  @Override
  public String toString() {
    return prefix.isEmpty() ? "s3://" + bucket : "s3://" + bucket + "/" + prefix;
  }
}
