package io.dharmana.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dharmana.dataset.Dataset;
import io.dharmana.dataset.Sample;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code python/dharmana_dataset.py}, the reader Python training code uses, run by the real
 * Python on datasets the CLI packs: every sample must be the Java reader's, and damage must be
 * reported, not read. Skips, saying what to install, where Debian's Python or its modules are
 * missing ({@code .ci/run} installs them).
 */
class PythonDatasetReaderTest {
  static final Path READER = Path.of("..", "python", "dharmana_dataset.py").toAbsolutePath().normalize();
  static final String PYTHON = "/usr/bin/python3";
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void pythonIsThere() throws Exception {
    Assumptions.assumeTrue(Files.isRegularFile(READER), "no " + READER + " beside this module");
    Assumptions.assumeTrue(Files.isExecutable(Path.of(PYTHON)), "skipped: no " + PYTHON + " (apt-get install python3)");
    Result modules = python(List.of("-c", "import zstandard, lz4.block, crc32c, crcmod"), Map.of());
    Assumptions.assumeTrue(modules.exit == 0,
        "skipped: Debian's Python lacks zstandard, lz4, crc32c or crcmod (apt-get install python3-zstandard python3-lz4 python3-crc32c python3-crcmod)");
  }

  record Result(int exit, String out, String err) {}

  static Result python(List<String> args, Map<String, String> env) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(PYTHON);
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    Path out = Files.createTempFile("py-out", ".txt");
    Path err = Files.createTempFile("py-err", ".txt");
    try {
      Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new AssertionError("python " + args + " did not finish in 5 minutes");
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  static Result read(Path dataset, Map<String, String> env) throws Exception {
    return python(List.of(READER.toString(), dataset.toString(), "--json"), env);
  }

  /** A directory of 60 files, and beside it a JSON Lines file of 50 lines: 110 samples. */
  Path sources() throws IOException {
    Random random = new Random(18);
    Path src = tmp.resolve("src");
    for (int i = 0; i < 60; i++) {
      Path f = src.resolve("class" + (i % 4)).resolve("img" + i + ".bin");
      Files.createDirectories(f.getParent());
      // mostly small, some past the 64 KiB block, one empty: every way a sample sits in blocks
      byte[] b = new byte[i == 7 ? 0 : i % 10 == 0 ? 150_000 + random.nextInt(100_000) : random.nextInt(30_000)];
      random.nextBytes(b);
      for (int k = 0; k < b.length / 2; k++) {
        b[k] = (byte) (k % 7); // half compressible, so the coding stages have work to do
      }
      Files.write(f, b);
    }
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      lines.append("{\"text\": \"sample ").append(i).append(" äö\", \"label\": ").append(i % 3).append("}\n");
    }
    Files.writeString(tmp.resolve("captions.jsonl"), lines.toString(), StandardCharsets.UTF_8);
    return src;
  }

