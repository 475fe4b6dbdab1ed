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

  /**
   * stat and report run in a process of their own: the tiers' hits were their own reads of every
   * manifest ("hits 3" for 3 objects, "hit rate 100%"), read as the tiers' history.
   */
  @Test
  void aReadOutDoesNotCountItsOwnReadsAsTierHits(@TempDir Path dir) throws Exception {
    Path repo = dir.resolve("repo");
    assertEquals(0, CompressCommandTest.run("init", repo.toString()).exit());
    for (int i = 0; i < 3; i++) {
      Path file = Files.write(dir.resolve("in" + i + ".bin"), new byte[10_000 * (i + 1)]);
      Run put = CompressCommandTest.run("put", repo.toString(), "obj" + i, file.toString(), "--no-progress");
      assertEquals(0, put.exit(), put.err());
    }
    Run stat = CompressCommandTest.run("stat", repo.toString());
    assertEquals(0, stat.exit(), stat.err());
    assertTrue(stat.out().contains("objects      3") && !stat.out().contains("hits"), stat.out());
    Run report = CompressCommandTest.run("report", repo.toString());
    assertEquals(0, report.exit(), report.err());
    assertTrue(report.out().contains("tiers\n") && !report.out().contains("hit rate"), report.out());
  }
}
