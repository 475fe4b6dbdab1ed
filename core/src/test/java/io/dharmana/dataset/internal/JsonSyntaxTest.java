package io.dharmana.dataset.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The JSON Lines check agrees with Jackson's strict parser, and says where a line goes wrong. */
class JsonSyntaxTest {
  private static final ObjectMapper JACKSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
  private static final String ALPHABET = "{}[]\":,0123456789-+.eEtrufalsn\\/ abcxyz\u00e9";

  private static boolean jacksonAccepts(String line) {
    if (line.isBlank()) {
      return true;
    }
    try {
      JACKSON.readTree(line.getBytes(StandardCharsets.UTF_8));
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static String randomValue(Random random, int depth) {
    switch (depth > 3 ? 3 + random.nextInt(4) : random.nextInt(7)) {
      case 0: {
        StringBuilder o = new StringBuilder("{");
        for (int i = random.nextInt(4); i > 0; i--) {
          o.append(randomString(random)).append(':').append(randomValue(random, depth + 1)).append(i > 1 ? "," : "");
        }
        return o.append('}').toString();
      }
      case 1: {
        StringBuilder a = new StringBuilder("[ ");
        for (int i = random.nextInt(4); i > 0; i--) {
          a.append(randomValue(random, depth + 1)).append(i > 1 ? " , " : "");
        }
        return a.append(']').toString();
      }
      case 2:
        return randomString(random);
      case 3:
        return Long.toString(random.nextLong() >> random.nextInt(64));
      case 4:
        return Double.toString(random.nextGaussian() * Math.pow(10, random.nextInt(40) - 20));
      case 5:
        return random.nextBoolean() ? "true" : "false";
      default:
        return "null";
    }
  }

  private static String randomString(Random random) {
    StringBuilder s = new StringBuilder("\"");
    for (int i = random.nextInt(8); i > 0; i--) {
      int kind = random.nextInt(10);
      s.append(kind == 0 ? "\\n" : kind == 1 ? "\\u00e9" : kind == 2 ? "\u20ac" : kind == 3 ? "\\\"" : String.valueOf((char) ('a' + random.nextInt(26))));
    }
    return s.append('"').toString();
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void agreesWithJacksonOnValidAndMutatedLines(long seed) {
    Random random = new Random(seed);
    for (int trial = 0; trial < 3000; trial++) {
      String line = randomValue(random, 0);
      String why = "seed " + seed + " trial " + trial + ": " + line;
      assertNull(JsonSyntax.problem(line.getBytes(StandardCharsets.UTF_8)), why);
      StringBuilder mutated = new StringBuilder(line);
      for (int m = 1 + random.nextInt(2); m > 0 && mutated.length() > 0; m--) {
        int at = random.nextInt(mutated.length());
        switch (random.nextInt(3)) {
          case 0 -> mutated.deleteCharAt(at);
          case 1 -> mutated.insert(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
          default -> mutated.setCharAt(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
      }
      String m = mutated.toString();
      String problem = JsonSyntax.problem(m.getBytes(StandardCharsets.UTF_8));
      assertEquals(jacksonAccepts(m), problem == null, "seed " + seed + " trial " + trial + ": " + m + " -> " + problem);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "not json|expected a value, found 'not' at column 1",
      "{\"a\":1} {\"b\":2}|a second JSON value follows the first (one value a line) at column 9",
      "{\"a\":1} x|expected the end of the line after the value, found 'x' at column 9",
      "{\"a\":1|expected ',' or '}', found the end of the line at column 7",
      "{a:1}|expected a field name in double quotes, found 'a' at column 2",
      "[1,]|expected a value, found ']' at column 4",
      "\"open|the string that starts here does not end on the line at column 1",
      "\"\\q\"|expected an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX) after '\\', found 'q' at column 3",
      "01|a second JSON value follows the first (one value a line) at column 2",
      "-|expected a digit, found the end of the line at column 2",
      "nul|expected a value, found 'nul' at column 1",
      "{\"a\":tru}|expected a value, found 'tru' at column 6",
  })
  void saysWhatIsWrongAndWhere(String line, String expected) {
    assertEquals(expected, JsonSyntax.problem(line.getBytes(StandardCharsets.UTF_8)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"c0 80", "ed a0 80", "f4 90 80 80", "ff", "e2 82", "80"})
  void refusesBytesThatAreNotUtf8(String hex) {
    String[] bytes = hex.split(" ");
    byte[] line = new byte[bytes.length + 2];
    line[0] = '"';
    for (int i = 0; i < bytes.length; i++) {
      line[i + 1] = (byte) Integer.parseInt(bytes[i], 16);
    }
    line[line.length - 1] = '"';
    assertEquals("expected UTF-8 text", JsonSyntax.problem(line).replaceAll(", found .*", ""), hex);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  ", "\t", "{}", "[]", "\"\u00e9\u20ac\ud83d\ude00\"", "-0.5e-3", "[[[]]]", " {\"a\" : [true, false, null]} "})
  void acceptsOneValueOrNone(String line) {
    assertNull(JsonSyntax.problem(line.getBytes(StandardCharsets.UTF_8)), line);
  }

  @ParameterizedTest
  @ValueSource(ints = {JsonSyntax.MAX_DEPTH, JsonSyntax.MAX_DEPTH + 1, 100_000})
  void refusesNestingDeeperThanJacksonAllows(int depth) {
    String line = "[".repeat(depth) + "]".repeat(depth);
    String problem = JsonSyntax.problem(line.getBytes(StandardCharsets.UTF_8));
    assertEquals(depth > JsonSyntax.MAX_DEPTH, problem != null, String.valueOf(problem));
  }
}
