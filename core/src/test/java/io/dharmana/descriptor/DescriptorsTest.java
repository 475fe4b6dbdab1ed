package io.dharmana.descriptor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.stage.StageSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class DescriptorsTest {
  static final String FULL = """
      name: llm-checkpoints
      description: Checkpoints of a 7B LLM pre-training run
      computation:                 # optional
        modelKind: llm
        accelerators: 64
        stepTime: 850ms
        batchSize: 8
        sampleBytes: 8KiB
        datasetBytes: 2TB
        epochs: 1
        parameters: 7e9
        checkpointBytes: 84GB
        checkpointInterval: 30m
      storage:
        chunking: {kind: cdc, min: 16KiB, avg: 64KiB, max: 256KiB, align: 4}
        stages:
          - test-identity: {width: 4}
          - test-lossy: {bits: 8}
          - test-identity
        tiers:
          - name: nvme
            kind: local
            path: tiers/nvme
            capacity: 2TiB
            highWatermark: 0.9
            lowWatermark: 0.7
            maxAge: 7d
            priceClass: local-nvme
            options: {endpoint: http://127.0.0.1:9000}
          - name: archive
            kind: local
            path: tiers/archive
        placement: {writeTier: nvme, writeMode: back, promoteOnRead: true}
        cache: {prefetch: 8, threads: 0, memory: 256MiB}
        consistency: {fsync: true}
      """;

  @Test
  void parsesTheDocumentedFormat() {
    PipelineDescriptor d = Descriptors.parse(FULL, "full.yaml");
    assertEquals("llm-checkpoints", d.name());
    assertEquals("Checkpoints of a 7B LLM pre-training run", d.description());
    ComputationDescriptor c = d.computation().orElseThrow();
    assertEquals(new ComputationDescriptor("llm", 64, Duration.ofMillis(850), 8, 8192, 2_000_000_000_000L, 1,
        7_000_000_000L, 84_000_000_000L, Duration.ofMinutes(30)), c);
    StorageDescriptor s = d.storage();
    assertEquals(new ChunkingSpec("cdc", 16384, 65536, 262144, 4), s.chunking());
    assertEquals(List.of(StageSpec.of("test-identity", Map.of("width", "4")), StageSpec.of("test-lossy", Map.of("bits", "8")),
        StageSpec.of("test-identity")), s.stages());
    assertEquals(new TierSpec("nvme", "local", "tiers/nvme", 2L << 40, 0.9, 0.7, Duration.ofDays(7), "local-nvme",
        Map.of("endpoint", "http://127.0.0.1:9000")), s.tiers().get(0));
    assertEquals(TierSpec.local("archive", "tiers/archive"), s.tiers().get(1));
    assertEquals(new PlacementPolicy("nvme", "back", true), s.placement());
    assertEquals(new CacheSpec(8, 0, 256L << 20), s.cache());
    assertEquals(new ConsistencySpec(true), s.consistency());
  }

  @Test
  void defaultsFillWhatIsLeftOut() {
    PipelineDescriptor d = Descriptors.parse("name: minimal\n", "minimal.yaml");
    assertEquals(PipelineDescriptor.of("minimal", StorageDescriptor.of(List.of())), d);
    PipelineDescriptor s3 = Descriptors.parse("""
        name: s3-only
        storage:
          tiers:
            - {name: bucket, kind: s3, location: s3://bucket/prefix, capacity: 0}
        """, "s3.yaml");
    assertEquals("s3://bucket/prefix", s3.storage().tiers().get(0).location());
    assertEquals("bucket", s3.storage().placement().writeTier());
    assertEquals(Optional.empty(), s3.computation());
  }

  @Test
  void writesYamlThatParsesBackEqual() {
    PipelineDescriptor d = Descriptors.parse(FULL, "full.yaml");
    String yaml = Descriptors.toYaml(d);
    assertEquals(d, Descriptors.parse(yaml, "written.yaml"), yaml);
    assertTrue(yaml.contains("capacity: 2TiB"), yaml);
    assertTrue(yaml.contains("stepTime: 850ms"), yaml);
    String json = Descriptors.toJson(d);
    assertTrue(json.contains("\"capacity\" : 2199023255552"), json);
    assertEquals(d, Descriptors.parse(json, "written.json"), json);
  }

  static LongStream seeds() {
    return LongStream.range(0, 25).map(i -> 0xde5c_0000L + i);
  }

  /** Random descriptors built with the builders survive toYaml/parse and toJson/parse unchanged. */
  @ParameterizedTest
  @MethodSource("seeds")
  void randomDescriptorsRoundTrip(long seed) {
    PipelineDescriptor d = randomDescriptor(new Random(seed));
    String yaml = Descriptors.toYaml(d);
    assertEquals(d, Descriptors.parse(yaml, "seed-" + seed + ".yaml"), "seed " + seed + ":\n" + yaml);
    assertEquals(d, Descriptors.parse(Descriptors.toJson(d), "seed-" + seed + ".json"), "seed " + seed);
  }

  static PipelineDescriptor randomDescriptor(Random r) {
    PipelineDescriptor.Builder b = PipelineDescriptor.builder("p-" + r.nextInt(1000));
    if (r.nextBoolean()) {
      b.description("random pipeline: " + r.nextLong());
    }
    if (r.nextBoolean()) {
      String[] kinds = {"llm", "vision", "recommendation", "speech", "other"};
      b.computation(ComputationDescriptor.builder()
          .modelKind(kinds[r.nextInt(kinds.length)])
          .accelerators(r.nextInt(10_000))
          .stepTime(Duration.ofNanos(r.nextInt(1_000_000_000)))
          .batchSize(r.nextInt(1024))
          .sampleBytes(r.nextInt(1 << 24))
          .datasetBytes(r.nextLong() & 0xffff_ffff_ffffL)
          .epochs(r.nextInt(100))
          .parameters(r.nextLong() & 0xfff_ffff_ffffL)
          .checkpointBytes((long) r.nextInt(1 << 20) << r.nextInt(30))
          .checkpointInterval(Duration.ofSeconds(r.nextInt(100_000)))
          .build());
    }
    StorageDescriptor.Builder s = StorageDescriptor.builder();
    int avg = 1 << (6 + r.nextInt(14));
    s.chunking(new ChunkingSpec(r.nextBoolean() ? "cdc" : "fixed", Math.max(64, avg >> r.nextInt(3)), avg, avg << r.nextInt(3),
        1 + r.nextInt(8)));
    for (int i = r.nextInt(4); i > 0; i--) {
      s.stage(r.nextBoolean() ? StageSpec.of("test-identity", Map.of("level", Integer.toString(r.nextInt(20))))
          : new StageSpec("test-lossy", r.nextInt(3), r.nextBoolean() ? Map.of() : Map.of("bits", "4")));
    }
    int tiers = 1 + r.nextInt(3);
    String[] kinds = {"memory", "local", "s3"};
    for (int i = 0; i < tiers; i++) {
      TierSpec.Builder t = TierSpec.builder("t" + i, kinds[r.nextInt(3)]).capacity((long) r.nextInt(1 << 30) << r.nextInt(20));
      if (r.nextBoolean()) {
        t.location("loc/" + i);
      }
      if (r.nextBoolean()) {
        double high = 0.05 + 0.95 * r.nextDouble();
        t.watermarks(high, high * r.nextDouble());
      }
      if (r.nextBoolean()) {
        t.maxAge(Duration.ofMillis(1 + r.nextInt(1_000_000_000)));
      }
      if (r.nextBoolean()) {
        t.priceClass("s3-standard");
      }
      if (r.nextBoolean()) {
        t.option("region", "eu-" + r.nextInt(5)).option("pathStyle", "true");
      }
      s.tier(t.build());
    }
    s.placement(new PlacementPolicy("t" + r.nextInt(tiers), r.nextBoolean() ? "back" : "through", r.nextBoolean()));
    s.cache(new CacheSpec(r.nextInt(4097), r.nextInt(1025), r.nextLong() & 0xffff_ffffL));
    s.consistency(new ConsistencySpec(r.nextBoolean()));
    return b.storage(s.build()).build();
  }

  /** Each case replaces one line of {@link #FULL}; the message must name file, line, path, value and what is allowed. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown top field     | 'description: Checkpoints of a 7B LLM pre-training run' | 'descripton: x'               | 'line 2: descripton = x: unknown field; allowed fields at the top are name, description, computation, storage'
      unknown computation   | '  epochs: 1'                       | '  epoch: 1'                  | 'line 10: computation.epoch = 1: unknown field; allowed fields of computation are modelKind, accelerators,'
      unknown storage field | '  consistency: {fsync: true}'      | '  consistancy: {fsync: true}'| 'storage.consistancy = {a map}: unknown field; allowed fields of storage are chunking, stages, tiers, placement, cache, consistency'
      unknown tier field    | '      maxAge: 7d'                  | '      max_age: 7d'           | 'line 27: storage.tiers[0].max_age = 7d: unknown field; allowed fields of storage.tiers[0] are name, kind, path'
      unknown chunking      | '  chunking: {kind: cdc, min: 16KiB, avg: 64KiB, max: 256KiB, align: 4}' | '  chunking: {kind: cdc, average: 64KiB}' | 'storage.chunking.average = 64KiB: unknown field; allowed fields of storage.chunking are kind, min, avg, max, align'
      unknown placement     | '  placement: {writeTier: nvme, writeMode: back, promoteOnRead: true}' | '  placement: {tier: nvme}' | 'storage.placement.tier = nvme: unknown field; allowed fields of storage.placement are writeTier, writeMode, promoteOnRead'
      unknown cache field   | '  cache: {prefetch: 8, threads: 0, memory: 256MiB}' | '  cache: {prefetch: 8, size: 1GiB}' | 'storage.cache.size = 1GiB: unknown field; allowed fields of storage.cache are prefetch, threads, memory'
      string for number     | '  accelerators: 64'                | '  accelerators: lots'        | 'line 5: computation.accelerators = lots: must be a whole number >= 0'
      fraction for count    | '  batchSize: 8'                    | '  batchSize: 8.5'            | 'computation.batchSize = 8.5: must be a whole number >= 0'
      list for map          | '  cache: {prefetch: 8, threads: 0, memory: 256MiB}' | '  cache: [8, 0]' | 'storage.cache = [a list]: must be a map with prefetch, threads, memory'
      string for boolean    | '  consistency: {fsync: true}'      | '  consistency: {fsync: maybe}'| 'storage.consistency.fsync = maybe: must be true or false'
      unknown stage         | '    - test-identity'               | '    - zstandard'             | 'line 19: storage.stages[2] = zstandard: unknown stage; known stages are '
      unknown stage param   | '    - test-lossy: {bits: 8}'       | '    - test-lossy: {bit: 8}'  | 'line 18: storage.stages[1].test-lossy.bit = 8: unknown parameter of stage test-lossy; allowed are bits'
      stage as list         | '    - test-identity'               | '    - [a, b]'                | 'storage.stages[2] = [a list]: must be a stage name or a map with one key'
      unknown tier kind     | '      kind: local'                 | '      kind: tape'            | 'line 22: storage.tiers[0].kind = tape: allowed are local, memory, s3'
      negative capacity     | '      capacity: 2TiB'              | '      capacity: -5GiB'       | 'line 24: storage.tiers[0].capacity = -5GiB: must be >= 0 (0 = unbounded)'
      bad size syntax       | '      capacity: 2TiB'              | '      capacity: 2 terabytes' | 'storage.tiers[0].capacity = 2 terabytes: use a number of bytes or a number with a unit'
      bad duration syntax   | '      maxAge: 7d'                  | '      maxAge: a week'        | 'line 27: storage.tiers[0].maxAge = a week: use a number with a unit ns, us, ms, s, m, h, d'
      bad step time         | '  stepTime: 850ms'                 | '  stepTime: 850'             | 'computation.stepTime = 850: use a number with a unit'
      watermark above 1     | '      highWatermark: 0.9'          | '      highWatermark: 1.5'    | 'storage.tiers[0].highWatermark = 1.5: must be a fraction above 0 and at most 1'
      low above high        | '      lowWatermark: 0.7'           | '      lowWatermark: 0.95'    | 'storage.tiers[0].lowWatermark = 0.95: must be below highWatermark (0.9)'
      writeTier no tier     | '  placement: {writeTier: nvme, writeMode: back, promoteOnRead: true}' | '  placement: {writeTier: ssd}' | 'storage.placement.writeTier = ssd: must name a tier; allowed are nvme, archive'
      bad write mode        | '  placement: {writeTier: nvme, writeMode: back, promoteOnRead: true}' | '  placement: {writeTier: nvme, writeMode: around}' | 'storage.placement.writeMode = around: allowed are back, through'
      duplicate tier name   | '    - name: archive'               | '    - name: nvme'            | 'line 30: storage.tiers[1].name = nvme: tier names must be unique; already used by storage.tiers[0]'
      bad model kind        | '  modelKind: llm'                  | '  modelKind: gan'            | 'computation.modelKind = gan: allowed are llm, other, recommendation, speech, vision'
      avg not power of two  | '  chunking: {kind: cdc, min: 16KiB, avg: 64KiB, max: 256KiB, align: 4}' | '  chunking: {avg: 60KiB}' | 'storage.chunking.avg = 60KiB: must be a power of two from 64 B to 64 MiB'
      align out of range    | '  chunking: {kind: cdc, min: 16KiB, avg: 64KiB, max: 256KiB, align: 4}' | '  chunking: {align: 100}' | 'storage.chunking.align = 100: must be from 1 to 64'
      prefetch too large    | '  cache: {prefetch: 8, threads: 0, memory: 256MiB}' | '  cache: {prefetch: 5000}' | 'storage.cache.prefetch = 5000: must be from 0 to 4096'
      bad pipeline name     | 'name: llm-checkpoints'             | 'name: llm checkpoints!'      | 'line 1: name: Invalid pipeline name ''llm checkpoints!'': use 1-128 letters'
      bad tier name         | '    - name: archive'               | '    - name: arch/ive'        | 'storage.tiers[1]: Invalid tier name ''arch/ive'''
      invalid yaml          | '  batchSize: 8'                    | '  batchSize: [8'             | 'invalid YAML: '
      duplicate key         | '  epochs: 1'                       | '  epochs: 1\n  epochs: 2'    | 'invalid YAML: Duplicate field ''epochs'''
      """)
  void rejectsWithFileFieldValueAndAllowed(String title, String line, String replacement, String expected) {
    assertTrue(FULL.contains(line + "\n"), "test setup: line not found: " + line);
    String yaml = FULL.replace(line + "\n", replacement.replace("\\n", "\n") + "\n");
    InvalidDescriptorException e =
        assertThrows(InvalidDescriptorException.class, () -> Descriptors.parse(yaml, "examples/bad.yaml"), title);
    assertTrue(e.getMessage().startsWith("Invalid descriptor examples/bad.yaml"), e.getMessage());
    assertTrue(e.getMessage().contains(expected), title + ": expected to contain\n  " + expected + "\nbut was\n  " + e.getMessage());
  }

  @Test
  void rejectsEmptyAndNonMapDocuments() {
    InvalidDescriptorException empty = assertThrows(InvalidDescriptorException.class, () -> Descriptors.parse("", "e.yaml"));
    assertTrue(empty.getMessage().contains("e.yaml: the document is empty"), empty.getMessage());
    InvalidDescriptorException list = assertThrows(InvalidDescriptorException.class, () -> Descriptors.parse("- a\n", "l.yaml"));
    assertTrue(list.getMessage().contains("(document) = [a list]: must be a map with name"), list.getMessage());
    InvalidDescriptorException map = assertThrows(InvalidDescriptorException.class,
        () -> Descriptors.parse("name: m\nstorage:\n  stages: {zstd: 3}\n", "m.yaml"));
    assertTrue(map.getMessage().contains("m.yaml, line 3: storage.stages = {a map}: must be a list of stages"), map.getMessage());
    InvalidDescriptorException noName =
        assertThrows(InvalidDescriptorException.class, () -> Descriptors.parse("description: x\n", "n.yaml"));
    assertTrue(noName.getMessage().contains("name: must be present"), noName.getMessage());
  }

  @Test
  void loadsFilesAndComputationDocuments(@TempDir Path dir) throws Exception {
    Path full = dir.resolve("full.yaml");
    Files.writeString(full, FULL);
    PipelineDescriptor d = Descriptors.load(full);
    assertEquals(d.computation().orElseThrow(), Descriptors.loadComputation(full));

    Path bare = dir.resolve("plan.yaml");
    Files.writeString(bare, "name: plan\ncomputation:\n  accelerators: 1000\n  stepTime: 10ms\n  batchSize: 32\n  sampleBytes: 115KB\n");
    ComputationDescriptor c = Descriptors.loadComputation(bare);
    assertEquals(1000, c.accelerators());
    assertEquals(115_000, c.sampleBytes());
    assertEquals(c, Descriptors.parseComputation(Descriptors.toYaml(c), "written"));

    Path noComputation = dir.resolve("nc.yaml");
    Files.writeString(noComputation, "name: x\nstorage: {}\n");
    InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> Descriptors.loadComputation(noComputation));
    assertTrue(e.getMessage().contains("computation: must be present"), e.getMessage());

    Path typo = dir.resolve("typo.yaml");
    Files.writeString(typo, "computation:\n  acelerators: 8\n");
    e = assertThrows(InvalidDescriptorException.class, () -> Descriptors.loadComputation(typo));
    assertTrue(e.getMessage().contains(typo + ", line 2: computation.acelerators = 8: unknown field"), e.getMessage());

    assertThrows(NotFoundException.class, () -> Descriptors.load(dir.resolve("missing.yaml")));
  }

  @Test
  void acceptsCountAndPercentShorthands() {
    PipelineDescriptor d = Descriptors.parse("""
        name: shorthand
        computation: {parameters: 175B, accelerators: '1K', checkpointInterval: PT30M}
        storage:
          tiers:
            - {name: m, kind: memory, capacity: 1.5GiB, highWatermark: 95%, lowWatermark: 80%}
          stages:
            - test-identity@1: {level: 3}
        """, "s.yaml");
    assertEquals(175_000_000_000L, d.computation().orElseThrow().parameters());
    assertEquals(1000, d.computation().orElseThrow().accelerators());
    assertEquals(Duration.ofMinutes(30), d.computation().orElseThrow().checkpointInterval());
    assertEquals(0.95, d.storage().tiers().get(0).highWatermark(), 1e-12);
    assertEquals(1_610_612_736L, d.storage().tiers().get(0).capacityBytes());
    assertEquals(new StageSpec("test-identity", 1, Map.of("level", "3")), d.storage().stages().get(0));
  }

  @Test
  void buildersAllowEachSettingOnce() {
    assertThrows(IllegalStateException.class, () -> PipelineDescriptor.builder("p").description("a").description("b"));
    assertThrows(IllegalStateException.class, () -> StorageDescriptor.builder().cache(CacheSpec.DEFAULT).cache(CacheSpec.DEFAULT));
    assertThrows(IllegalStateException.class, () -> ComputationDescriptor.builder().accelerators(1).accelerators(2));
    assertThrows(IllegalStateException.class, () -> TierSpec.builder("t", "local").capacity(1).capacity(2));
    assertThrows(IllegalStateException.class, () -> TierSpec.builder("t", "local").option("a", "1").option("a", "2"));
    assertThrows(InvalidDescriptorException.class, () -> TierSpec.builder("t", "tape").build());
    PipelineDescriptor built = PipelineDescriptor.builder("llm-checkpoints")
        .description("Checkpoints of a 7B LLM pre-training run")
        .computation(Descriptors.parse(FULL, "f").computation().orElseThrow())
        .storage(StorageDescriptor.builder()
            .chunking(new ChunkingSpec("cdc", 16384, 65536, 262144, 4))
            .stage("test-identity", Map.of("width", "4"))
            .stage("test-lossy", Map.of("bits", "8"))
            .stage(StageSpec.of("test-identity"))
            .tier(TierSpec.builder("nvme", "local").location("tiers/nvme").capacity(2L << 40).watermarks(0.9, 0.7)
                .maxAge(Duration.ofDays(7)).priceClass("local-nvme").option("endpoint", "http://127.0.0.1:9000").build())
            .tier(TierSpec.builder("archive", "local").location("tiers/archive").build())
            .placement(new PlacementPolicy("nvme", "back", true))
            .build())
        .build();
    assertEquals(Descriptors.parse(FULL, "full.yaml"), built);
  }
}
