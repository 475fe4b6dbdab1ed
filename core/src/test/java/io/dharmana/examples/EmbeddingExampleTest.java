package io.dharmana.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.checkpoint.CheckpointInfo;
import io.dharmana.checkpoint.CheckpointManager;
import io.dharmana.checkpoint.RestoredCheckpoint;
import io.dharmana.dataset.Batch;
import io.dharmana.dataset.DataLoader;
import io.dharmana.dataset.Dataset;
import io.dharmana.dataset.DatasetPacker;
import io.dharmana.dataset.Sample;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.metrics.MetricsSnapshot;
import io.dharmana.metrics.PipelineMetrics;
import io.dharmana.repo.ObjectInfo;
import io.dharmana.repo.Repository;
import io.dharmana.repo.RepositoryStats;
import io.dharmana.stage.StageSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.tensor.DType;
import io.dharmana.tensor.Safetensors;
import io.dharmana.tensor.SafetensorsFile;
import io.dharmana.tensor.SafetensorsWriter;
import io.dharmana.tensor.Tensor;
import io.dharmana.tensor.codec.FloatCodec;
import io.dharmana.tensor.codec.FloatCodecOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library as a program that embeds it uses it, through the public API alone (this package is
 * none of the library's): the code of the README's "Using it from Java" runs here, and {@link
 * #readmeSnippetsAreThisTestsCode} fails when the README's Java differs from it. Lines ending in
 * {@value #TEST_ONLY} are the test's checks, which the README leaves out.
 */
class EmbeddingExampleTest {
  private static final String TEST_ONLY = "// test only";
  private static final Path SOURCE = Path.of("core/src/test/java/io/dharmana/examples/EmbeddingExampleTest.java");

  @TempDir Path tmp;

  @Test
  void repositoryPutGetListAndStats() throws IOException {
    Path dir = tmp.resolve("repo");
    long seed = 18;
    byte[] bytes = new byte[1 << 20];
    Random random = new Random(seed);
    for (int i = 0; i < bytes.length; i += 16) {
      bytes[i] = (byte) random.nextInt(); // sparse, so zstd has something to do
    }

    PipelineDescriptor pipeline = PipelineDescriptor.builder("models")
        .storage(StorageDescriptor.builder()
            .stage("zstd", Map.of("level", "3"))
            .build())
        .build();
    try (Repository repo = Repository.init(dir, pipeline)) {
      ObjectInfo stored = repo.put("weights/model.bin", new ByteArrayInputStream(bytes));
      assertEquals(bytes.length, stored.size(), "seed " + seed); // test only
      assertTrue(stored.storedBytes() < bytes.length, "seed " + seed + ": " + stored); // test only
      try (InputStream in = repo.open("weights/model.bin")) {
        byte[] back = in.readAllBytes(); // every chunk checked against its SHA-256
        assertArrayEquals(bytes, back, "seed " + seed); // test only
      }
      try (Stream<ObjectInfo> objects = repo.list("weights/")) {
        objects.forEach(o -> System.out.println(o.name() + ": " + o.size() + " bytes, " + o.storedBytes() + " stored"));
      }
      RepositoryStats stats = repo.stats(); // logical and stored bytes, dedup, tiers
      assertEquals(1, stats.objects()); // test only
      assertEquals(bytes.length, stats.logicalBytes()); // test only
    }

    try (Repository repo = Repository.open(dir)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ObjectInfo info = repo.get("weights/model.bin", out);
      assertArrayEquals(bytes, out.toByteArray(), "seed " + seed);
      assertEquals(info.sha256(), repo.stat("weights/model.bin").orElseThrow().sha256());
      MetricsSnapshot snapshot = repo.metrics("models").snapshot("get weights/model.bin");
      assertEquals(bytes.length, snapshot.counter(PipelineMetrics.READ_BYTES));
      repo.history().append(snapshot);
      assertEquals(1, repo.history().read().size());
    }
  }

  @Test
  void pipelineFromYamlEqualsTheOneBuiltInCode() throws IOException {
    Path file = tmp.resolve("models.yaml");
    Files.writeString(file, "name: models\nstorage:\n  stages:\n    - zstd: {level: 3}\n", StandardCharsets.UTF_8);
    PipelineDescriptor built = PipelineDescriptor.builder("models")
        .storage(StorageDescriptor.builder().stage("zstd", Map.of("level", "3")).build())
        .build();
    assertEquals(built, Descriptors.load(file));
    Files.writeString(file, "name: models\nstorage:\n  stages: [zstd]\n  tier: []\n", StandardCharsets.UTF_8);
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> Descriptors.load(file));
    assertTrue(e.getMessage().contains("tier") && e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void checkpointSaveAndRestore() {
    Path dir = tmp.resolve("repo");
    Repository.init(dir, Repository.defaultPipeline()).close();

    try (Repository repo = Repository.open(dir);
        CheckpointManager checkpoints = CheckpointManager.open(repo, "gpt-run-7")) {
      Tensor weight = Tensor.ofFloats("fc.weight", new long[] {2, 3}, new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f});
      CompletableFuture<CheckpointInfo> saved = checkpoints.save(1200, List.of(weight), Map.of("epoch", "3"));
      // save returned once the tensors were copied: training goes on while they are written
      CheckpointInfo info = saved.join(); // committed: all of it is visible, or none
      assertTrue(info.complete()); // test only
      RestoredCheckpoint restored = checkpoints.restoreLatest(); // every chunk and tensor verified
      FloatBuffer values = restored.tensor("fc.weight").data().asFloatBuffer();
      assertEquals(FloatBuffer.wrap(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}), values); // test only
      assertEquals(Map.of("epoch", "3"), restored.metadata()); // test only
      assertEquals(1200, restored.step()); // test only
    }
  }

  @Test
  void safetensorsFileIntoACheckpointAndThroughTheFloatCodec() {
    Path file = tmp.resolve("model.safetensors");
    Random random = new Random(7);
    float[] values = new float[64 * 1024];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * 0.02);
    }
    SafetensorsWriter.write(Map.of("format", "pt"),
        List.of(Tensor.ofFloats("blocks.0.fc.weight", new long[] {256, 256}, values)), file);

    Path dir = tmp.resolve("repo");
    try (Repository repo = Repository.init(dir, Repository.defaultPipeline());
        CheckpointManager checkpoints = CheckpointManager.open(repo, "from-file");
        SafetensorsFile model = Safetensors.open(file)) {
      assertEquals(Map.of("format", "pt"), model.metadata());
      // save copies the tensors before it returns: the file may be closed while the save runs
      checkpoints.save(1, model.tensors(), Map.of()).join();
      Tensor restored = checkpoints.restore(1).tensor("blocks.0.fc.weight");
      assertEquals(model.tensor("blocks.0.fc.weight").data(), restored.data());
      assertEquals(DType.F32, restored.dtype());
      assertArrayEquals(new long[] {256, 256}, restored.shape());

      FloatCodec codec = FloatCodec.create(FloatCodecOptions.DEFAULT);
      Tensor tensor = model.tensor("blocks.0.fc.weight");
      byte[] encoded = codec.encode(tensor.dtype(), tensor.data(), null);
      assertTrue(encoded.length < tensor.byteSize(), encoded.length + " of " + tensor.byteSize());
      ByteBuffer decoded = ByteBuffer.allocate((int) FloatCodec.decodedLength(encoded));
      codec.decode(encoded, tensor.dtype(), null, decoded);
      assertEquals(tensor.data(), decoded.flip());
    }
  }

  @Test
  void datasetPackAndLoad() throws IOException {
    Path images = Files.createDirectories(tmp.resolve("images"));
    for (int i = 0; i < 100; i++) {
      Files.writeString(images.resolve(String.format("%03d.txt", i)), "sample " + i, StandardCharsets.UTF_8);
    }
    Path datasetDir = tmp.resolve("dataset");
    List<String> seen = new ArrayList<>(); // test only

    try (BlobStore store = Stores.local(datasetDir, true)) { // true: fsync each shard
      DatasetPacker.builder(store)
          .stages(List.of(StageSpec.of("zstd")))
          .build()
          .pack(List.of(images)); // a directory, .jsonl files or WebDataset .tar shards
      try (Dataset dataset = Dataset.open(store, "");
          DataLoader loader = DataLoader.builder(dataset).batchSize(32).shuffle(42).epoch(0).build()) {
        for (Batch batch : loader) {
          for (Sample sample : batch.samples()) {
            ByteBuffer file = sample.field("file"); // a file packed from a directory has one field
            seen.add(StandardCharsets.UTF_8.decode(file).toString()); // test only
          }
        }
      }
    }
    assertEquals(100, seen.size());
    assertEquals(100, seen.stream().distinct().count());
    assertTrue(seen.contains("sample 42"), seen.toString());
    assertTrue(!seen.equals(seen.stream().sorted().toList()), "a shuffled epoch came out in order");
  }

  @Test
  void anS3TierNeedsTheS3Module() {
    TierSpec archive = TierSpec.builder("archive", "s3")
        .location("s3://my-bucket/checkpoints")
        .option("endpoint", "http://127.0.0.1:9000") // leave out for AWS; keys from the AWS credential chain
        .option("pathStyle", "true")
        .build();
    PipelineDescriptor pipeline = PipelineDescriptor.builder("archived")
        .storage(StorageDescriptor.builder()
            .tier(TierSpec.local("nvme", null)) // the first tier takes the writes
            .tier(archive)
            .build())
        .build();
    // core alone has no s3 store: the error says which module brings it
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> Repository.init(tmp.resolve("repo"), pipeline));
    assertTrue(e.getMessage().contains("io.dharmana:dharmana-s3"), e.getMessage());
    assertTrue(!Files.exists(tmp.resolve("repo")), "a failed init left the repository's directory");
  }

  @Test
  void tensorOfFloatsRejectsAShapeThatDoesNotFitTheValues() {
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class,
        () -> Tensor.ofFloats("fc.weight", new long[] {2, 3}, new float[5]));
    assertEquals("Invalid tensor 'fc.weight': shape [2, 3] holds 6 elements but 5 values were given", e.getMessage());
    Tensor t = Tensor.ofFloats("b", new long[] {2}, new float[] {1.5f, -2f});
    assertEquals(DType.F32, t.dtype());
    assertEquals(8, t.byteSize());
    assertEquals(-2f, t.data().getFloat(4));
  }

  /**
   * Every ```java block of the README appears in this file, line for line (indentation aside),
   * once the lines ending in {@value #TEST_ONLY} are left out; and the dependency snippet names
   * the version the build makes.
   */
  @Test
  void readmeSnippetsAreThisTestsCode() throws IOException {
    Path root = projectRoot();
    Assumptions.assumeTrue(root != null,
        "README.md not found above " + Path.of("").toAbsolutePath() + ": the README check runs in a checkout");
    String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
    List<String> source = Files.readAllLines(root.resolve(SOURCE), StandardCharsets.UTF_8).stream()
        .filter(line -> !line.endsWith(TEST_ONLY))
        .map(String::strip)
        .toList();
    Matcher blocks = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
    int count = 0;
    while (blocks.find()) {
      count++;
      List<String> snippet = blocks.group(1).lines().map(String::strip).toList();
      assertTrue(java.util.Collections.indexOfSubList(source, snippet) >= 0,
          "README.md's java block " + count + " is not the code of " + SOURCE + " (edit both):\n" + blocks.group(1));
    }
    assertTrue(count >= 3, "README.md has " + count + " java blocks; expected the 'Using it from Java' examples");
    Matcher version = Pattern.compile("<version>([^<$]+)</version>").matcher(Files.readString(root.resolve("pom.xml")));
    assertTrue(version.find());
    assertTrue(readme.contains("<version>" + version.group(1) + "</version>"),
        "README.md's dependency snippet does not name the build's version " + version.group(1));
  }

  /** The checkout holding this module: the nearest directory above that has README.md and core/. */
  private static Path projectRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("README.md")) && Files.isRegularFile(dir.resolve(SOURCE))) {
        return dir;
      }
    }
    return null;
  }
}
