package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.cli.CompressCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatCommandTest {
  private static final Pattern MOMENT = Pattern.compile("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");

  /**
   * People read times to the second (README), as ls and report print them: stat printed a recent
   * run's end and an object's creation to the nanosecond.
   */
  @Test
  void timesAreToTheSecond(@TempDir Path dir) throws Exception {
    Path repo = dir.resolve("repo");
    Path file = Files.write(dir.resolve("in.bin"), new byte[100_000]);
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    Run put = CompressCommandTest.run("put", repo.toString(), "obj", file.toString(), "--no-progress");
    assertEquals(0, put.exit(), put.err());
    for (String[] args : List.of(new String[] {repo.toString()}, new String[] {repo.toString(), "obj"})) {
      Run stat = CompressCommandTest.run("stat", args);
      assertEquals(0, stat.exit(), stat.err());
      Matcher m = MOMENT.matcher(stat.out());
      int moments = 0;
      while (m.find()) {
        moments++;
        assertEquals(null, m.group(1), "no fraction of a second: " + m.group() + " in\n" + stat.out());
      }
      assertTrue(moments > 0, "a recent run or the object's creation is shown:\n" + stat.out());
    }
  }
}
