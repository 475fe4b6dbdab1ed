package io.dharmana.descriptor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.stage.StageSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Loads descriptors from YAML and writes them back.
 *
 * <p>Loading validates everything: an unknown field, a value of the wrong type, an unknown stage,
 * stage parameter or tier kind, a negative size, a bad size or duration, a write tier naming no
 * tier, a tier name used twice and malformed YAML each throw {@link InvalidDescriptorException}
 * whose message names the file, the line (when known), the field path such as {@code
 * storage.tiers[1].capacity}, the offending value and what is allowed. Stage names and parameters
 * are checked against {@link io.dharmana.stage.Stages}; a build with no stage registered at all
 * cannot check them and accepts any name.
 *
 * <p>{@link #toYaml} writes every setting explicitly, and {@code parse(toYaml(d), source)} must
 * equal {@code d}.
 */
public final class Descriptors {
  static final ObjectMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
          .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
          .build())
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .build();
  private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Descriptors() {}

  /**
   * Loads and validates the pipeline descriptor in {@code file}.
   *
   * @throws NotFoundException when the file does not exist
   * @throws InvalidDescriptorException naming the file, field, value and what is allowed
   */
  public static PipelineDescriptor load(Path file) {
    return parse(read(file), file.toString());
  }

  /**
   * Parses and validates a pipeline descriptor; {@code sourceName} (usually the file name) is
   * named in error messages.
   */
  public static PipelineDescriptor parse(String yaml, String sourceName) {
    return new DescriptorReader(yaml, sourceName).pipeline();
  }

  /**
   * Loads the computation block of {@code file}, which is either a full pipeline descriptor (that
   * must have a {@code computation:} block) or a document holding only {@code computation:} and
   * optionally {@code name:} and {@code description:}. This is what {@code dharmana plan} reads.
   */
  public static ComputationDescriptor loadComputation(Path file) {
    return parseComputation(read(file), file.toString());
  }

  /** Like {@link #loadComputation} for text already in memory. */
  public static ComputationDescriptor parseComputation(String yaml, String sourceName) {
    return new DescriptorReader(yaml, sourceName).computationDocument();
  }

  /** The descriptor as YAML in the format {@link #parse} reads, every setting written out. */
  public static String toYaml(PipelineDescriptor descriptor) {
    return write(YAML, tree(descriptor, true));
  }

  /**
   * The descriptor as JSON with the same fields; sizes are numbers of bytes and durations ISO-8601
   * strings, so that programs need no unit parsing. {@link #parse} reads it back too (JSON is YAML).
   */
  public static String toJson(PipelineDescriptor descriptor) {
    return write(JSON, tree(descriptor, false));
  }

  /** The computation block alone as YAML ({@code computation:} at the top). */
  public static String toYaml(ComputationDescriptor computation) {
    ObjectNode root = NODES.objectNode();
    root.set("computation", computation(computation, true));
    return write(YAML, root);
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot load descriptor " + file + ": no such file");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot load descriptor " + file + ": " + e.getMessage(), e);
    }
  }

  private static String write(ObjectMapper mapper, ObjectNode tree) {
    try {
      return mapper.writeValueAsString(tree);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot write descriptor: " + e.getMessage(), e);
    }
  }

  private static ObjectNode tree(PipelineDescriptor d, boolean human) {
    ObjectNode root = NODES.objectNode();
    root.put("name", d.name());
    if (!d.description().isEmpty()) {
      root.put("description", d.description());
    }
    d.computation().ifPresent(c -> root.set("computation", computation(c, human)));
    root.set("storage", storage(d.storage(), human));
    return root;
  }

  private static ObjectNode computation(ComputationDescriptor c, boolean human) {
    ObjectNode n = NODES.objectNode();
    n.put("modelKind", c.modelKind());
    putCount(n, "accelerators", c.accelerators());
    putDuration(n, "stepTime", c.stepTime(), human);
    putCount(n, "batchSize", c.batchSize());
    putSize(n, "sampleBytes", c.sampleBytes(), human);
    putSize(n, "datasetBytes", c.datasetBytes(), human);
    putCount(n, "epochs", c.epochs());
    putCount(n, "parameters", c.parameters());
    putSize(n, "checkpointBytes", c.checkpointBytes(), human);
    putDuration(n, "checkpointInterval", c.checkpointInterval(), human);
    return n;
  }

  private static ObjectNode storage(StorageDescriptor s, boolean human) {
    ObjectNode n = NODES.objectNode();
    ObjectNode chunking = n.putObject("chunking");
    chunking.put("kind", s.chunking().kind());
    putSize(chunking, "min", s.chunking().minSize(), human);
    putSize(chunking, "avg", s.chunking().avgSize(), human);
    putSize(chunking, "max", s.chunking().maxSize(), human);
    chunking.put("align", s.chunking().align());
    ArrayNode stages = n.putArray("stages");
    for (StageSpec stage : s.stages()) {
      String name = stage.version() == 0 ? stage.name() : stage.name() + "@" + stage.version();
      if (stage.params().isEmpty()) {
        stages.add(name);
      } else {
        ObjectNode params = stages.addObject().putObject(name);
        stage.params().forEach(params::put);
      }
    }
    ArrayNode tiers = n.putArray("tiers");
    for (TierSpec tier : s.tiers()) {
      ObjectNode t = tiers.addObject();
      t.put("name", tier.name());
      t.put("kind", tier.kind());
      if (tier.location() != null) {
        t.put(tier.kind().equals("local") ? "path" : "location", tier.location());
      }
      putSize(t, "capacity", tier.capacityBytes(), human);
      t.put("highWatermark", tier.highWatermark());
      t.put("lowWatermark", tier.lowWatermark());
      if (tier.maxAge() != null) {
        putDuration(t, "maxAge", tier.maxAge(), human);
      }
      if (tier.priceClass() != null) {
        t.put("priceClass", tier.priceClass());
      }
      if (!tier.options().isEmpty()) {
        ObjectNode options = t.putObject("options");
        new java.util.TreeMap<>(tier.options()).forEach(options::put);
      }
    }
    ObjectNode placement = n.putObject("placement");
    placement.put("writeTier", s.placement().writeTier());
    placement.put("writeMode", s.placement().writeMode());
    placement.put("promoteOnRead", s.placement().promoteOnRead());
    ObjectNode cache = n.putObject("cache");
    cache.put("prefetch", s.cache().prefetch());
    cache.put("threads", s.cache().threads());
    putSize(cache, "memory", s.cache().memoryBytes(), human);
    n.putObject("consistency").put("fsync", s.consistency().fsync());
    return n;
  }

  private static void putCount(ObjectNode n, String field, long value) {
    if (value != 0) {
      n.put(field, value);
    }
  }

  private static void putSize(ObjectNode n, String field, long bytes, boolean human) {
    if (human) {
      n.put(field, ByteSize.toText(bytes));
    } else {
      n.put(field, bytes);
    }
  }

  private static void putDuration(ObjectNode n, String field, Duration d, boolean human) {
    if (!d.isZero()) {
      n.put(field, human ? Durations.format(d) : d.toString());
    }
  }
}
