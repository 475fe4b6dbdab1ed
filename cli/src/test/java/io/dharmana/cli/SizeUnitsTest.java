package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.cli.CompressCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read-outs of the object commands write sizes in binary units only: "3 MB -> 2.86 MiB stored"
 * once read as a loss where the stored form was as large as the input. Rates stay in MB/s, as the
 * tools they are compared with print them; {@code --json} keeps raw bytes.
 */
class SizeUnitsTest {
  /** A decimal size unit that is not the start of a rate ("MB/s"). */
  private static final Pattern DECIMAL_SIZE = Pattern.compile("\\d (KB|MB|GB|TB|PB|EB)(?!/s)\\b");

  private static void assertBinaryOnly(String command, String text, long seed) {
    Matcher m = DECIMAL_SIZE.matcher(text);
    if (m.find()) {
      fail("seed " + seed + ": " + command + " printed a decimal size unit '" + m.group() + "':\n" + text);
    }
  }

  @Test
  void putGetStatAndLsPrintSizesInBinaryUnits(@TempDir Path dir) throws Exception {
    long seed = 73;
    byte[] data = new byte[3_000_000];
    new Random(seed).nextBytes(data);
    Path file = Files.write(dir.resolve("in.bin"), data);
    Path repo = dir.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());

    Run put = CompressCommandTest.run("put", repo.toString(), "obj", file.toString(), "--no-progress");
    assertEquals(0, put.exit(), put.err());
    assertTrue(put.out().startsWith("put obj: 2.86 MiB -> "), "seed " + seed + ": " + put.out());
    assertBinaryOnly("put", put.out(), seed);

    Run get = CompressCommandTest.run("get", repo.toString(), "obj", "-o", dir.resolve("out.bin").toString(),
        "--no-progress");
    assertEquals(0, get.exit(), get.err());
    assertTrue(get.err().contains("2.86 MiB"), "seed " + seed + ": " + get.err());
    assertBinaryOnly("get", get.err(), seed);

    for (String[] args : new String[][] {{repo.toString()}, {repo.toString(), "obj"}}) {
      Run stat = CompressCommandTest.run("stat", args);
      assertEquals(0, stat.exit(), stat.err());
      assertBinaryOnly("stat", stat.out(), seed);
    }
    Run ls = CompressCommandTest.run("ls", repo.toString());
    assertEquals(0, ls.exit(), ls.err());
    assertTrue(ls.out().contains("2.86 MiB"), "seed " + seed + ": " + ls.out());
    assertBinaryOnly("ls", ls.out(), seed);

    Run json = CompressCommandTest.run("put", repo.toString(), "obj2", file.toString(), "--no-progress", "--json");
    assertEquals(0, json.exit(), json.err());
    assertEquals(3_000_000, new ObjectMapper().readTree(json.out()).get("object").get("size").asLong(),
        "seed " + seed + ": --json must keep raw bytes: " + json.out());
  }
}
