package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.dharmana.cli.DatasetCommand.Pack;
import picocli.CommandLine;

class DatasetCommandTest {
  @TempDir Path tmp;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int run(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    CommandLine cli = Main.commandLine();
    if (!cli.getSubcommands().containsKey("dataset")) {
      cli.addSubcommand(new DatasetCommand());
    }
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] full = new String[args.length + 1];
    full[0] = "dataset";
    System.arraycopy(args, 0, full, 1, args.length);
    return cli.execute(full);
  }

  Path sourceTree(long seed, int files) throws IOException {
    Random random = new Random(seed);
    Path src = tmp.resolve("src");
    for (int i = 0; i < files; i++) {
      Path f = src.resolve("c" + (i % 3)).resolve(i + ".bin");
      Files.createDirectories(f.getParent());
      byte[] b = new byte[random.nextInt(20_000)];
      random.nextBytes(b);
      Files.write(f, b);
    }
    return src;
  }

  /**
   * A second pack into a directory another process is packing into is refused, and the first
   * completes. Before, the second removed the first's shards as a failed pack's debris and packed
   * its own (the first then failed, or committed an index whose shards were the second's); and
   * where the directory did not exist yet, the one that failed deleted it with the other's
   * committed dataset.
   */
  @Test
  void aSecondPackIntoADirectoryBeingPackedIsRefusedAndTheFirstCompletes() throws Exception {
    // JSON Lines of seeded words, coded at zstd 19: a pack of a few seconds
    int samples = 60_000;
    Path lines = wordsJsonl(tmp.resolve("big.jsonl"), samples);
    Path ds = tmp.resolve("ds");
    Process first = startPack(ds.toString(), lines);
    try {
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
      while (!(Files.isDirectory(ds.resolve("shards")) && hasFile(ds.resolve("shards"))) && first.isAlive()
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(first.isAlive(), "the first pack is still writing shards");
      assertEquals(Main.CONFLICT, run("pack", ds.toString(), "--from", sourceTree(5, 10).toString()), err.toString());
      assertTrue(err.toString().contains("Cannot pack into " + ds + ": another 'dataset pack' is writing there"), err.toString());
      assertTrue(first.isAlive(), "the second pack was refused while the first ran");
      assertSucceeds(first);
    } finally {
      first.destroyForcibly();
    }
    assertEquals(0, run("read", ds.toString(), "--json"), err.toString());
    assertEquals(samples, new ObjectMapper().readTree(out.toString()).get("samples").asLong());
    assertFalse(Files.exists(ds.resolve(".pack.lock")), "the lock goes with the pack");
  }

  /**
   * Packs into an s3:// prefix take a lock object there by a conditional write, as packs into a
   * directory take a lock file: a second pack into a prefix another process is packing into is
   * refused, naming the prefix and the first pack, and the first completes. A killed pack's lock
   * stays and refuses the next pack, which says how to remove it: --break-lock. Against S3Proxy
   * on loopback. Before, the second pack deleted the first's shards as debris and packed its own.
   */
  @Test
  void aSecondPackIntoAnS3PrefixBeingPackedIsRefusedAndAKilledPacksLockCanBeBroken() throws Exception {
    java.util.Properties p = new java.util.Properties();
    Path objects = tmp.resolve("s3");
    // the filesystem backend holds a bucket as a directory
    Files.createDirectories(objects.resolve("datasets"));
    p.setProperty("jclouds.provider", "filesystem");
    p.setProperty("jclouds.filesystem.basedir", objects.toString());
    p.setProperty("jclouds.identity", "access");
    p.setProperty("jclouds.credential", "secret");
    p.setProperty("s3proxy.endpoint", "http://127.0.0.1:0");
    p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    p.setProperty("s3proxy.identity", "access");
    p.setProperty("s3proxy.credential", "secret");
    p.setProperty("s3proxy.ignore-unknown-headers", "true");
    org.gaul.s3proxy.S3Proxy proxy = org.gaul.s3proxy.S3Proxy.Builder.fromProperties(p)
        .blobStore(org.gaul.s3proxy.BlobStores.create("filesystem", p)).build();
    proxy.start();
    for (int i = 0; i < 500 && !"STARTED".equals(proxy.getState()); i++) {
      Thread.sleep(10);
    }
    String endpoint = "http://127.0.0.1:" + proxy.getPort();
    Path lines = wordsJsonl(tmp.resolve("big.jsonl"), 60_000);
    System.setProperty("aws.accessKeyId", "access");
    System.setProperty("aws.secretAccessKey", "secret");
    try (io.dharmana.s3.S3Store bucket = io.dharmana.s3.S3Stores.create("s3://datasets", io.dharmana.s3.S3StoreOptions.builder()
        .endpoint(java.net.URI.create(endpoint)).region("us-east-1").pathStyleAccess().staticCredentials("access", "secret").build())) {
      Process first = startPack("s3://datasets/ds", lines, "--endpoint-url", endpoint, "--region", "us-east-1");
      try {
        awaitLock(bucket, "ds/.pack.lock", first);
        assertEquals(Main.CONFLICT, run("pack", "s3://datasets/ds", "--endpoint-url", endpoint, "--region", "us-east-1",
            "--from", sourceTree(5, 10).toString()), err.toString());
        assertTrue(err.toString().startsWith("dharmana dataset pack: Cannot pack into s3://datasets/ds: s3://datasets/ds/.pack.lock is held by pid "
            + first.pid() + " on host "), err.toString());
        assertTrue(err.toString().contains("another 'dataset pack' is writing there"), err.toString());
        assertTrue(first.isAlive(), "the second pack was refused while the first ran");
        assertSucceeds(first);
      } finally {
        first.destroyForcibly();
      }
      assertFalse(bucket.exists("ds/.pack.lock"), "the lock goes with the pack");
      assertEquals(0, run("read", "s3://datasets/ds", "--endpoint-url", endpoint, "--region", "us-east-1", "--json"), err.toString());
      assertEquals(60_000, new ObjectMapper().readTree(out.toString()).get("samples").asLong());

      Process killed = startPack("s3://datasets/killed", lines, "--endpoint-url", endpoint, "--region", "us-east-1");
      try {
        awaitLock(bucket, "killed/.pack.lock", killed);
      } finally {
        killed.destroyForcibly().waitFor(); // kill -9
      }
      Path src = sourceTree(6, 10);
      assertEquals(Main.CONFLICT, run("pack", "s3://datasets/killed", "--endpoint-url", endpoint, "--region", "us-east-1",
          "--from", src.toString()), err.toString());
      assertTrue(err.toString().contains("is held by pid " + killed.pid()) && err.toString().contains("--break-lock"), err.toString());
      assertEquals(Main.OK, run("pack", "s3://datasets/killed", "--endpoint-url", endpoint, "--region", "us-east-1",
          "--from", src.toString(), "--break-lock"), err.toString());
      assertEquals("dharmana dataset pack: removed the lock s3://datasets/killed/.pack.lock\n", err.toString());
      assertFalse(bucket.exists("killed/.pack.lock"));
      assertEquals(0, run("inspect", "s3://datasets/killed", "--endpoint-url", endpoint, "--region", "us-east-1", "--json"), err.toString());
      assertEquals(10, new ObjectMapper().readTree(out.toString()).get("samples").asLong());
    } finally {
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
      proxy.stop();
    }
    assertEquals(Main.INVALID, run("pack", tmp.resolve("local").toString(), "--from", tmp.resolve("src").toString(), "--break-lock"));
    assertEquals("dharmana dataset pack: Invalid --break-lock: it applies to s3:// datasets; the lock of a pack into a directory goes with "
        + "its process\n", err.toString());
  }

  /**
   * A pack of a few seconds in another process: JSON Lines coded at zstd 19 on one thread; with
   * the test S3 server's credentials.
   */
  private static Process startPack(String out, Path lines, String... options) throws IOException {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "dataset", "pack", out, "--from",
        lines.toString(), "--stage", "zstd:level=19", "--shard-size", "256KiB", "--threads", "1", "--no-progress"));
    command.addAll(List.of(options));
    ProcessBuilder pack = new ProcessBuilder(command).redirectErrorStream(true);
    pack.environment().put("AWS_ACCESS_KEY_ID", "access");
    pack.environment().put("AWS_SECRET_ACCESS_KEY", "secret");
    return pack.start();
  }

  /** Waits for a pack in another process to end, which must succeed. */
  private static void assertSucceeds(Process pack) throws Exception {
    String output = new String(pack.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(pack.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), output);
    assertEquals(0, pack.exitValue(), output);
  }

  private static void awaitLock(io.dharmana.s3.S3Store bucket, String key, Process pack) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    while (!bucket.exists(key) && pack.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(pack.isAlive() && bucket.exists(key), "the pack holds " + key);
  }

  /** {@code samples} JSON Lines of seeded words. */
  private static Path wordsJsonl(Path lines, int samples) throws IOException {
    Random random = new Random(23);
    String[] words = {"tensor", "shard", "epoch", "gradient", "chunk", "layer", "weight", "batch"};
    try (java.io.BufferedWriter w = Files.newBufferedWriter(lines)) {
      for (int i = 0; i < samples; i++) {
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < 20 + random.nextInt(40); j++) {
          text.append(words[random.nextInt(words.length)]).append(random.nextInt(1000)).append(' ');
        }
        w.write("{\"id\":" + i + ",\"text\":\"" + text + "\"}\n");
      }
    }
    return lines;
  }

  private static boolean hasFile(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      return files.findAny().isPresent();
    }
  }

  /**
   * A resumed loader follows the order its state records: a --shuffle, --rank, ... given otherwise
   * beside --resume was ignored without a word (a rank resumed as another read that one's samples).
   */
  @Test
  void resumeRefusesSettingsTheStateSaysOtherwise() throws IOException {
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", sourceTree(8, 60).toString(), "--shard-size", "100KiB"), err.toString());
    Path state = tmp.resolve("state.json");
    assertEquals(0, run("read", ds.toString(), "--batch", "5", "--shuffle", "9", "--rank", "1/2", "--max-batches", "2",
        "--state-out", state.toString()), err.toString());
    String[][] refused = {{"--shuffle", "10", "an epoch shuffled with seed 9; leave --shuffle out or give 9"},
        {"--rank", "0/2", "has --rank 1/2; leave --rank out or give 1/2"},
        {"--worker", "1/2", "has --worker 0/1; leave --worker out or give 0/1"},
        {"--epoch", "3", "has --epoch 0; leave --epoch out or give 0"},
        {"--shuffle-block", "100", "has --shuffle-block 65536; leave --shuffle-block out or give 65536"}};
    for (String[] r : refused) {
      assertEquals(Main.INVALID, run("read", ds.toString(), "--resume", state.toString(), r[0], r[1]), r[0] + ": " + out);
      assertEquals("dharmana dataset read: Invalid " + r[0] + " " + r[1] + ": the --resume state " + state
          + (r[0].equals("--shuffle") ? " continues " : " ") + r[2] + "\n", err.toString());
      assertEquals("", out.toString(), "nothing was read");
    }
    // the state's own settings, or none: the rest of rank 1's part of the epoch
    assertEquals(0, run("read", ds.toString(), "--resume", state.toString(), "--shuffle", "9", "--rank", "1/2", "--json"), err.toString());
    assertEquals(30 - 10, new ObjectMapper().readTree(out.toString()).get("samples").asLong());
    assertEquals(0, run("read", ds.toString(), "--resume", state.toString(), "--json"), err.toString());
    assertEquals(30 - 10, new ObjectMapper().readTree(out.toString()).get("samples").asLong());
  }

  /**
   * Two directories packed together, each with a file of the same relative path: unpack wrote the
   * second over the first and reported every sample restored. It now refuses, and OUT does not appear.
   */
  @Test
  void unpackRefusesTwoSourcesThatRestoreTheSamePath() throws IOException {
    Path first = Files.createDirectories(tmp.resolve("first"));
    Path second = Files.createDirectories(tmp.resolve("second"));
    Files.writeString(first.resolve("a.txt"), "one");
    Files.writeString(first.resolve("b.txt"), "kept");
    Files.writeString(second.resolve("a.txt"), "two");
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", first.toString(), "--from", second.toString()), err.toString());
    Path restored = tmp.resolve("restored");
    assertEquals(Main.CONFLICT, run("unpack", ds.toString(), restored.toString()), out.toString());
    assertEquals("dharmana dataset unpack: Cannot unpack source second: a.txt is restored already, by an earlier source (sources: first,"
        + " second); sources holding the same path cannot be unpacked into one directory\n", err.toString());
    assertFalse(Files.exists(restored), "no half-restored tree");
    // sources of distinct paths still unpack
    Files.move(second.resolve("a.txt"), second.resolve("c.txt"));
    Path ds2 = tmp.resolve("ds2");
    assertEquals(0, run("pack", ds2.toString(), "--from", first.toString(), "--from", second.toString()), err.toString());
    assertEquals(0, run("unpack", ds2.toString(), restored.toString()), err.toString());
    assertEquals("one", Files.readString(restored.resolve("a.txt")));
    assertEquals("two", Files.readString(restored.resolve("c.txt")));
  }

  /**
   * The pack's summary gives the stored size of all its shards, which it cannot be mistaken for
   * the size of each: before, "into 4 shards of 236 MiB stored".
   */
  @Test
  void packSaysTheStoredSizeIsThatOfAllShards() throws IOException {
    Path src = sourceTree(11, 60);
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", src.toString(), "--shard-size", "200KiB"), err.toString());
    String summary = out.toString();
    assertEquals(0, run("inspect", ds.toString(), "--json"), err.toString());
    JsonNode index = new ObjectMapper().readTree(out.toString());
    int shards = index.get("shards").size();
    assertTrue(shards > 1, "seed 11: several shards: " + shards);
    String expected = ") from 1 input into " + shards + " shards, " + Output.bytes(index.get("storedBytes").asLong()) + " stored in all (";
    assertTrue(summary.startsWith("packed 60 samples (") && summary.contains(expected), expected + " in " + summary);
  }

  /**
   * JSON Lines from a named pipe are packed as from a file (a writer in another thread feeds it);
   * a pipe that is not named .jsonl, or a .tar one (read with seeks), is refused as what it is,
   * with what is allowed. Before, a pipe got "no such file or directory", of a path that exists.
   */
  @Test
  void jsonLinesFromANamedPipeArePackedAndOtherPipesRefusedAsPipes() throws Exception {
    Path lines = wordsJsonl(tmp.resolve("words.jsonl"), 2_000);
    Path fifo = mkfifo(tmp.resolve("pipe.jsonl"));
    Thread writer = new Thread(() -> {
      try (java.io.OutputStream o = Files.newOutputStream(fifo)) {
        Files.copy(lines, o);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    writer.setDaemon(true);
    writer.start();
    Path ds = tmp.resolve("ds");
    assertEquals(Main.OK, run("pack", ds.toString(), "--from", fifo.toString(), "--shard-size", "64KiB"), err.toString());
    writer.join();
    assertEquals(Main.OK, run("unpack", ds.toString(), tmp.resolve("back").toString()), err.toString());
    assertArrayEquals(Files.readAllBytes(lines), Files.readAllBytes(tmp.resolve("back").resolve("pipe.jsonl")));

    for (String name : List.of("samples", "shard.tar")) {
      Path pipe = mkfifo(tmp.resolve(name));
      Path refused = tmp.resolve("refused");
      assertEquals(Main.INVALID, run("pack", refused.toString(), "--from", pipe.toString()), err.toString());
      assertEquals("dharmana dataset pack: Invalid input " + pipe + ": it is a named pipe (FIFO); allowed are a directory, a .jsonl file"
          + " or a .tar (WebDataset) shard, and from a pipe JSON Lines only (a .tar is read with seeks), named .jsonl or .ndjson\n",
          err.toString());
      assertFalse(Files.exists(refused), "a failed pack leaves no directory");
    }
  }

  private static Path mkfifo(Path path) throws Exception {
    Process mkfifo;
    try {
      mkfifo = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
    } catch (IOException e) {
      Assumptions.assumeTrue(false, "no mkfifo here: " + e.getMessage());
      throw e;
    }
    Assumptions.assumeTrue(mkfifo.waitFor() == 0, "mkfifo failed");
    return path;
  }

  /** ls of a dataset directory points at dataset inspect; before, it suggested making a repository there with init. */
  @Test
  void lsOfADatasetDirectorySuggestsDatasetInspect() throws IOException {
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", sourceTree(12, 5).toString()), err.toString());
    CompressCommandTest.Run ls = CompressCommandTest.run("ls", ds.toString());
    assertEquals(Main.NOT_FOUND, ls.exit(), ls.err());
    assertEquals("dharmana ls: Cannot open repository " + ds + ": no dharmana.yaml there; it holds index.json, as a dataset"
        + " 'dharmana dataset pack' made does (look into it with: dharmana dataset inspect " + ds + ")\n", ls.err());
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertTrue(CompressCommandTest.run("ls", empty.toString()).err().contains("(create one with: dharmana init " + empty + ")"));
  }

  @Test
  void packInspectUnpackReadResumeBench() throws IOException {
    Path src = sourceTree(1, 120);
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", src.toString(), "--shard-size", "200KiB", "--stage", "zstd:level=3"), err.toString());
    assertTrue(out.toString().startsWith("packed 120 samples"), out.toString());

    assertEquals(0, run("inspect", ds.toString(), "--json"), err.toString());
    JsonNode index = new ObjectMapper().readTree(out.toString());
    assertEquals(120, index.get("samples").asLong());
    assertEquals("zstd", index.get("stages").get(0).get("name").asText());
    assertEquals(0, run("inspect", ds.toString(), "--shards"), err.toString());
    assertTrue(out.toString().contains("shards/shard-000000.dhs"), out.toString());

    assertEquals(0, run("unpack", ds.toString(), tmp.resolve("restored").toString()), err.toString());
    for (int i = 0; i < 120; i++) {
      String rel = "c" + (i % 3) + "/" + i + ".bin";
      assertArrayEquals(Files.readAllBytes(src.resolve(rel)), Files.readAllBytes(tmp.resolve("restored").resolve(rel)), rel);
    }

    Path state = tmp.resolve("state.json");
    assertEquals(0, run("read", ds.toString(), "--batch", "10", "--shuffle", "5", "--max-batches", "4", "--state-out", state.toString(), "--json"),
        err.toString());
    JsonNode first = new ObjectMapper().readTree(out.toString());
    assertEquals(40, first.get("samples").asLong());
    assertEquals(DatasetCommand.LoaderOptions.LOCAL_READERS, first.get("readers").asInt(), "a directory's default readers: " + out);
    assertEquals(0, run("read", ds.toString(), "--batch", "10", "--resume", state.toString(), "--json"), err.toString());
    assertEquals(80, new ObjectMapper().readTree(out.toString()).get("samples").asLong(), "the resumed read yields the remainder");
    assertEquals(0, run("read", ds.toString(), "--batch", "10", "--readers", "3", "--max-batches", "1", "--json"), err.toString());
    assertEquals(3, new ObjectMapper().readTree(out.toString()).get("readers").asInt(), out.toString());
    assertEquals(0, run("bench", ds.toString(), "--batch", "10", "--compute-ms", "0.1", "--resume", state.toString(), "--epochs", "2", "--json"),
        err.toString());
    assertEquals(80 + 120, new ObjectMapper().readTree(out.toString()).get("samples").asLong(),
        "a resumed run of two epochs: the resumed epoch's remainder, then the next epoch whole: " + out);

    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--prefetch", "2", "--json"), err.toString());
    JsonNode bench = new ObjectMapper().readTree(out.toString());
    assertTrue(bench.get("utilization").asDouble() > 0, out.toString());
    assertTrue(bench.get("strictUtilization").asDouble() > 0
        && bench.get("strictUtilization").asDouble() <= bench.get("utilization").asDouble(), "the strict figure charges overruns: " + out);
    assertEquals(2, bench.get("prefetch").asInt(), out.toString());
    assertEquals(2, bench.get("prefetchDepth").asInt(), out.toString());
    assertTrue(bench.get("overrunMs").asDouble() >= 0, out.toString());
    // pages read from disk during the run (Linux reports them; elsewhere the field is null)
    if (java.nio.file.Files.exists(java.nio.file.Path.of("/proc/self/stat"))) {
      assertTrue(bench.get("majorFaults").isIntegralNumber() && bench.get("majorFaults").asLong() >= 0, out.toString());
    } else {
      assertTrue(bench.get("majorFaults").isNull(), out.toString());
    }
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--json"), err.toString());
    bench = new ObjectMapper().readTree(out.toString());
    assertEquals("auto", bench.get("prefetch").asText(), "adaptive is the default: " + out);
    assertTrue(bench.get("prefetchDepth").asInt() >= 4, out.toString());
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--sweep-prefetch", "0,1,4,auto", "--max-batches", "5",
        "--cache", tmp.resolve("cache").toString()), err.toString());
    assertTrue(out.toString().contains("utilization") && out.toString().lines().count() == 6 && out.toString().contains("auto:"),
        out.toString());
    long samples = bench.get("samples").asLong();
    long read = bench.get("bytesRead").asLong();
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--epochs", "3", "--json"), err.toString());
    JsonNode three = new ObjectMapper().readTree(out.toString());
    assertEquals(3, three.get("epochs").asInt(), out.toString());
    assertEquals(3 * samples, three.get("samples").asLong(), "three epochs hand out every sample three times: " + out);
    // the shard reads of loaders running at once (the next epoch's reads ahead) are counted once
    assertTrue(three.get("bytesRead").asLong() <= 3 * read, read + " in one epoch: " + out);
    assertEquals("sync", three.get("launch").asText(), "MLPerf's synchronous emulation is the default: " + out);
    assertTrue(three.get("acceleratorThread").asText().contains("slice"), out.toString());
    assertEquals("normal", three.get("readerThreads").asText(), "ordinary reader threads by default: " + out);
    assertEquals(3, three.get("epochUtilization").size(), "one utilization per epoch: " + out);
    for (JsonNode u : three.get("epochUtilization")) {
      assertTrue(u.asDouble() > 0 && u.asDouble() <= 1, out.toString());
    }
    assertTrue(three.get("utilizationAfterFirstEpoch").asDouble() > 0, out.toString());
    // a run that stops within its first epoch ends while the next epoch's builder still waits
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--epochs", "3", "--max-batches", "2", "--json"),
        err.toString());
    assertEquals(16, new ObjectMapper().readTree(out.toString()).get("samples").asLong(), out.toString());
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--epochs", "3", "--launch", "async",
        "--no-short-slice", "--json"), err.toString());
    JsonNode async = new ObjectMapper().readTree(out.toString());
    assertEquals("async", async.get("launch").asText(), out.toString());
    assertEquals(3 * samples, async.get("samples").asLong(), "launched asynchronously, every sample is still handed out: " + out);
    assertEquals(0.0, async.get("overrunMs").asDouble(), "the device's timeline has no thread to wake late: " + out);
    assertEquals("default slice (--no-short-slice)", async.get("acceleratorThread").asText(), out.toString());
    assertEquals(0, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--background-readers", "--json"), err.toString());
    assertTrue(new ObjectMapper().readTree(out.toString()).get("readerThreads").asText()
        .matches("background \\(SCHED_IDLE\\)|not moved to the background: .*"), out.toString());
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--launch", "later"));
    assertTrue(err.toString().contains("Invalid --launch later: allowed are sync and async"), err.toString());
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--epochs", "0"));
    assertTrue(err.toString().contains("Invalid --epochs 0"), err.toString());
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--batch", "8", "--compute-ms", "1", "--prefetch", "lots"));
    assertTrue(err.toString().contains("Invalid --prefetch 'lots'"), err.toString());
  }

  @Test
  void unpackJsonSaysWhatWasRestored() throws IOException {
    Path src = sourceTree(2, 40);
    Path lines = tmp.resolve("notes.jsonl");
    Files.writeString(lines, "{\"id\":1}\n{\"id\":2,\"text\":\"two\"}\n{\"id\":3}\n");
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", src.toString(), lines.toString(), "--shard-size", "100KiB"), err.toString());
    Path restored = tmp.resolve("restored");
    assertEquals(0, run("unpack", ds.toString(), restored.toString(), "--json"), err.toString());
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertEquals(40 + 3, json.get("samples").asLong(), out.toString());
    assertEquals(restored.toString(), json.get("output").asText());
    assertTrue(json.get("seconds").asDouble() > 0, out.toString());
    long files = Pack.inputBytes(src);
    JsonNode sources = json.get("sources");
    assertEquals(2, sources.size(), out.toString());
    assertEquals("dir", sources.get(0).get("kind").asText());
    assertEquals(40, sources.get(0).get("samples").asLong());
    assertEquals(files, sources.get(0).get("bytes").asLong());
    assertEquals("jsonl", sources.get(1).get("kind").asText());
    assertEquals("notes.jsonl", sources.get(1).get("name").asText());
    assertEquals(3, sources.get(1).get("samples").asLong());
    assertEquals(Files.size(lines), sources.get(1).get("bytes").asLong());
    // what was restored is what was packed, and the JSON's bytes are the samples' bytes the index holds
    assertArrayEquals(Files.readAllBytes(lines), Files.readAllBytes(restored.resolve("notes.jsonl")));
    assertEquals(files, Pack.inputBytes(restored) - Files.size(restored.resolve("notes.jsonl")));
    assertEquals(0, run("inspect", ds.toString(), "--json"), err.toString());
    assertEquals(new ObjectMapper().readTree(out.toString()).get("bytes").asLong(), json.get("bytes").asLong());
  }

  @Test
  void badInputsGiveClearErrorsAndExitCodes() throws IOException {
    Path bad = tmp.resolve("broken.tar");
    byte[] junk = new byte[1024];
    new Random(2).nextBytes(junk);
    Files.write(bad, junk);
    assertEquals(Main.INVALID, run("pack", tmp.resolve("ds").toString(), "--from", bad.toString()));
    assertTrue(err.toString().contains("broken.tar"), err.toString());
    assertEquals(Main.NOT_FOUND, run("pack", tmp.resolve("ds").toString(), "--from", tmp.resolve("missing").toString()));
    assertTrue(err.toString().contains("missing"), err.toString());
    assertEquals(Main.INVALID, run("pack", tmp.resolve("ds").toString(), "--from", tmp.toString(), "--shard-size", "lots"));
    assertEquals(Main.NOT_FOUND, run("inspect", tmp.resolve("nothing").toString()));
    assertTrue(err.toString().contains("nothing"), err.toString());
    Files.createDirectories(tmp.resolve("empty"));
    assertEquals(Main.NOT_FOUND, run("read", tmp.resolve("empty").toString()));
    assertTrue(err.toString().contains("index.json"), err.toString());
  }

  @Test
  void aPackOfNothingIsRefusedAndAFailedPackLeavesNoDirectory() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Path ds = tmp.resolve("ds");
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", empty.toString()));
    assertEquals("dharmana dataset pack: Invalid pack: " + empty + " holds no samples (an empty directory, JSON Lines file or tar)\n",
        err.toString());
    assertFalse(Files.exists(ds), "no dataset of nothing");
    Path src = sourceTree(3, 4);
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", src.toString(), "--block-size", "8GiB"));
    assertTrue(err.toString().contains("Invalid --block-size '8GiB': allowed is 1 B .. 2 GiB - 1"), err.toString());
    // one input, one shard: not "1 input(s) into 1 shard(s)"
    assertEquals(0, run("pack", tmp.resolve("one").toString(), "--from", src.toString()), err.toString());
    assertTrue(out.toString().startsWith("packed 4 samples (") && out.toString().contains(") from 1 input into 1 shard, "), out.toString());
    assertEquals(0, run("inspect", tmp.resolve("one").toString()), err.toString());
    assertTrue(out.toString().contains(" in 1 shard, ratio "), out.toString());
    assertEquals(0, run("unpack", tmp.resolve("one").toString(), tmp.resolve("one-back").toString()), err.toString());
    assertTrue(out.toString().startsWith("unpacked 4 samples (") && out.toString().contains(") of 1 source to "), out.toString());
    for (String[] bad : new String[][] {{"--shard-size", "0"}, {"--threads", "0"}, {"--stage", "zstd:level=99"}}) {
      assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", src.toString(), bad[0], bad[1]), String.join(" ", bad));
      assertFalse(Files.exists(ds), "an invalid " + bad[0] + " leaves no directory: " + err);
    }
    Path broken = tmp.resolve("broken.tar");
    Files.write(broken, "not a tar header".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", src.toString(), broken.toString()));
    assertFalse(Files.exists(ds), "a malformed input leaves no directory: " + err);
    Path nested = tmp.resolve("made/on/the-way/ds");
    assertEquals(Main.INVALID, run("pack", nested.toString(), "--from", src.toString(), broken.toString()));
    assertFalse(Files.exists(tmp.resolve("made")), "the directories made on the way to a failed pack go too: " + err);
    // a directory that was there stays, with what it held
    Path mine = Files.createDirectories(tmp.resolve("mine"));
    Files.writeString(mine.resolve("notes.txt"), "keep");
    assertEquals(Main.INVALID, run("pack", mine.toString(), "--from", empty.toString()));
    assertEquals("keep", Files.readString(mine.resolve("notes.txt")));
  }

  @Test
  void readRefusesWhatItCannotDoBeforeReading() throws IOException {
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", sourceTree(4, 10).toString()), err.toString());
    for (String n : new String[] {"0", "-1"}) {
      assertEquals(Main.INVALID, run("read", ds.toString(), "--max-batches", n), "--max-batches " + n + ": " + out);
      assertEquals("dharmana dataset read: Invalid --max-batches " + n + ": must be >= 1\n", err.toString());
      assertEquals(Main.INVALID, run("bench", ds.toString(), "--compute-ms", "0", "--max-batches", n), "--max-batches " + n + ": " + out);
    }
    // under a file no directory can be made: said before the read, not after it
    Path file = Files.writeString(tmp.resolve("file"), "x");
    Path nowhere = file.resolve("nodir").resolve("state.json");
    assertEquals(Main.INVALID, run("read", ds.toString(), "--state-out", nowhere.toString()));
    assertEquals("dharmana dataset read: Cannot write --state-out " + nowhere + ": " + file + " is a file, not a directory\n",
        err.toString());
    assertEquals("", out.toString(), "nothing was read");
    // a directory, existing or ending in '/', is refused by name before the read (before: "Is a directory" after it)
    Path states = Files.createDirectories(tmp.resolve("states"));
    for (String given : new String[] {states.toString(), tmp.resolve("fresh") + "/"}) {
      assertEquals(Main.INVALID, run("read", ds.toString(), "--state-out", given));
      assertTrue(err.toString().startsWith("dharmana dataset read: Invalid --state-out " + (given.endsWith("/") ? given : given + "/")
          + ": it names a directory; give the file to write"), err.toString());
      assertEquals("", out.toString(), "nothing was read");
    }
    assertFalse(Files.exists(tmp.resolve("fresh")));
    // one line, as --batch 0 is answered: not the message above 80 lines of usage
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--compute-ms", "1", "--epochs", "0"));
    assertEquals("dharmana dataset bench: Invalid --epochs 0: must be >= 1\n", err.toString());
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--compute-ms", "-5"));
    assertEquals("dharmana dataset bench: Invalid --compute-ms -5.0: must be >= 0\n", err.toString());
    assertEquals(Main.INVALID, run("bench", ds.toString(), "--compute-ms", "1", "--launch", "later"));
    assertEquals("dharmana dataset bench: Invalid --launch later: allowed are sync and async\n", err.toString());
    assertEquals(Main.INVALID, run("read", ds.toString(), "--rank", "1/0"));
    assertEquals("dharmana dataset read: Invalid world size 0: must be >= 1\n", err.toString());
    assertEquals(Main.INVALID, run("read", ds.toString(), "--worker", "0/0"));
    assertEquals("dharmana dataset read: Invalid worker count 0: must be >= 1\n", err.toString());
  }

  @Test
  void unpackWritesAllOrNothingIntoANewOrEmptyDirectory() throws IOException {
    Path src = sourceTree(5, 40);
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", src.toString(), "--shard-size", "64KiB"), err.toString());
    // the last shard cut short: the samples of the shards before it are restored first
    Path last;
    try (var shards = Files.list(ds.resolve("shards"))) {
      last = shards.sorted().reduce((a, b) -> b).orElseThrow();
    }
    byte[] whole = Files.readAllBytes(last);
    Files.write(last, java.util.Arrays.copyOf(whole, whole.length / 2));
    Path out = tmp.resolve("restored");
    assertEquals(Main.FAILED, run("unpack", ds.toString(), out.toString()));
    assertTrue(err.toString().contains("shards/" + last.getFileName()), err.toString());
    assertFalse(Files.exists(out), "no half-restored tree");
    try (var left = Files.list(tmp)) {
      assertEquals(List.of("ds", "src"), left.map(p -> p.getFileName().toString()).sorted().toList(), "nothing staged is left");
    }
    Files.write(last, whole);

    Path mine = Files.createDirectories(tmp.resolve("mine"));
    Files.writeString(mine.resolve("c0"), "mine");
    assertEquals(Main.CONFLICT, run("unpack", ds.toString(), mine.toString()));
    assertEquals("dharmana dataset unpack: Cannot unpack to " + mine + ": it is not empty; name a new or empty directory\n", err.toString());
    assertEquals("mine", Files.readString(mine.resolve("c0")));
    assertEquals(Main.INVALID, run("unpack", ds.toString(), mine.resolve("c0").toString()));
    assertEquals("dharmana dataset unpack: Cannot unpack to " + mine.resolve("c0") + ": it is a file, not a directory\n", err.toString());

    Path underAFile = mine.resolve("c0").resolve("out");
    assertEquals(Main.FAILED, run("unpack", ds.toString(), underAFile.toString()));
    assertTrue(err.toString().startsWith("dharmana dataset unpack: Cannot unpack to " + underAFile + ": cannot create a directory in "
        + mine.resolve("c0")), "OUT is named, not the directory staged beside it: " + err);

    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertEquals(0, run("unpack", ds.toString(), empty.toString()), err.toString());
    assertArrayEquals(Files.readAllBytes(src.resolve("c1/1.bin")), Files.readAllBytes(empty.resolve("c1/1.bin")));
  }

  @Test
  void aBrokenIndexOrStateIsNamedOnOneLine() throws IOException {
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", sourceTree(6, 5).toString()), err.toString());
    assertEquals(Main.CONFLICT, run("pack", ds.toString(), "--from", tmp.resolve("src").toString()));
    assertEquals("dharmana dataset pack: Cannot pack into local:" + ds + ": a dataset already exists there (index.json)\n", err.toString());
    Path state = tmp.resolve("state.json");
    Files.writeString(state, "garbage: [\n");
    assertEquals(Main.INVALID, run("read", ds.toString(), "--resume", state.toString()));
    assertEquals("dharmana dataset read: Invalid --resume " + state + ": Invalid loader state: line 1, column 1: Unrecognized token 'garbage':"
        + " was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n", err.toString());
    byte[] index = Files.readAllBytes(ds.resolve("index.json"));
    Files.write(ds.resolve("index.json"), java.util.Arrays.copyOf(index, 20));
    assertEquals(Main.FAILED, run("inspect", ds.toString()));
    assertTrue(err.toString().startsWith("dharmana dataset inspect: Cannot read dataset index index.json of local:" + ds + ": line 2, column 19: Unexpected end-of-input")
        && err.toString().lines().count() == 1, err.toString());
    Path file = Files.writeString(tmp.resolve("notes.txt"), "not a dataset");
    assertEquals(Main.INVALID, run("pack", file.toString(), "--from", tmp.resolve("src").toString()));
    assertEquals("dharmana dataset pack: Cannot pack into " + file + ": it is a file, not a directory\n", err.toString());
    assertEquals(Main.INVALID, run("inspect", file.toString()));
    assertEquals("dharmana dataset inspect: Cannot open dataset " + file + ": it is a file; a dataset is a directory (see dataset pack)\n",
        err.toString());
    Path notDataset = Files.createDirectories(tmp.resolve("photos"));
    assertEquals(Main.NOT_FOUND, run("inspect", notDataset.toString()));
    assertEquals("dharmana dataset inspect: Cannot open dataset at local:" + notDataset
        + ": no index.json (not a dataset, or a pack that did not finish)\n", err.toString());
  }

  @Test
  void anS3DatasetWithoutCredentialsOrWithABadEndpointSaysSoOnOneLine() {
    assertEquals(Main.INVALID, run("inspect", "s3://bucket/ds", "--endpoint-url", "localhost:9000"));
    assertEquals("dharmana dataset inspect: Invalid --endpoint-url 'localhost:9000': expected http://HOST:PORT or https://HOST\n", err.toString());
    Assumptions.assumeTrue(System.getenv("AWS_ACCESS_KEY_ID") == null && System.getenv("AWS_PROFILE") == null
        && System.getenv("AWS_WEB_IDENTITY_TOKEN_FILE") == null && System.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") == null
        && System.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") == null && System.getProperty("aws.accessKeyId") == null
        && !Files.exists(Path.of(System.getProperty("user.home"), ".aws")), "this environment has AWS credentials");
    // the SDK's own message lists the six providers it tried, each with its reason
    assertEquals(Main.FAILED, run("inspect", "s3://bucket/ds", "--endpoint-url", "http://127.0.0.1:1"));
    assertEquals("dharmana dataset inspect: Cannot check index.json in s3://bucket/ds: no AWS credentials found (set AWS_ACCESS_KEY_ID and"
        + " AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)\n", err.toString());
  }

  /** A .jsonl input must hold one JSON value a line: before, any bytes were packed as a sample. */
  @Test
  void packRefusesAJsonLinesLineThatIsNotJsonNamingFileAndLine() throws IOException {
    Path lines = tmp.resolve("notes.jsonl");
    Path ds = tmp.resolve("ds");
    Files.writeString(lines, "{\"id\":1}\n\n{\"id\":2} {\"id\":3}\n");
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", lines.toString()));
    assertEquals("dharmana dataset pack: Invalid input " + lines + ", line 3: not JSON: a second JSON value follows the first"
        + " (one value a line) at column 10\n", err.toString());
    Files.writeString(lines, "{\"id\":1}\nnot json\n");
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", lines.toString()));
    assertEquals("dharmana dataset pack: Invalid input " + lines + ", line 2: not JSON: Unrecognized token 'not': was expecting"
        + " (JSON String, Number, Array, Object or token 'null', 'true' or 'false') at column 1\n", err.toString());
    Files.writeString(lines, "{\"id\":1}\r\n{\"id\": [1, 2\r\n");
    assertEquals(Main.INVALID, run("pack", ds.toString(), "--from", lines.toString()));
    assertTrue(err.toString().contains(", line 2: not JSON: "), err.toString());
    assertFalse(Files.exists(ds), "a refused pack leaves no dataset");
    // blank lines are empty samples, so that unpack gives the file back byte for byte
    Files.writeString(lines, "{\"id\":1}\n\n[2]\n");
    assertEquals(0, run("pack", ds.toString(), "--from", lines.toString()), err.toString());
    assertTrue(out.toString().startsWith("packed 3 samples"), out.toString());
  }

  /** --state-out replaces the state whole (a temporary file renamed over it) and makes its directory, as -o does. */
  @Test
  void stateOutIsReplacedWholeNotWrittenInPlace() throws IOException {
    Path ds = tmp.resolve("ds");
    assertEquals(0, run("pack", ds.toString(), "--from", sourceTree(6, 30).toString(), "--shard-size", "100KiB"), err.toString());
    Path state = tmp.resolve("states").resolve("run-1").resolve("state.json");
    assertEquals(0, run("read", ds.toString(), "--batch", "4", "--max-batches", "1", "--state-out", state.toString()), err.toString());
    String first = Files.readString(state);
    Path earlier = Files.createLink(tmp.resolve("earlier.json"), state);
    assertEquals(0, run("read", ds.toString(), "--batch", "4", "--max-batches", "3", "--state-out", state.toString()), err.toString());
    // written in place, the link would show the new state (or half of it, after a crash): renamed over, it keeps the old one
    assertEquals(first, Files.readString(earlier));
    assertFalse(first.equals(Files.readString(state)), "the later state: " + Files.readString(state));
    try (Stream<Path> left = Files.list(state.getParent())) {
      assertEquals(List.of(state), left.toList(), "no temporary file left");
    }
  }
}
