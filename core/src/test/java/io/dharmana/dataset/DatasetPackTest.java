package io.dharmana.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CorruptDataException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DatasetPackTest {
  @TempDir Path tmp;

  static void writeRandomTree(Path root, Random random, int files) throws IOException {
    for (int i = 0; i < files; i++) {
      Path dir = root.resolve("d" + random.nextInt(4)).resolve("e" + random.nextInt(3));
      Files.createDirectories(dir);
      int size = random.nextInt(10) == 0 ? 0 : random.nextInt(random.nextBoolean() ? 300 : 40_000);
      byte[] data = new byte[size];
      random.nextBytes(data);
      Files.write(dir.resolve(String.format("%05d.bin", i)), data);
    }
  }

  static DatasetIndex pack(Path out, List<Path> inputs, long shardSize, int blockSize) {
    return pack(out, inputs, shardSize, blockSize, new StageChain(List.of()));
  }

  static DatasetIndex pack(Path out, List<Path> inputs, long shardSize, int blockSize, StageChain stages) {
    try (BlobStore store = Stores.local(out, false)) {
      return DatasetPacker.builder(store).shardSize(shardSize).blockSize(blockSize).threads(2).stages(stages).build().pack(inputs);
    }
  }

  @Test
  void inputsWithoutASampleCommitNothing() throws IOException {
    Path emptyDir = Files.createDirectories(tmp.resolve("empty"));
    Path emptyLines = Files.createFile(tmp.resolve("empty.jsonl"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> pack(tmp.resolve("ds"), List.of(emptyDir, emptyLines), 1 << 20, 1 << 16));
    assertEquals("Invalid pack: " + emptyDir + ", " + emptyLines + " hold no samples (an empty directory, JSON Lines file or tar)", e.getMessage());
    assertFalse(Files.exists(tmp.resolve("ds").resolve(DatasetIndex.KEY)), "no index of nothing");
  }

  @ParameterizedTest
  @ValueSource(strings = {"zstd", "lz4"})
  void compressedRoundTripThroughBuiltInStages(String stage) throws IOException {
    Random random = new Random(stage.hashCode());
    Path src = tmp.resolve("src");
    for (int i = 0; i < 50; i++) {
      // compressible: text-like records
      StringBuilder text = new StringBuilder();
      for (int j = random.nextInt(2000); j > 0; j--) {
        text.append("token").append(random.nextInt(50)).append(' ');
      }
      Files.createDirectories(src.resolve("t"));
      Files.writeString(src.resolve("t/" + i + ".txt"), text);
    }
    StageChain chain = Stages.chain(List.of(StageSpec.of(stage)), StageContext.system());
    DatasetIndex index = pack(tmp.resolve("ds"), List.of(src), 64 * 1024, 16 * 1024, chain);
    assertTrue(index.storedBytes() < index.bytes(), stage + ": compressible data must shrink: " + index.storedBytes() + " of " + index.bytes());
    assertEquals(stage, index.stages().get(0).name());
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertSameTree(src, tmp.resolve("out"), stage);
    try (BlobStore store = Stores.local(tmp.resolve("ds"), false); Dataset d = Dataset.open(store, "");
        DataLoader loader = DataLoader.builder(d).batchSize(8).shuffle(3).shuffleBlock(10).build()) {
      long n = 0;
      for (Batch b : loader) {
        for (Sample s : b.samples()) {
          assertArrayEquals(Files.readAllBytes(src.resolve(s.key())), s.bytes(), stage + ": " + s.key());
          n++;
        }
      }
      assertEquals(50, n);
    }
  }

  static void unpack(Path dataset, Path out, Dataset.TarRestore mode) {
    try (BlobStore store = Stores.local(dataset, false); Dataset d = Dataset.open(store, "")) {
      d.unpack(out, mode);
    }
  }

  static void assertSameTree(Path expected, Path actual, String message) throws IOException {
    List<String> a = relativeFiles(expected);
    List<String> b = relativeFiles(actual);
    assertEquals(a, b, message + ": file lists differ");
    for (String f : a) {
      assertArrayEquals(Files.readAllBytes(expected.resolve(f)), Files.readAllBytes(actual.resolve(f)), message + ": " + f + " differs");
    }
  }

  static List<String> relativeFiles(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void directoryRoundTripIsByteIdentical(long seed) throws IOException {
    Random random = new Random(seed);
    Path src = tmp.resolve("src");
    writeRandomTree(src, random, 60 + random.nextInt(60));
    DatasetIndex index = pack(tmp.resolve("ds"), List.of(src), 64 * 1024, 16 * 1024);
    assertTrue(index.shards().size() > 3, "seed " + seed + ": expected several shards, got " + index.shards().size());
    assertEquals(relativeFiles(src).size(), index.samples(), "seed " + seed);
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertSameTree(src, tmp.resolve("out"), "seed " + seed);
  }

  @Test
  void jsonLinesRoundTripKeepsTerminators() throws IOException {
    String[] files = {
        "{\"a\":1}\n{\"b\":2}\n",
        "{\"a\":1}\n{\"b\":2}",
        "{\"a\":1}\r\n\r\n{\"b\":2}\r\n{\"c\":3}",
        "",
        "\n\n\n",
        "{\"x\":\"caf\u00e9\"}\n"
    };
    Path in = tmp.resolve("in");
    Files.createDirectories(in);
    List<Path> inputs = new ArrayList<>();
    for (int i = 0; i < files.length; i++) {
      Path f = in.resolve("f" + i + ".jsonl");
      Files.writeString(f, files[i], StandardCharsets.UTF_8);
      inputs.add(f);
    }
    DatasetIndex index = pack(tmp.resolve("ds"), inputs, 1024, 8);
    assertEquals(2 + 2 + 4 + 0 + 3 + 1, index.samples());
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertSameTree(in, tmp.resolve("out"), "jsonl");
    try (BlobStore store = Stores.local(tmp.resolve("ds"), false); Dataset d = Dataset.open(store, "")) {
      assertEquals("{\"b\":2}", new String(d.sample(1).bytes(), StandardCharsets.UTF_8));
      assertEquals("f0.jsonl#2", d.sample(1).key());
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void jsonLinesSpanningReadBuffersRoundTrip(long seed) throws IOException {
    // the reader cuts lines out of a 1 MiB buffer: lines must survive crossing its refills
    Random random = new Random(seed);
    StringBuilder text = new StringBuilder();
    int lines = 0;
    while (text.length() < (3 << 20)) {
      int length = random.nextInt(10) == 0 ? random.nextInt(1_500_000) : random.nextInt(300);
      text.append('"');
      for (int i = 0; i < length; i++) {
        text.append((char) ('a' + random.nextInt(26)));
      }
      text.append('"').append(random.nextBoolean() ? "\r\n" : "\n");
      lines++;
    }
    boolean lastTerminated = random.nextBoolean();
    text.append(lastTerminated ? "\"end\"\n" : "\"end\"");
    lines++;
    Path in = tmp.resolve("in");
    Files.createDirectories(in);
    Path file = in.resolve("big.jsonl");
    Files.writeString(file, text, StandardCharsets.UTF_8);
    DatasetIndex index = pack(tmp.resolve("ds"), List.of(file), 4 << 20, 1 << 20);
    assertEquals(lines, index.samples(), "seed " + seed);
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertSameTree(in, tmp.resolve("out"), "seed " + seed);
    try (BlobStore store = Stores.local(tmp.resolve("ds"), false); Dataset d = Dataset.open(store, "")) {
      assertEquals("\"end\"", new String(d.sample(lines - 1).bytes(), StandardCharsets.UTF_8), "seed " + seed);
    }
  }

  static boolean tarAvailable() {
    try {
      return new ProcessBuilder("tar", "--version").start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  static void runTar(Path dir, Path archive, String format) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("tar", "--sort=name", "--format=" + format, "-cf", archive.toString(), "-C", dir.toString(), ".")
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "tar failed: " + output);
  }

  @ParameterizedTest
  @ValueSource(strings = {"pax", "gnu", "ustar"})
  void webDatasetTarRoundTripIsByteIdentical(String format) throws Exception {
    Assumptions.assumeTrue(tarAvailable(), "skipped: no tar binary to build WebDataset shards with");
    long seed = format.hashCode();
    Random random = new Random(seed);
    Path members = tmp.resolve("members");
    Path deep = members.resolve("train").resolve("x".repeat(format.equals("ustar") ? 60 : 120));
    Files.createDirectories(deep);
    Files.createDirectories(members.resolve("empty-dir"));
    for (int i = 0; i < 30; i++) {
      Path dir = i % 3 == 0 ? deep : members.resolve("train");
      byte[] image = new byte[random.nextInt(5000)];
      random.nextBytes(image);
      Files.write(dir.resolve(String.format("%04d.jpg", i)), image);
      Files.writeString(dir.resolve(String.format("%04d.cls", i)), Integer.toString(random.nextInt(1000)));
      if (i % 4 == 0) {
        Files.writeString(dir.resolve(String.format("%04d.meta.json", i)), "{\"i\":" + i + "}");
      }
    }
    Path archives = tmp.resolve("archives");
    Files.createDirectories(archives);
    Path a = archives.resolve("shard-a.tar");
    runTar(members, a, format);
    DatasetIndex index = pack(tmp.resolve("ds"), List.of(a), 16 * 1024, 4096);
    assertEquals(30, index.samples(), "seed " + seed + ": WebDataset groups members by key");
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(tmp.resolve("out/shard-a.tar")), "seed " + seed + ": archive differs");
    unpack(tmp.resolve("ds"), tmp.resolve("files"), Dataset.TarRestore.MEMBERS);
    List<String> expected = relativeFiles(members).stream().map(f -> f.replace("\\", "/")).toList();
    assertEquals(expected, relativeFiles(tmp.resolve("files/shard-a")), "members unpacked as files");
    for (String f : expected) {
      assertArrayEquals(Files.readAllBytes(members.resolve(f)), Files.readAllBytes(tmp.resolve("files/shard-a").resolve(f)), f);
    }
    try (BlobStore store = Stores.local(tmp.resolve("ds"), false); Dataset d = Dataset.open(store, "")) {
      Sample s = d.sample(0);
      assertTrue(s.fields().containsKey("jpg") && s.fields().containsKey("cls"), "fields of " + s.key() + ": " + s.fields().keySet());
    }
  }

  @Test
  void mixedInputsGoToOneDataset() throws Exception {
    Assumptions.assumeTrue(tarAvailable(), "skipped: no tar binary");
    Random random = new Random(11);
    Path dir = tmp.resolve("dir");
    writeRandomTree(dir, random, 20);
    Path jsonl = tmp.resolve("a.jsonl");
    Files.writeString(jsonl, "{}\n[]\n");
    Path tar = tmp.resolve("t.tar");
    runTar(dir, tar, "pax");
    DatasetIndex index = pack(tmp.resolve("ds"), List.of(dir, jsonl, tar), 10_000, 1000);
    assertEquals(3, index.sources().size());
    unpack(tmp.resolve("ds"), tmp.resolve("out"), Dataset.TarRestore.ARCHIVE);
    assertArrayEquals(Files.readAllBytes(tar), Files.readAllBytes(tmp.resolve("out/t.tar")));
    assertArrayEquals(Files.readAllBytes(jsonl), Files.readAllBytes(tmp.resolve("out/a.jsonl")));
  }

  @Test
  void packRefusesAnExistingDatasetAndCleansDebrisOfACrashedPack() throws IOException {
    Path src = tmp.resolve("src");
    writeRandomTree(src, new Random(5), 10);
    Path out = tmp.resolve("ds");
    Files.createDirectories(out.resolve("shards"));
    Files.write(out.resolve("shards/shard-000000.dhs"), new byte[] {1, 2, 3});
    Files.write(out.resolve("shards/shard-000099.dhs"), new byte[] {1, 2, 3});
    try (BlobStore store = Stores.local(out, false)) {
      assertThrows(NotFoundException.class, () -> Dataset.open(store, ""), "debris without an index is not a dataset");
    }
    DatasetIndex index = pack(out, List.of(src), 1 << 20, 1 << 16);
    assertEquals(1, index.shards().size());
    assertFalse(Files.exists(out.resolve("shards/shard-000099.dhs")), "debris of the crashed pack must be removed");
    AlreadyExistsException e = assertThrows(AlreadyExistsException.class, () -> pack(out, List.of(src), 1 << 20, 1 << 16));
    assertTrue(e.getMessage().startsWith("Cannot pack"), e.getMessage());
  }

  @Test
  void failedPackLeavesNoDataset() throws IOException {
    Path bad = tmp.resolve("bad.tar");
    byte[] junk = new byte[2048];
    new Random(3).nextBytes(junk);
    Files.write(bad, junk);
    Path src = tmp.resolve("src");
    writeRandomTree(src, new Random(4), 30);
    Path out = tmp.resolve("ds");
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> pack(out, List.of(src, bad), 4096, 1024));
    assertTrue(e.getMessage().contains("bad.tar"), e.getMessage());
    assertEquals(List.of(), relativeFiles(out), "a failed pack must leave nothing behind");
  }

  @Test
  void corruptedShardBytesNameTheShardAndSample() throws IOException {
    Random random = new Random(17);
    Path src = tmp.resolve("src");
    writeRandomTree(src, random, 40);
    Path out = tmp.resolve("ds");
    DatasetIndex index = pack(out, List.of(src), 32 * 1024, 8 * 1024);
    ShardInfo shard = index.shards().get(1);
    Path file = out.resolve(shard.key());
    byte[] bytes = Files.readAllBytes(file);
    // flip a bit in the middle of the first block's data (after the header)
    int at = 200 + random.nextInt(64);
    bytes[at] ^= 0x10;
    Files.delete(file);
    Files.write(file, bytes);
    try (BlobStore store = Stores.local(out, false); Dataset d = Dataset.open(store, "")) {
      CorruptDataException found = null;
      for (long s = shard.firstSample(); s < shard.firstSample() + shard.samples(); s++) {
        try {
          d.sample(s);
        } catch (CorruptDataException e) {
          found = e;
          break;
        }
      }
      assertTrue(found != null, "a flipped bit at " + at + " must be detected");
      assertTrue(found.getMessage().contains(shard.key()) && found.getMessage().contains("sample "), found.getMessage());
    }
  }
}
