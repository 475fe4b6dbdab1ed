package io.dharmana.s3;

/** Entry point of the S3 module: makes stores on S3-compatible object stores. */
public final class S3Stores {
  private S3Stores() {}

  /**
   * A store holding each blob as one object under {@code location}. The bucket must exist. The
   * caller must close the store.
   */
  public static S3Store create(S3Location location, S3StoreOptions options) {
    return new S3Store(location, options);
  }

  /** A store under {@code s3://bucket/prefix} with {@code options}. */
  public static S3Store create(String uri, S3StoreOptions options) {
    return create(S3Location.parse(uri), options);
  }
}
