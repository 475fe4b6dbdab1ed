package io.dharmana.server;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;

/**
 * One page of ListObjects(V2): keys under a prefix, grouped into common prefixes by a delimiter,
 * resumed after a marker.
 *
 * <p>Entries arrive in backend name order. The resume point is the last key or common prefix
 * returned; a common prefix as resume point skips every key under it, so each key and each common
 * prefix appears on exactly one page. Continuation tokens encode that point opaquely.
 */
final class Listing {
  /** A key with its stored object, or a common prefix (object null). */
  record Entry(String key, StoredObject object) {
    boolean isPrefix() {
      return object == null;
    }
  }

  record Page(List<Entry> contents, List<String> commonPrefixes, boolean truncated, Entry last) {}

  private Listing() {}

  /**
   * @param entries backend objects of the bucket, in name order
   * @param after resume point (exclusive): a key, or a common prefix whose keys are all skipped;
   *     null to start at the beginning
   */
  static Page page(String bucket, Iterator<StoredObject> entries, String prefix, String delimiter, int maxKeys, String after) {
    List<Entry> contents = new ArrayList<>();
    List<String> prefixes = new ArrayList<>();
    Entry last = null;
    String afterName = after == null ? null : ObjectNames.name(bucket, after);
    // the resume point was a common prefix exactly when the delimiter occurs in it after the prefix
    // (a key with the delimiter there would have been rolled up into one); a folder-marker key
    // such as "a/" listed under prefix "a/" is a key, and keys under it are still to come
    boolean afterIsPrefix = after != null && delimiter != null && !delimiter.isEmpty()
        && after.startsWith(prefix) && after.indexOf(delimiter, prefix.length()) >= 0;
    int count = 0;
    while (entries.hasNext()) {
      StoredObject o = entries.next();
      String key = ObjectNames.key(bucket, o.name());
      if (key == null || !key.startsWith(prefix)) {
        continue;
      }
      if (after != null && ((afterIsPrefix && key.startsWith(after)) || o.name().compareTo(afterName) <= 0)) {
        continue;
      }
      Entry entry = new Entry(key, o);
      if (delimiter != null && !delimiter.isEmpty()) {
        int d = key.indexOf(delimiter, prefix.length());
        if (d >= 0) {
          String common = key.substring(0, d + delimiter.length());
          if (last != null && last.isPrefix() && last.key().equals(common)) {
            continue;
          }
          entry = new Entry(common, null);
        }
      }
      if (count == maxKeys) {
        return new Page(contents, prefixes, true, last);
      }
      if (entry.isPrefix()) {
        prefixes.add(entry.key());
      } else {
        contents.add(entry);
      }
      last = entry;
      count++;
    }
    return new Page(contents, prefixes, false, last);
  }

  static String token(Entry last) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(last.key().getBytes(StandardCharsets.UTF_8));
  }

  static String fromToken(String token) {
    try {
      return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw S3Failure.invalidArgument("Invalid continuation token '" + token + "': not issued by this gateway");
    }
  }
}
