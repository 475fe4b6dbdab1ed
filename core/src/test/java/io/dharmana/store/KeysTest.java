package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeysTest {
  @ParameterizedTest
  @ValueSource(strings = {"a", ".a", "a.", "..a", "a..b", "...", "a/.b/c..", "chunks/ab/00ff", "x/y/z"})
  void acceptsKeysWhoseSegmentsAreNotEmptyDotOrDotDot(String key) {
    assertEquals(key, Keys.check(key));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".", "..", "a/", "/a", "a//b", "a/./b", "a/../b", "./a", "../a", "a/.", "a/..", "a\\b"})
  void refusesEmptyDotAndDotDotSegments(String key) {
    assertThrows(IllegalArgumentException.class, () -> Keys.check(key));
  }

  @org.junit.jupiter.api.Test
  void limitsKeysToKibibyteOfUtf8() {
    assertEquals(1024, Keys.check("x".repeat(1024)).length());
    assertThrows(IllegalArgumentException.class, () -> Keys.check("x".repeat(1025)));
    Keys.check("é".repeat(512)); // 1,024 bytes
    assertThrows(IllegalArgumentException.class, () -> Keys.check("é".repeat(513)));
    Keys.check("日".repeat(341)); // 1,023 bytes
    assertThrows(IllegalArgumentException.class, () -> Keys.check("日".repeat(342)));
  }
}
