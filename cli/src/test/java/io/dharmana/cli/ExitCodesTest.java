package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.cli.CompressCommandTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command exits alike for the same kind of failure (the rule is in {@link Main}'s comment):
 * data in a Dharmana format whose checks fail is corrupt (1), a file that is not of the format the
 * command reads is invalid input (2). Before, decompress exited 2 for a damaged .dhz while get,
 * checkpoint and dataset exited 1 for damaged chunks and shards.
 */
class ExitCodesTest {
  @TempDir Path tmp;

  /** Flips one bit a third into every file with {@code suffix} under {@code dir}: in its data, before its index. */
  private static void flipABit(Path dir, String suffix) throws IOException {
    List<Path> found;
    try (Stream<Path> files = Files.walk(dir)) {
      found = files.filter(p -> p.toString().endsWith(suffix)).toList();
    }
    assertFalse(found.isEmpty(), "no " + suffix + " under " + dir);
    for (Path file : found) {
      byte[] bytes = Files.readAllBytes(file);
      bytes[bytes.length / 3] ^= 0x10;
      file.toFile().setWritable(true);
      Files.write(file, bytes);
    }
  }

  @Test
  void aDamagedDhzIsCorruptAndAFileOfAnotherKindIsInvalid() throws Exception {
    Path in = CompressCommandTest.checkpoint(tmp, "w.safetensors", 31, 0);
    Path dhz = tmp.resolve("w.dhz");
    assertEquals(Main.OK, CompressCommandTest.run("compress", in.toString(), "-o", dhz.toString()).exit());
    byte[] good = Files.readAllBytes(dhz);

    byte[] flipped = good.clone();
    flipped[good.length / 3] ^= 0x10; // in a tensor's coded bytes
    Path damaged = Files.write(tmp.resolve("flipped.dhz"), flipped);
    Run flip = CompressCommandTest.run("decompress", damaged.toString(), "-o", tmp.resolve("f.safetensors").toString());
    assertEquals(Main.FAILED, flip.exit(), flip.err());
    assertTrue(flip.err().startsWith("dharmana decompress: Cannot decode tensor ") && flip.err().contains("damaged"), flip.err());

    Path cut = Files.write(tmp.resolve("cut.dhz"), Arrays.copyOf(good, good.length / 2));
    Run truncated = CompressCommandTest.run("decompress", cut.toString(), "-o", tmp.resolve("t.safetensors").toString());
    assertEquals(Main.FAILED, truncated.exit(), truncated.err());
    assertTrue(truncated.err().contains("truncated"), truncated.err());
    assertFalse(Files.exists(tmp.resolve("f.safetensors")) || Files.exists(tmp.resolve("t.safetensors")), "no output of a damaged file");

    // a safetensors file given to decompress: not a .dhz at all
    Run other = CompressCommandTest.run("decompress", in.toString(), "-o", tmp.resolve("o.safetensors").toString());
    assertEquals(Main.INVALID, other.exit(), other.err());
    assertEquals("dharmana decompress: Invalid tensor file " + in + ": it does not start with DHARMANZ (not a .dhz file)\n", other.err());
    // and a .dhz given to compress: its first bytes read as a safetensors header length
    Run backwards = CompressCommandTest.run("compress", dhz.toString(), "-o", tmp.resolve("again.dhz").toString());
    assertEquals(Main.INVALID, backwards.exit(), backwards.err());
  }

  @Test
  void damagedRepositoryAndDatasetDataIsCorrupt() throws Exception {
    Path repo = tmp.resolve("repo");
    assertEquals(Main.OK, CompressCommandTest.run("init", repo.toString()).exit());
    Path model = CompressCommandTest.checkpoint(tmp, "model.safetensors", 32, 0);
    assertEquals(Main.OK, CompressCommandTest.run("put", repo.toString(), "obj", model.toString(), "--no-progress").exit());
    assertEquals(Main.OK, CompressCommandTest.run("checkpoint", "save", repo.toString(), "--run", "r", "--step", "1", model.toString()).exit());
    flipABit(repo.resolve("tiers"), ".pack");
    Run get = CompressCommandTest.run("get", repo.toString(), "obj", "-o", tmp.resolve("obj").toString(), "--no-progress");
    Run verify = CompressCommandTest.run("checkpoint", "verify", repo.toString(), "--run", "r");
    Run restore = CompressCommandTest.run("checkpoint", "restore", repo.toString(), "--run", "r", "--out", tmp.resolve("out").toString());
    for (Run r : new Run[] {get, verify, restore}) {
      assertEquals(Main.FAILED, r.exit(), r.err());
      assertTrue(r.err().contains("damaged"), r.err());
    }

    Path src = Files.createDirectories(tmp.resolve("src"));
    for (int i = 0; i < 8; i++) {
      Files.write(src.resolve(i + ".bin"), Files.readAllBytes(model));
    }
    DatasetCommandTest datasets = new DatasetCommandTest();
    Path ds = tmp.resolve("ds");
    assertEquals(Main.OK, datasets.run("pack", ds.toString(), "--from", src.toString()), datasets.err.toString());
    flipABit(ds.resolve("shards"), ".dhs");
    assertEquals(Main.FAILED, datasets.run("read", ds.toString()), datasets.err.toString());
    assertTrue(datasets.err.toString().contains("failed CRC32C verification"), datasets.err.toString());
  }
}
