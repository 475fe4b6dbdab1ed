package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dharmana.cli.CompressCommandTest.Run;
import io.dharmana.repo.PutOptions;
import io.dharmana.repo.Repository;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GetCommandTest {
  @TempDir Path dir;
  private Path repo;
  private byte[] data;

  @BeforeEach
  void putOne() {
    long seed = 5;
    data = new byte[3 << 20];
    new Random(seed).nextBytes(data);
    repo = dir.resolve("repo");
    try (Repository r = Repository.init(repo, Repository.defaultPipeline())) {
      r.put("obj", new ByteArrayInputStream(data), PutOptions.defaults());
    }
  }

  @Test
  void writesAFileAtomicallyAndLeavesNoTemporaryFile() throws Exception {
    Path out = dir.resolve("out.bin");
    Files.write(out, new byte[] {1, 2, 3});
    Run run = CompressCommandTest.run(new GetCommand(), repo.toString(), "obj", "-o", out.toString(), "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(out));
    try (var files = Files.list(dir)) {
      assertEquals(0, files.filter(p -> p.getFileName().toString().startsWith(".")).count(), "a temporary file was left");
    }
    // the mode a plain create gives under this umask, not a temporary file's 0600
    Path plain = Files.write(dir.resolve("plain"), new byte[0]);
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(out));
  }

  /** `-o /dev/null` once replaced the device with a regular file; a FIFO stands in for the device here. */
  @Test
  void writesIntoADeviceOrPipeInsteadOfReplacingIt() throws Exception {
    Path fifo = dir.resolve("pipe");
    Process mkfifo;
    try {
      mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    } catch (java.io.IOException e) {
      assumeTrue(false, "mkfifo is not available: " + e.getMessage());
      return;
    }
    assumeTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo failed");
    CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
      try (InputStream in = Files.newInputStream(fifo)) {
        return in.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    Run run = CompressCommandTest.run(new GetCommand(), repo.toString(), "obj", "-o", fifo.toString(), "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, read.get(30, TimeUnit.SECONDS));
    assertFalse(Files.isRegularFile(fifo), "the pipe was replaced by a regular file");
    assertTrue(Files.exists(fifo));
  }
  /** Through the native-buffer path: the whole object's hash is checked, and an empty object writes an empty file. */
  @Test
  void verifiesTheOriginalAndWritesAnEmptyObject() throws Exception {
    try (Repository r = Repository.open(repo)) {
      r.put("empty", new ByteArrayInputStream(new byte[0]), PutOptions.defaults());
    }
    Path out = dir.resolve("verified.bin");
    Run run = CompressCommandTest.run(new GetCommand(), repo.toString(), "obj", "-o", out.toString(), "--verify-original", "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertArrayEquals(data, Files.readAllBytes(out));
    Path empty = dir.resolve("empty.bin");
    run = CompressCommandTest.run(new GetCommand(), repo.toString(), "empty", "-o", empty.toString(), "--verify-original", "--no-progress");
    assertEquals(0, run.exit(), run.err());
    assertEquals(0, Files.size(empty));
  }
}
