package io.dharmana.server;

import io.dharmana.checkpoint.CheckpointManager;
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
  /** Longest backend name: the repository's ref names hold up to 900 characters. */
  static final int MAX_NAME_CHARS = 900;
  /** Longest segment: refs are files, and file names hold 255 bytes. */
  static final int MAX_SEGMENT_BYTES = 240;
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

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

  /**
   * Checks an S3 key of {@code bucket}: also refuses the names a checkpoint run of the repository
   * keeps ({@code dharmana checkpoint save} into bucket {@code checkpoints}'s names), which a
   * client must not overwrite or delete (an {@code aws s3 sync --delete} would remove the runs).
   */
  static String checkKey(String bucket, String key) {
    checkKey(key);
    if (CheckpointManager.isRunObject(bucket + "/" + key)) {
      throw new S3Failure(403, "AccessDenied", "Access denied to key '" + key + "' of bucket " + bucket
          + ": the repository's checkpoint runs keep their steps under that name (dharmana checkpoint list/restore reads them)");
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
    String name = bucket + "/" + escape(key);
    if (name.length() > MAX_NAME_CHARS) {
      throw new S3Failure(400, "KeyTooLongError", "Your key is too long: with its bucket this gateway holds keys of up to "
          + (MAX_NAME_CHARS - bucket.length() - 1) + " characters");
    }
    for (String segment : name.split("/")) {
      if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_SEGMENT_BYTES) {
        throw new S3Failure(400, "KeyTooLongError", "Your key has a part between '/' longer than " + MAX_SEGMENT_BYTES + " UTF-8 bytes");
      }
    }
    return name;
  }

  /** The backend prefix holding every key of {@code bucket} that starts with {@code keyPrefix}. */
  static String listPrefix(String bucket, String keyPrefix) {
    int slash = keyPrefix.lastIndexOf('/');
    if (slash < 0) {
      return bucket + "/";
    }
    return bucket + "/" + escape(keyPrefix.substring(0, slash)) + "/";
  }

  /**
   * The key of a backend name in {@code bucket}, or null if the name is not in that bucket (or is
   * a checkpoint run's, see {@link #checkKey(String, String)}: clients do not see those).
   */
  static String key(String bucket, String name) {
    if (!name.startsWith(bucket) || name.length() <= bucket.length() + 1 || name.charAt(bucket.length()) != '/'
        || CheckpointManager.isRunObject(name)) {
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
        continue;
      }
      if (s.equals(".")) {
        sb.append("%2E");
        continue;
      }
      for (int j = 0; j < s.length(); j++) {
        char c = s.charAt(j);
        if (c == '%' || c == '\\' || c < 0x20 || c == 0x7f || (c == '@' && j == 0)) {
          sb.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
        } else {
          sb.append(c);
        }
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
          sb.append((char) Integer.parseInt(s.substring(j + 1, j + 3), 16));
          j += 2;
        } else {
          sb.append(c);
        }
      }
    }
    return sb.toString();
  }

  private static boolean needsEscape(String key) {
    if (key.indexOf('%') >= 0 || key.indexOf('\\') >= 0 || key.startsWith("/") || key.endsWith("/") || key.contains("//")
        || key.startsWith("@") || key.contains("/@")) {
      return true;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return true;
      }
    }
    return key.equals(".") || key.startsWith("./") || key.endsWith("/.") || key.contains("/./");
  }
}
