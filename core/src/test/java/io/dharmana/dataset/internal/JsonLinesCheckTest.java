package io.dharmana.dataset.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.dharmana.InvalidDescriptorException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A JSON Lines file is read as one value a line, refused where Jackson's strict parser refuses a line
 * alone, and accepted where it accepts it; the refusal names the file, the line and what is wrong.
 */
class JsonLinesCheckTest {
  private static final ObjectMapper JACKSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
  private static final String ALPHABET = "{}[]\":,0123456789-+.eEtrufalsn\\/ abcxyz\u00e9";

  @TempDir
  Path tmp;

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

  /** Packs' reading of {@code text} as a .jsonl file: the samples read, or the refusal. */
  private String read(byte[] text, List<byte[]> samples) throws IOException {
    Path file = tmp.resolve("lines.jsonl");
    Files.write(file, text);
    try (SourceReader source = SourceReader.open(file)) {
      while (source.hasNext()) {
        samples.add(source.next().data().get(0));
      }
      return null;
    } catch (InvalidDescriptorException e) {
      String prefix = "Invalid input " + file + ", ";
      assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
      return e.getMessage().substring(prefix.length());
    }
  }

  /** What is wrong with {@code line} as a file of one line, null when nothing. */
  private String problem(byte[] line) throws IOException {
    String refusal = read(line, new ArrayList<>());
    if (refusal == null) {
      return null;
    }
    assertTrue(refusal.startsWith("line 1: not JSON: "), refusal);
    return refusal.substring("line 1: not JSON: ".length());
  }

