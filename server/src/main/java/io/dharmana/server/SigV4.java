package io.dharmana.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 verification for S3 requests, in both forms clients use: the
 * {@code Authorization} header and presigned URLs ({@code X-Amz-Signature} in the query).
 *
 * <p>The canonical request is rebuilt from the raw request; the path is tried both as sent and
 * re-encoded with S3's URI encoding, since clients differ in which characters they escape.
 * Requests must be signed within {@link #MAX_SKEW} of the server's clock; presigned URLs must not
 * have expired. Presigned URLs in the older V2 query form are delegated to {@link SigV2Query}.
 * A successful check returns the {@link Verified} context needed to check the
 * signatures of an aws-chunked body.
 */
final class SigV4 {
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
  static final String STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  static final String STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
  static final String STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  static final Duration MAX_SKEW = Duration.ofMinutes(15);
  static final long MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
  private static final HexFormat HEX = HexFormat.of();

  /**
   * Per-thread instances for the few small hashes of each request's signature check: looking a
   * digest or MAC up through the security providers costs more than hashing a canonical request.
   * {@code digest} and {@code doFinal} leave them reset for the next use.
   */
  private static final ThreadLocal<MessageDigest> SHA256_OF_THREAD = ThreadLocal.withInitial(SigV4::sha256);
  private static final ThreadLocal<Mac> HMAC_OF_THREAD = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("Cannot compute HmacSHA256", e);
    }
  });

  /**
   * What a verified request tells the body reader.
   *
   * @param payloadHash the x-amz-content-sha256 value (or UNSIGNED-PAYLOAD for presigned URLs)
   */
  record Verified(String accessKeyId, byte[] signingKey, String amzDate, String scope, String seedSignature, String payloadHash) {}

  private final Function<String, String> secrets;
  private final java.util.concurrent.ConcurrentHashMap<String, byte[]> signingKeys = new java.util.concurrent.ConcurrentHashMap<>();

  /** @param secrets maps an access key id to its secret key, or null when unknown */
  SigV4(Function<String, String> secrets) {
    this.secrets = secrets;
  }

  Verified verify(RequestHead request, Instant now) {
    String authorization = request.header("authorization");
    if (authorization != null) {
      return verifyHeader(request, authorization, now);
    }
    if (request.param("X-Amz-Signature") != null) {
      return verifyPresigned(request, now);
    }
    if (SigV2Query.applies(request)) {
      String id = new SigV2Query(secrets).verify(request, now);
      return new Verified(id, null, null, null, null, UNSIGNED_PAYLOAD);
    }
    throw S3Failure.accessDenied("Anonymous requests are not allowed: sign the request with AWS Signature Version 4");
  }

  private Verified verifyHeader(RequestHead request, String authorization, Instant now) {
    if (authorization.startsWith("AWS ")) {
      throw S3Failure.accessDenied("Cannot accept AWS Signature Version 2 headers: sign with " + ALGORITHM);
    }
    if (!authorization.startsWith(ALGORITHM + " ")) {
      throw S3Failure.accessDenied("Invalid Authorization header: only " + ALGORITHM + " is supported");
    }
    String credential = null;
    String signedHeaders = null;
    String signature = null;
    for (String part : authorization.substring(ALGORITHM.length() + 1).split(",")) {
      String p = part.trim();
      int eq = p.indexOf('=');
      if (eq < 0) {
        continue;
      }
      String value = p.substring(eq + 1).trim();
      switch (p.substring(0, eq).trim()) {
        case "Credential" -> credential = value;
        case "SignedHeaders" -> signedHeaders = value;
        case "Signature" -> signature = value;
        default -> { }
      }
    }
    if (credential == null || signedHeaders == null || signature == null) {
      throw S3Failure.accessDenied("Invalid Authorization header: Credential, SignedHeaders and Signature are required");
    }
    String amzDate = request.header("x-amz-date");
    if (amzDate == null) {
      throw S3Failure.accessDenied("Invalid request: X-Amz-Date header is required with AWS4-HMAC-SHA256");
    }
    Instant signedAt = parseAmzDate(amzDate);
    if (Duration.between(signedAt, now).abs().compareTo(MAX_SKEW) > 0) {
      throw new S3Failure(403, "RequestTimeTooSkewed", "The difference between the request time " + amzDate + " and the server's time is too large");
    }
    String payloadHash = request.header("x-amz-content-sha256");
    if (payloadHash == null) {
      throw S3Failure.invalidRequest("Missing required header for this request: x-amz-content-sha256");
    }
    Scope scope = Scope.parse(credential, amzDate);
    List<String> headerNames = Arrays.asList(signedHeaders.split(";"));
    if (!headerNames.contains("host")) {
      throw S3Failure.accessDenied("Invalid signature: the host header must be signed");
    }
    String secret = secretFor(scope.accessKeyId);
    byte[] key = cachedSigningKey(scope, secret);
    String canonicalQuery = canonicalQuery(request.query(), false);
    String canonicalHeaders = canonicalHeaders(request, headerNames);
    checkSignature(request, key, amzDate, scope, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash, signature);
    return new Verified(scope.accessKeyId, key, amzDate, scope.value, signature, payloadHash);
  }

  private Verified verifyPresigned(RequestHead request, Instant now) {
    if (!ALGORITHM.equals(request.param("X-Amz-Algorithm"))) {
      throw S3Failure.accessDenied("Invalid X-Amz-Algorithm '" + request.param("X-Amz-Algorithm") + "': only " + ALGORITHM + " is supported");
    }
    String credential = required(request, "X-Amz-Credential");
    String amzDate = required(request, "X-Amz-Date");
    String expires = required(request, "X-Amz-Expires");
    String signedHeaders = required(request, "X-Amz-SignedHeaders");
    String signature = required(request, "X-Amz-Signature");
    long expiresSeconds;
    try {
      expiresSeconds = Long.parseLong(expires);
    } catch (NumberFormatException e) {
      throw S3Failure.accessDenied("Invalid X-Amz-Expires '" + expires + "': must be a number of seconds");
    }
    if (expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
      throw S3Failure.accessDenied("Invalid X-Amz-Expires " + expiresSeconds + ": must be 1 to " + MAX_PRESIGN_SECONDS + " seconds");
    }
    Instant signedAt = parseAmzDate(amzDate);
    if (now.isAfter(signedAt.plusSeconds(expiresSeconds))) {
      throw S3Failure.accessDenied("Request has expired: presigned at " + amzDate + " for " + expiresSeconds + " s");
    }
    if (signedAt.isAfter(now.plus(MAX_SKEW))) {
      throw S3Failure.accessDenied("Request is not yet valid: presigned at " + amzDate);
    }
    Scope scope = Scope.parse(credential, amzDate);
    String secret = secretFor(scope.accessKeyId);
    byte[] key = cachedSigningKey(scope, secret);
    List<String> headerNames = Arrays.asList(signedHeaders.split(";"));
    String payloadHash = request.header("x-amz-content-sha256");
    if (payloadHash == null) {
      payloadHash = UNSIGNED_PAYLOAD;
    }
    String canonicalQuery = canonicalQuery(request.query(), true);
    String canonicalHeaders = canonicalHeaders(request, headerNames);
    checkSignature(request, key, amzDate, scope, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash, signature);
    return new Verified(scope.accessKeyId, key, amzDate, scope.value, signature, payloadHash);
  }

  private void checkSignature(
      RequestHead request, byte[] key, String amzDate, Scope scope, String canonicalQuery,
      String canonicalHeaders, String signedHeaders, String payloadHash, String signature) {
    List<String> paths = new ArrayList<>(2);
    paths.add(uriEncode(RequestHead.decodePath(request.rawPath()), false));
    if (!paths.get(0).equals(request.rawPath())) {
      paths.add(request.rawPath());
    }
    for (String path : paths) {
      String canonicalRequest = request.method() + "\n" + path + "\n" + canonicalQuery + "\n"
          + canonicalHeaders + "\n" + signedHeaders + "\n" + payloadHash;
      String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope.value + "\n" + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
      String expected = HEX.formatHex(hmac(key, stringToSign));
      if (MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), signature.getBytes(StandardCharsets.US_ASCII))) {
        return;
      }
    }
    throw S3Failure.signatureMismatch(
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
  }

  /** Signing keys change once a day per key and region; deriving one costs four HMACs. */
  private byte[] cachedSigningKey(Scope scope, String secret) {
    String cacheKey = scope.accessKeyId + "/" + scope.value;
    byte[] key = signingKeys.get(cacheKey);
    if (key == null) {
      if (signingKeys.size() > 1000) {
        signingKeys.clear();
      }
      key = signingKey(secret, scope.date, scope.region, scope.service);
      signingKeys.put(cacheKey, key);
    }
    return key;
  }

  private String secretFor(String accessKeyId) {
    String secret = secrets.apply(accessKeyId);
    if (secret == null) {
      throw new S3Failure(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records: " + accessKeyId);
    }
    return secret;
  }

  private static String required(RequestHead request, String name) {
    String value = request.param(name);
    if (value == null) {
      throw S3Failure.accessDenied("Invalid presigned URL: query parameter " + name + " is required");
    }
    return value;
  }

  static Instant parseAmzDate(String amzDate) {
    // read by position: the formatter's general parse is most of a small request's signature check
    if (amzDate.length() == 16 && amzDate.charAt(8) == 'T' && amzDate.charAt(15) == 'Z') {
      int year = digits(amzDate, 0, 4);
      int month = digits(amzDate, 4, 6);
      int day = digits(amzDate, 6, 8);
      int hour = digits(amzDate, 9, 11);
      int minute = digits(amzDate, 11, 13);
      int second = digits(amzDate, 13, 15);
      if ((year | month | day | hour | minute | second) >= 0) {
        try {
          return LocalDateTime.of(year, month, day, hour, minute, second).toInstant(ZoneOffset.UTC);
        } catch (java.time.DateTimeException e) {
          // out of range (month 13, February 30, hour 24): refused below
        }
      }
    }
    throw S3Failure.accessDenied("Invalid X-Amz-Date '" + amzDate + "': must be yyyyMMdd'T'HHmmss'Z'");
  }

  /** The decimal number in {@code s[from, to)}, or -1 unless every character there is an ASCII digit. */
  private static int digits(String s, int from, int to) {
    int v = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** The credential scope: {@code AKID/yyyymmdd/region/service/aws4_request}. */
  private record Scope(String accessKeyId, String date, String region, String service, String value) {
    static Scope parse(String credential, String amzDate) {
      String[] parts = credential.split("/");
      if (parts.length != 5 || !"aws4_request".equals(parts[4])) {
        throw S3Failure.accessDenied("Invalid credential '" + credential + "': must be AKID/yyyymmdd/region/service/aws4_request");
      }
      if (!amzDate.startsWith(parts[1])) {
        throw S3Failure.accessDenied("Invalid credential date " + parts[1] + ": does not match X-Amz-Date " + amzDate);
      }
      if (!"s3".equals(parts[3])) {
        throw S3Failure.accessDenied("Invalid credential service '" + parts[3] + "': must be s3");
      }
      return new Scope(parts[0], parts[1], parts[2], parts[3], parts[1] + "/" + parts[2] + "/" + parts[3] + "/aws4_request");
    }
  }

  static String canonicalQuery(List<Map.Entry<String, String>> query, boolean presigned) {
    List<String[]> encoded = new ArrayList<>();
    for (Map.Entry<String, String> e : query) {
      if (presigned && e.getKey().equals("X-Amz-Signature")) {
        continue;
      }
      encoded.add(new String[] {uriEncode(e.getKey(), true), uriEncode(e.getValue(), true)});
    }
    encoded.sort((a, b) -> {
      int c = a[0].compareTo(b[0]);
      return c != 0 ? c : a[1].compareTo(b[1]);
    });
    StringBuilder sb = new StringBuilder();
    for (String[] e : encoded) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(e[0]).append('=').append(e[1]);
    }
    return sb.toString();
  }

  private static String canonicalHeaders(RequestHead request, List<String> names) {
    StringBuilder sb = new StringBuilder();
    for (String name : names) {
      List<String> values = request.headers().get(name);
      if (values == null) {
        throw S3Failure.accessDenied("Invalid signature: signed header '" + name + "' is not in the request");
      }
      sb.append(name).append(':');
      for (int i = 0; i < values.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        appendCollapsed(sb, values.get(i).trim());
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** Appends {@code value} with each run of spaces collapsed to one, as SigV4's canonical headers want. */
  static void appendCollapsed(StringBuilder sb, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c != ' ' || i == 0 || value.charAt(i - 1) != ' ') {
        sb.append(c);
      }
    }
  }

  /** AWS's UriEncode: everything but unreserved characters is %XX (upper case); '/' kept in paths. */
  static String uriEncode(String s, boolean encodeSlash) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(bytes.length + 16);
    for (byte b : bytes) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  static byte[] signingKey(String secret, String date, String region, String service) {
    byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
    k = hmac(k, region);
    k = hmac(k, service);
    return hmac(k, "aws4_request");
  }

  /** HMAC-SHA256 of {@code data} with this thread's MAC, keyed anew (a key's setup is two SHA-256 blocks). */
  static byte[] hmac(byte[] key, String data) {
    Mac mac = HMAC_OF_THREAD.get();
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (java.security.InvalidKeyException e) {
      throw new IllegalStateException("Cannot key HmacSHA256", e);
    }
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  /** An HMAC-SHA256 keyed with {@code key}; each {@code doFinal} leaves it ready for the next message. Not thread-safe. */
  static Mac hmacKeyed(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("Cannot compute HmacSHA256", e);
    }
  }

  static String hmacHex(byte[] key, String data) {
    return HEX.formatHex(hmac(key, data));
  }

  static String sha256Hex(byte[] data) {
    return HEX.formatHex(SHA256_OF_THREAD.get().digest(data));
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot find SHA-256", e);
    }
  }
}
