package io.dharmana.descriptor;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.dharmana.InvalidDescriptorException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Damaged descriptors (lines dropped, duplicated or re-indented, values replaced by values of the
 * wrong type, characters flipped) either load or fail with {@link InvalidDescriptorException}
 * naming the file: never a NullPointerException, ClassCastException or a raw Jackson error.
 */
class DescriptorFuzzTest {
  private static final String[] VALUES = {
    "-1", "0", "[]", "{}", "abc", "1e99", "null", "~", "''", "1.5", "true", "-5GiB", "99999999999999999999", "7d",
    "[1, {a: b}]", "{zstd: {level: 3}}", "\"\"", "0.0", "NaN", ".inf", "64KiB", "@", "&a x", "*a", "!!binary AAAA"
  };

  static LongStream seeds() {
    return LongStream.range(0, 40).map(i -> 0xf022_0000L + i);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void damagedDescriptorsFailCleanly(long seed) {
    Random r = new Random(seed);
    for (int round = 0; round < 50; round++) {
      List<String> lines = new ArrayList<>(DescriptorsTest.FULL.lines().toList());
      int edits = 1 + r.nextInt(3);
      for (int e = 0; e < edits; e++) {
        int i = r.nextInt(lines.size());
        String line = lines.get(i);
        switch (r.nextInt(5)) {
          case 0 -> lines.remove(i);
          case 1 -> lines.add(i, line);
          case 2 -> lines.set(i, (r.nextBoolean() ? "  " : "") + line.substring(Math.min(line.length(), r.nextInt(3))));
          case 3 -> {
            int colon = line.indexOf(": ");
            String value = VALUES[r.nextInt(VALUES.length)];
            lines.set(i, colon >= 0 ? line.substring(0, colon + 2) + value : line.replaceFirst("- .*", "- " + value));
          }
          default -> {
            if (!line.isEmpty()) {
              char[] chars = line.toCharArray();
              chars[r.nextInt(chars.length)] = (char) (32 + r.nextInt(95));
              lines.set(i, new String(chars));
            }
          }
        }
        if (lines.isEmpty()) {
          lines.add("name: x");
        }
      }
      String yaml = String.join("\n", lines) + "\n";
      try {
        PipelineDescriptor d = Descriptors.parse(yaml, "fuzz.yaml");
        // whatever loads must also write out and load back unchanged
        if (!d.equals(Descriptors.parse(Descriptors.toYaml(d), "again.yaml"))) {
          fail("seed " + seed + " round " + round + ": round trip changed the descriptor of\n" + yaml);
        }
      } catch (InvalidDescriptorException e) {
        assertTrue(e.getMessage().startsWith("Invalid descriptor fuzz.yaml"),
            "seed " + seed + " round " + round + ": " + e.getMessage() + "\n" + yaml);
      } catch (RuntimeException e) {
        throw new AssertionError("seed " + seed + " round " + round + ": " + e + " for\n" + yaml, e);
      }
    }
  }
}