  private String problem(String line) throws IOException {
    return problem(line.getBytes(StandardCharsets.UTF_8));
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

  /**
   * Files of seeded random lines, each valid line followed by a copy mutated by one or two edits:
   * a file is read until its first line that Jackson refuses alone, which must be the line refused;
   * the lines before it must come back as samples. The next file starts after it.
   */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void agreesWithJacksonOnValidAndMutatedLines(long seed) throws IOException {
    Random random = new Random(seed);
    List<String> lines = new ArrayList<>();
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
      String line = randomValue(random, 0);
      StringBuilder mutated = new StringBuilder(line);
      for (int m = 1 + random.nextInt(2); m > 0 && mutated.length() > 0; m--) {
        int at = random.nextInt(mutated.length());
        switch (random.nextInt(3)) {
          case 0 -> mutated.deleteCharAt(at);
          case 1 -> mutated.insert(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
          default -> mutated.setCharAt(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
      }
      lines.add(line);
      lines.add(mutated.toString());
      boolean last = trial == 2999;
      if (!jacksonAccepts(mutated.toString()) || last) {
        String why = "seed " + seed + " trial " + trial + ": " + mutated;
        boolean refusedLine = !jacksonAccepts(mutated.toString());
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        for (int i = 0; i < lines.size(); i++) {
          boolean lastLine = i == lines.size() - 1;
          text.writeBytes(lines.get(i).getBytes(StandardCharsets.UTF_8));
          text.writeBytes((lastLine && random.nextBoolean() ? "" : random.nextBoolean() ? "\r\n" : "\n").getBytes(StandardCharsets.US_ASCII));
        }
        List<byte[]> samples = new ArrayList<>();
        String refusal = read(text.toByteArray(), samples);
        if (refusedLine) {
          refused++;
          assertTrue(refusal != null && refusal.startsWith("line " + lines.size() + ": not JSON: "), why + " -> " + refusal);
          assertEquals(lines.size() - 1, samples.size(), why);
        } else {
          assertNull(refusal, why);
          assertEquals(lines.size(), samples.size(), why);
        }
        for (int i = 0; i < samples.size(); i++) {
          assertEquals(lines.get(i), new String(samples.get(i), StandardCharsets.UTF_8), why);
        }
        lines.clear();
      }
    }
    assertTrue(refused > 1000, "most mutations break the line: " + refused);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "not json|Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 1",
      "{\"a\":1} {\"b\":2}|a second JSON value follows the first (one value a line) at column 9",
      "{}{}|a second JSON value follows the first (one value a line) at column 3",
      "1 2|a second JSON value follows the first (one value a line) at column 3",
      "{\"a\":1} x|Unexpected character ('x' (code 120)): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 9",
      "{\"a\":1|the value that starts at column 1 does not end on the line",
      "'  [1, [2]'|the value that starts at column 3 does not end on the line",
      "{a:1}|Unexpected character ('a' (code 97)): was expecting double-quote to start field name at column 2",
      "[1,]|Unexpected character (']' (code 93)): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 4",
      "\"open|Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped using backslash to be included in string value at column 6",
      "\"\\q\"|Unrecognized character escape 'q' (code 113) at column 3",
      "01|Invalid numeric value: Leading zeroes not allowed at column 3",
      "NaN|Non-standard token 'NaN' at column 4",
      "nul|Unrecognized token 'nul': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 1",
      "{\"a\":tru}|Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 6",
      "// note|Unexpected character ('/' (code 47)): maybe a (non-standard) comment? at column 1",
  })
  void saysWhatIsWrongAndWhere(String line, String expected) throws IOException {
    assertEquals(expected, problem(line));
  }

  @ParameterizedTest
  @ValueSource(strings = {"c0 80", "e0 80 80", "ed a0 80", "f0 80 80 80", "f4 90 80 80", "f5 80 80 80", "ff", "e2 82", "80"})
  void refusesBytesThatAreNotUtf8(String hex) throws IOException {
    String[] bytes = hex.split(" ");
    byte[] line = new byte[bytes.length + 2];
    line[0] = '"';
    for (int i = 0; i < bytes.length; i++) {
      line[i + 1] = (byte) Integer.parseInt(bytes[i], 16);
    }
    line[line.length - 1] = '"';
    String problem = problem(line);
    assertTrue(problem != null && problem.matches("(?i)invalid UTF-8.* at column [0-9]+"), hex + " -> " + problem);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  ", "\t", "{}", "[]", "\"\u00e9\u20ac\ud83d\ude00\"", "-0.5e-3", "[[[]]]", " {\"a\" : [true, false, null]} ",
      "{\"a\":1,\"a\":2}"})
  void acceptsOneValueOrNone(String line) throws IOException {
    assertNull(problem(line), line);
  }

  /** A reader that decodes the first sample alone would meet the mark; Jackson skips it at the start of a stream. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void refusesAByteOrderMark(int lineNumber) throws IOException {
    byte[] text = ((lineNumber == 1 ? "" : "{}\n") + "\ufeff{}\n").getBytes(StandardCharsets.UTF_8);
    String refusal = read(text, new ArrayList<>());
    assertTrue(refusal != null && refusal.startsWith("line " + lineNumber + ": not JSON: ") && refusal.endsWith(" at column 1"), refusal);
  }

  /** One parser reads the whole file: a value must not carry on into the next line. */
  @ParameterizedTest
  @ValueSource(strings = {"{\"a\":\n1}\n", "[1,\r\n2]", "[\n]", "\"a\n\"", "12\n34\n{\"a\":1}\n{\"b\":\n"})
  void refusesAValueSpreadOverLines(String text) throws IOException {
    String refusal = read(text.getBytes(StandardCharsets.UTF_8), new ArrayList<>());
    String line = text.startsWith("12") ? "line 4: " : "line 1: ";
    assertTrue(refusal != null && refusal.startsWith(line + "not JSON: "), refusal);
  }

  @ParameterizedTest
  @ValueSource(ints = {JsonLinesCheck.MAX_DEPTH, JsonLinesCheck.MAX_DEPTH + 1, 100_000})
  void refusesNestingDeeperThanJacksonAllows(int depth) throws IOException {
    String line = "[".repeat(depth) + "]".repeat(depth);
    String problem = problem(line);
    assertEquals(depth > JsonLinesCheck.MAX_DEPTH, problem != null, String.valueOf(problem));
  }

  /** Longer than Jackson allows by default (20,000,000 chars, 1000 digits, 50,000 chars): syntax is checked, not size. */
  @ParameterizedTest
  @CsvSource({"20000001, 1, 1", "1, 1001, 50001"})
  void acceptsLongStringsNumbersAndNames(int string, int number, int name) throws IOException {
    assertNull(problem("[\"" + "a".repeat(string) + "\", " + "9".repeat(number) + ", {\"" + "k".repeat(name) + "\": 1}]"));
  }
}