  Path pack(Path src, String name, String... stages) {
    Path ds = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("dataset", "pack", ds.toString(), "--from", src.toString(),
        tmp.resolve("captions.jsonl").toString(), "--shard-size", "512KiB",
        "--block-size", "64KiB"));
    for (String s : stages) {
      args.add("--stage");
      args.add(s);
    }
    CommandLine cli = Main.commandLine();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(new StringWriter(), true));
    cli.setErr(new PrintWriter(err, true));
    assertEquals(0, cli.execute(args.toArray(String[]::new)), err.toString());
    return ds;
  }

  /** What the Java reader reads: per sample its key, field names and the SHA-256 of its bytes. */
  static List<String> javaSamples(Path ds) throws Exception {
    List<String> samples = new ArrayList<>();
    try (BlobStore store = Stores.local(ds, false); Dataset dataset = Dataset.open(store, "")) {
      for (long i = 0; i < dataset.size(); i++) {
        Sample s = dataset.sample(i);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (ByteBuffer b : s.fields().values()) {
          sha.update(b.duplicate());
        }
        samples.add(i + " " + s.key() + " " + s.fields().keySet() + " " + HexFormat.of().formatHex(sha.digest()));
      }
    }
    return samples;
  }

  static List<String> pythonSamples(JsonNode read) {
    List<String> samples = new ArrayList<>();
    for (JsonNode item : read.get("items")) {
      List<String> fields = new ArrayList<>();
      item.get("fields").forEach(f -> fields.add(f.asText()));
      samples.add(item.get("index").asLong() + " " + item.get("key").asText() + " " + fields + " " + item.get("sha256").asText());
    }
    return samples;
  }

  @Test
  void pythonReadsWhatJavaPackedThroughEveryStageItKnows() throws Exception {
    Path src = sources();
    String[][] chains = {
        {},
        {"zstd:level=3"},
        {"lz4", "checksum:algorithm=sha256"},
        {"byte-planes:width=4", "zstd:level=1", "checksum"},
    };
    for (String[] chain : chains) {
      Path ds = pack(src, "ds" + chain.length + (chain.length > 0 ? chain[0].replaceAll("[^a-z0-9]", "") : ""), chain);
      Result r = read(ds, Map.of());
      assertEquals(0, r.exit, List.of(chain) + ": " + r.err);
      JsonNode json = JSON.readTree(r.out);
      assertEquals(110, json.get("samples").asInt(), List.of(chain).toString());
      assertTrue(json.get("verified").asBoolean());
      assertEquals(javaSamples(ds), pythonSamples(json), List.of(chain).toString());
    }
    // and the bytes are the files': the Java reader is not the only witness
    Path plain = tmp.resolve("ds0");
    JsonNode json = JSON.readTree(read(plain, Map.of()).out);
    int files = 0;
    for (JsonNode item : json.get("items")) {
      Path file = src.resolve(item.get("key").asText());
      if (Files.isRegularFile(file)) {
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))),
            item.get("sha256").asText(), item.get("key").asText());
        files++;
      }
    }
    assertEquals(60, files);
  }

  @Test
  void everyCrcAgreesAndShuffleAndRanksCoverEverySampleOnce() throws Exception {
    Path ds = pack(sources(), "ds", "zstd:level=3", "checksum");
    // each CRC-32C the reader can fall back on agrees with java.util.zip.CRC32C
    for (String crc : List.of("crcmod", "python")) {
      Result r = read(ds, Map.of("DHARMANA_CRC32C", crc));
      assertEquals(0, r.exit, crc + ": " + r.err);
      assertEquals(javaSamples(ds), pythonSamples(JSON.readTree(r.out)), crc);
    }

    String script = String.join("\n",
        "import sys; sys.path.insert(0, sys.argv[1]); import dharmana_dataset as dd",
        "ds = dd.Dataset(sys.argv[2])",
        "ordered = [s.key for s in ds]",
        "assert [ds[i].key for i in range(len(ds))] == ordered and ds[-1].key == ordered[-1]",
        "a = [s.key for s in ds.samples(shuffle=7, epoch=1)]",
        "assert a == [s.key for s in ds.samples(shuffle=7, epoch=1)], 'a seed repeats its order'",
        "assert a != ordered and sorted(a) == sorted(ordered)",
        "assert a != [s.key for s in ds.samples(shuffle=7, epoch=2)], 'each epoch its own order'",
        "ranks = [s.key for r in range(3) for s in ds.samples(shuffle=7, rank=r, world_size=3)]",
        "assert sorted(ranks) == sorted(ordered), 'three ranks read every sample once'",
        "try:\n  ds[len(ds)]\n  raise SystemExit('no IndexError')\nexcept IndexError as e:\n  print(e)",
        "print(len(ordered))");
    Result r = python(List.of("-c", script, READER.getParent().toString(), ds.toString()), Map.of());
    assertEquals(0, r.exit, r.err);
    assertEquals("sample 110 is out of range: the dataset has 110\n110\n", r.out);
  }

  @Test
  void damageIsReportedNamingTheShardAndSample() throws Exception {
    Path ds = pack(sources(), "ds", "zstd:level=3");
    Path shard = ds.resolve("shards").resolve("shard-000000.dhs");
    byte[] bytes = Files.readAllBytes(shard);
    byte[] flipped = bytes.clone();
    flipped[100] ^= 0x10; // inside the first block
    Files.write(shard, flipped);
    Result r = read(ds, Map.of());
    assertEquals(1, r.exit, r.out + r.err);
    assertTrue(r.err.startsWith("dharmana_dataset: Cannot read shard " + shard + ": sample 0 (")
        && r.err.contains("block 0 failed CRC32C verification"), r.err);

    Files.write(shard, java.util.Arrays.copyOf(bytes, bytes.length - 10));
    r = read(ds, Map.of());
    assertEquals(1, r.exit);
    assertEquals("dharmana_dataset: Cannot read shard " + shard + ": no end marker (truncated or not a shard)\n", r.err);

    r = read(tmp.resolve("nothing"), Map.of());
    assertEquals(3, r.exit);
    assertTrue(r.err.startsWith("dharmana_dataset: Cannot open dataset " + tmp.resolve("nothing") + ": no index.json there"), r.err);
  }

  @Test
  void aStagePythonCannotDecodeIsNamedBeforeAnySampleIsRead() throws Exception {
    Path ds = pack(sources(), "ds", "float-split");
    Result r = read(ds, Map.of());
    assertEquals(2, r.exit, r.out);
    assertTrue(r.err.startsWith("dharmana_dataset: stage float-split (version 3) cannot be read from Python; readable: byte-planes,"
        + " checksum, lz4, zstd."), r.err);
  }
}
