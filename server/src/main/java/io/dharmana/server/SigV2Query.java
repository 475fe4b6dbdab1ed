package io.dharmana.server;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies presigned URLs in AWS's older query-string form ({@code AWSAccessKeyId}, {@code Expires},
 * {@code Signature}: HMAC-SHA1). Only this form of Signature Version 2 is accepted, because boto3
 * and the AWS CLI still presign with it by default for custom endpoints; V2 request headers
 * ({@code Authorization: AWS ...}) are refused.
 */
final class SigV2Query {
  private static final Set<String> SUBRESOURCES = Set.of(
      "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
      "requestPayment", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
      "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
      "response-content-type", "response-expires");

  private final Function<String, String> secrets;

  SigV2Query(Function<String, String> secrets) {
    this.secrets = secrets;
  }

  static boolean applies(RequestHead request) {
    return request.header("authorization") == null && request.param("Signature") != null && request.param("AWSAccessKeyId") != null;
  }

  /** Returns the access key id once the URL's signature and expiry hold. */
  String verify(RequestHead request, Instant now) {
    String id = request.param("AWSAccessKeyId");
    String expires = request.param("Expires");
    if (expires == null) {
      throw S3Failure.accessDenied("Invalid presigned URL: Expires is required with AWSAccessKeyId and Signature");
    }
    long expiresAt;
    try {
      expiresAt = Long.parseLong(expires);
    } catch (NumberFormatException e) {
      throw S3Failure.accessDenied("Invalid Expires '" + expires + "': must be seconds since the epoch");
    }
    if (now.getEpochSecond() > expiresAt) {
      throw S3Failure.accessDenied("Request has expired at " + Instant.ofEpochSecond(expiresAt));
    }
    String secret = secrets.apply(id);
    if (secret == null) {
      throw new S3Failure(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records: " + id);
    }
    StringBuilder amz = new StringBuilder();
    TreeMap<String, String> amzHeaders = new TreeMap<>();
    for (Map.Entry<String, List<String>> h : request.headers().entrySet()) {
      if (h.getKey().startsWith("x-amz-")) {
        amzHeaders.put(h.getKey(), String.join(",", h.getValue()).trim());
      }
    }
    amzHeaders.forEach((k, v) -> amz.append(k).append(':').append(v).append('\n'));
    String stringToSign = request.method() + "\n" + nullToEmpty(request.header("content-md5")) + "\n"
        + nullToEmpty(request.header("content-type")) + "\n" + expires + "\n" + amz + resource(request);
    String expected = Base64.getEncoder().encodeToString(hmacSha1(secret, stringToSign));
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), request.param("Signature").getBytes(StandardCharsets.US_ASCII))) {
      throw S3Failure.signatureMismatch("The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    }
    return id;
  }

  private static String resource(RequestHead request) {
    List<String> subs = new ArrayList<>();
    for (Map.Entry<String, String> p : request.query()) {
      if (SUBRESOURCES.contains(p.getKey())) {
        subs.add(p.getValue().isEmpty() ? p.getKey() : p.getKey() + "=" + p.getValue());
      }
    }
    subs.sort(null);
    return request.rawPath() + (subs.isEmpty() ? "" : "?" + String.join("&", subs));
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static byte[] hmacSha1(String secret, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot compute HmacSHA1", e);
    }
  }
}
