package io.dharmana.store;

/** Validation of blob keys, shared by every store so that all refuse the same keys. */
public final class Keys {
  /** Longest key any store accepts, in UTF-8 bytes (S3's limit). */
  public static final int MAX_KEY_BYTES = 1024;

  private Keys() {}

  /**
   * Returns {@code key} if it is a valid blob key.
   *
   * @throws IllegalArgumentException naming the key and the rule it breaks
   */
  public static String check(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("Invalid key: empty");
    }
    if (key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      throw new IllegalArgumentException("Invalid key: longer than " + MAX_KEY_BYTES + " bytes: " + key.substring(0, 64) + "...");
    }
    if (key.indexOf('\0') >= 0 || key.indexOf('\\') >= 0) {
      throw new IllegalArgumentException("Invalid key '" + key.replace("\0", "\\0") + "': NUL and backslash are not allowed");
    }
    if (key.startsWith("/")) {
      throw new IllegalArgumentException("Invalid key '" + key + "': must be relative (no leading /)");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException(
            "Invalid key '" + key + "': segments must not be empty, '.' or '..'");
      }
    }
    return key;
  }
}
