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
    // checked on every blob read and write: a chunk key is 74 ASCII characters, so count UTF-8
    // bytes only when the characters could exceed the limit
    if (key.length() * 3 > MAX_KEY_BYTES && key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      throw new IllegalArgumentException("Invalid key: longer than " + MAX_KEY_BYTES + " bytes: " + key.substring(0, 64) + "...");
    }
    if (key.indexOf('\0') >= 0 || key.indexOf('\\') >= 0) {
      throw new IllegalArgumentException("Invalid key '" + key.replace("\0", "\\0") + "': NUL and backslash are not allowed");
    }
    if (key.startsWith("/")) {
      throw new IllegalArgumentException("Invalid key '" + key + "': must be relative (no leading /)");
    }
    int start = 0;
    while (start <= key.length()) {
      int end = key.indexOf('/', start);
      if (end < 0) {
        end = key.length();
      }
      int length = end - start;
      if (length == 0 || (length <= 2 && key.charAt(start) == '.' && (length == 1 || key.charAt(start + 1) == '.'))) {
        throw new IllegalArgumentException(
            "Invalid key '" + key + "': segments must not be empty, '.' or '..'");
      }
      start = end + 1;
    }
    return key;
  }
}
