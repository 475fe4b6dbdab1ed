package io.dharmana.server;

/**
 * A request the gateway refuses, carried to the response writer as S3's error XML: the HTTP status,
 * S3's error code (clients branch on it, e.g. {@code NoSuchKey}) and a message for people.
 */
final class S3Failure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  final int status;
  final String code;

  S3Failure(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  static S3Failure accessDenied(String message) {
    return new S3Failure(403, "AccessDenied", message);
  }

  static S3Failure signatureMismatch(String message) {
    return new S3Failure(403, "SignatureDoesNotMatch", message);
  }

  static S3Failure invalidArgument(String message) {
    return new S3Failure(400, "InvalidArgument", message);
  }

  static S3Failure invalidRequest(String message) {
    return new S3Failure(400, "InvalidRequest", message);
  }

  static S3Failure malformedXml(String message) {
    return new S3Failure(400, "MalformedXML", message);
  }

  static S3Failure noSuchBucket(String bucket) {
    return new S3Failure(404, "NoSuchBucket", "The specified bucket does not exist: " + bucket);
  }

  static S3Failure noSuchKey(String key) {
    return new S3Failure(404, "NoSuchKey", "The specified key does not exist: " + key);
  }

  static S3Failure noSuchUpload(String uploadId) {
    return new S3Failure(404, "NoSuchUpload", "The specified multipart upload does not exist: " + uploadId);
  }

  static S3Failure preconditionFailed(String message) {
    return new S3Failure(412, "PreconditionFailed", message);
  }

  static S3Failure entityTooLarge(long limit) {
    return new S3Failure(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size of " + limit + " bytes");
  }

  static S3Failure notImplemented(String what) {
    return new S3Failure(501, "NotImplemented", "Cannot serve " + what + ": not implemented by the Dharmana gateway");
  }
}
