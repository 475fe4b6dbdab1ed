package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.repo.RefStore;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Properties of the gateway's pure pieces: key escaping, byte ranges, conditions. */
class GatewayValuesTest {

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
  void escapedKeysRoundTripAndPassTheStoreKeyRules(long seed) {
    Random r = new Random(seed);
    String alphabet = "ab/.%\\ +é@\u0001";
    for (int i = 0; i < 2000; i++) {
      StringBuilder k = new StringBuilder();
      int len = 1 + r.nextInt(12);
      for (int j = 0; j < len; j++) {
        k.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      String key = k.toString();
      if (List.of(key.split("/", -1)).contains("..")) {
        assertThrows(S3Failure.class, () -> ObjectNames.checkKey(key), "seed " + seed + " key " + key);
        continue;
      }
      String name = ObjectNames.name("bucket", key);
      assertEquals(key, ObjectNames.key("bucket", name), "seed " + seed + " key '" + key + "' name '" + name + "'");
      assertEquals(name, RefStore.checkName(name), "seed " + seed + " key '" + key + "'");
      assertTrue(name.startsWith(ObjectNames.listPrefix("bucket", key.substring(0, r.nextInt(key.length() + 1)))),
          "seed " + seed + " key '" + key + "'");
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void byteRangesStayInsideTheObject(long seed) {
    Random r = new Random(seed);
    for (int i = 0; i < 5000; i++) {
      long size = r.nextInt(1000);
      long a = r.nextInt(1200) - 100;
      long b = r.nextInt(1200) - 100;
      String header = switch (r.nextInt(4)) {
        case 0 -> "bytes=" + a + "-" + b;
        case 1 -> "bytes=" + a + "-";
        case 2 -> "bytes=-" + b;
        default -> "items=" + a + "-" + b;
      };
      ByteRange range;
      try {
        range = ByteRange.parse(header, size);
      } catch (S3Failure f) {
        assertEquals(416, f.status, "seed " + seed + " " + header + " size " + size);
        continue;
      }
      if (range != null) {
        String what = "seed " + seed + " " + header + " size " + size + " -> " + range;
        assertTrue(range.first() >= 0 && range.length() >= 1 && range.last() < size, what);
      }
    }
    assertEquals(new ByteRange(0, 10), ByteRange.parse("bytes=0-9", 100));
    assertEquals(new ByteRange(90, 10), ByteRange.parse("bytes=-10", 100));
    assertEquals(new ByteRange(95, 5), ByteRange.parse("bytes=95-200", 100));
    assertNull(ByteRange.parse("bytes=0-1,5-6", 100));
  }

  @Test
  void conditionsFollowS3Precedence() {
    java.time.Instant t = java.time.Instant.parse("2026-01-01T00:00:00Z");
    RequestHead ifMatchTrueUnmodifiedFalse = RequestHead.of("GET", "/b/k", null,
        Map.of("If-Match", List.of("\"e\""), "If-Unmodified-Since", List.of("Wed, 31 Dec 2025 00:00:00 GMT")));
    assertEquals(Conditions.Outcome.PROCEED, Conditions.evaluate(ifMatchTrueUnmodifiedFalse, "e", t));
    RequestHead noneMatchFalseModifiedTrue = RequestHead.of("GET", "/b/k", null,
        Map.of("If-None-Match", List.of("\"e\""), "If-Modified-Since", List.of("Wed, 31 Dec 2025 00:00:00 GMT")));
    assertEquals(Conditions.Outcome.NOT_MODIFIED, Conditions.evaluate(noneMatchFalseModifiedTrue, "e", t));
    RequestHead ifMatchFalse = RequestHead.of("GET", "/b/k", null, Map.of("If-Match", List.of("\"x\", \"y\"")));
    assertEquals(Conditions.Outcome.PRECONDITION_FAILED, Conditions.evaluate(ifMatchFalse, "e", t));
    RequestHead notModifiedSince = RequestHead.of("GET", "/b/k", null, Map.of("If-Modified-Since", List.of("Fri, 02 Jan 2026 00:00:00 GMT")));
    assertEquals(Conditions.Outcome.NOT_MODIFIED, Conditions.evaluate(notModifiedSince, "e", t));
  }
}
