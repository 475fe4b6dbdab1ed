package io.dharmana.server;

import java.nio.charset.StandardCharsets;

/**
 * Maps S3's (bucket, key) to backend object names {@code bucket/escaped-key} and back, and applies
 * the gateway's key rules.
 *
 * <p>S3 keys may contain empty segments ({@code dir/} folder markers, {@code a//b}) and '.', which
 * Dharmana's store key rules refuse; those are escaped reversibly: an empty segment becomes
 * {@code %}, a '.' segment {@code %2E}, and '%' and '\' inside segments {@code %25} and {@code %5C}.
 * Keys without those characters map to themselves, so the backend's name order is S3's key order
 * for them. Keys with a {@code ..} segment, NUL, or longer than 1024 UTF-8 bytes are refused.
 */
final class ObjectNames {
  static final int MAX_KEY_BYTES = 1024;

  private ObjectNames() {}

  /** Checks an S3 key; throws S3's error for the rule it breaks. */
  static String checkKey(String key) {
    if (key.isEmpty()) {
      throw S3Failure.invalidArgument("Invalid key: empty");
    }
    if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      throw new S3Failure(400, "KeyTooLongError", "Your key is too long: the maximum is " + MAX_KEY_BYTES + " UTF-8 bytes");
    }
    if (key.indexOf('\0') >= 0) {
      throw S3Failure.invalidArgument("Invalid key '" + key.replace("\0", "\\0") + "': NUL is not allowed");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals("..")) {
        throw S3Failure.invalidArgument("Invalid key '" + key + "': '..' segments are not allowed");
      }
    }
    return key;
  }

  /** Valid bucket names per S3's rules (3-63 lower-case letters, digits, '-' and '.'). */
  static String checkBucket(String bucket) {
    if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]") || bucket.contains("..")) {
      throw new S3Failure(400, "InvalidBucketName", "Invalid bucket name '" + bucket + "': use 3-63 lower-case letters, digits, '.' and '-'");
    }
    return bucket;
  }

  static String name(String bucket, String key) {
    return bucket + "/" + escape(key);
  }

  /** The backend prefix holding every key of {@code bucket} that starts with {@code keyPrefix}. */
  static String listPrefix(String bucket, String keyPrefix) {
    int slash = keyPrefix.lastIndexOf('/');
    if (slash < 0) {
      return bucket + "/";
    }
    return bucket + "/" + escape(keyPrefix.substring(0, slash)) + "/";
  }

  /** The key of a backend name in {@code bucket}, or null if the name is not in that bucket. */
  static String key(String bucket, String name) {
    if (!name.startsWith(bucket) || name.length() <= bucket.length() + 1 || name.charAt(bucket.length()) != '/') {
      return null;
    }
    return unescape(name.substring(bucket.length() + 1));
  }

  static String escape(String key) {
    if (key.isEmpty()) {
      return "%";
    }
    if (!needsEscape(key)) {
      return key;
    }
    StringBuilder sb = new StringBuilder(key.length() + 8);
    String[] segments = key.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0) {
        sb.append('/');
      }
      String s = segments[i];
      if (s.isEmpty()) {
        sb.append('%');
      } else if (s.equals(".")) {
        sb.append("%2E");
      } else {
        sb.append(s.replace("%", "%25").replace("\\", "%5C"));
      }
    }
    return sb.toString();
  }

  static String unescape(String name) {
    if (name.indexOf('%') < 0) {
      return name;
    }
    StringBuilder sb = new StringBuilder(name.length());
    String[] segments = name.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0) {
        sb.append('/');
      }
      String s = segments[i];
      if (s.equals("%")) {
        continue;
      }
      for (int j = 0; j < s.length(); j++) {
        char c = s.charAt(j);
        if (c == '%' && j + 2 < s.length()) {
          String code = s.substring(j + 1, j + 3);
          sb.append(switch (code) {
            case "2E" -> '.';
            case "5C" -> '\\';
            default -> '%';
          });
          j += 2;
        } else {
          sb.append(c);
        }
      }
    }
    return sb.toString();
  }

  private static boolean needsEscape(String key) {
    if (key.indexOf('%') >= 0 || key.indexOf('\\') >= 0 || key.startsWith("/") || key.endsWith("/") || key.contains("//")) {
      return true;
    }
    return key.equals(".") || key.startsWith("./") || key.endsWith("/.") || key.contains("/./");
  }
}
