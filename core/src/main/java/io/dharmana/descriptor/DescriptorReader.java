package io.dharmana.descriptor;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Maps a YAML tree onto the descriptor records by hand, so that every error names the source, the
 * line, the field path ({@code storage.tiers[1].capacity}), the offending value and what is
 * allowed. Records validate themselves too; their messages are wrapped with the same context.
 */
final class DescriptorReader {
  static final List<String> PIPELINE_FIELDS = List.of("name", "description", "computation", "storage");
  static final List<String> COMPUTATION_FIELDS = List.of(
      "modelKind", "accelerators", "stepTime", "batchSize", "sampleBytes", "datasetBytes", "epochs",
      "parameters", "checkpointBytes", "checkpointInterval");
  static final List<String> STORAGE_FIELDS = List.of("chunking", "stages", "tiers", "placement", "cache", "consistency");
  static final List<String> CHUNKING_FIELDS = List.of("kind", "min", "avg", "max", "align");
  static final List<String> TIER_FIELDS = List.of(
      "name", "kind", "path", "location", "capacity", "highWatermark", "lowWatermark", "maxAge", "priceClass", "options");
  static final List<String> PLACEMENT_FIELDS = List.of("writeTier", "writeMode", "promoteOnRead");
  static final List<String> CACHE_FIELDS = List.of("prefetch", "threads", "memory");
  static final List<String> CONSISTENCY_FIELDS = List.of("fsync");

  private final String yaml;
  private final String source;

  DescriptorReader(String yaml, String source) {
    this.yaml = yaml;
    this.source = source;
  }

  /** A node of the document with its path, as written in messages and as a JSON pointer for line lookup. */
  private record Field(String path, JsonPointer pointer, JsonNode node) {
    Field child(String name) {
      return new Field(path.isEmpty() ? name : path + "." + name, pointer.appendProperty(name), node.path(name));
    }

    Field element(int index) {
      return new Field(path + "[" + index + "]", pointer.appendIndex(index), node.path(index));
    }

    boolean present() {
      return !node.isMissingNode() && !node.isNull();
    }
  }

  // ---- documents ----

  PipelineDescriptor pipeline() {
    Field root = root();
    requireFields(root, PIPELINE_FIELDS);
    String name = requiredText(root.child("name"), "a pipeline name (letters, digits, '.', '_', '-')");
    String description = optionalText(root.child("description"), null);
    Field computationField = root.child("computation");
    Optional<ComputationDescriptor> computation =
        computationField.present() ? Optional.of(computation(computationField)) : Optional.empty();
    StorageDescriptor storage = storage(root.child("storage"));
    return construct(root.child("name"), () -> new PipelineDescriptor(name, description, computation, storage));
  }

  /** A pipeline file's computation, or a document holding only a computation block (with an optional name and description). */
  ComputationDescriptor computationDocument() {
    Field root = root();
    if (root.node().has("storage")) {
      PipelineDescriptor pipeline = pipeline();
      return pipeline.computation().orElseThrow(() -> fail(root.child("computation"), "must be present: this file has no computation block"));
    }
    requireFields(root, List.of("name", "description", "computation"));
    optionalText(root.child("name"), null);
    optionalText(root.child("description"), null);
    Field computation = root.child("computation");
    if (!computation.present()) {
      throw fail(computation, "must be present: a map with " + String.join(", ", COMPUTATION_FIELDS));
    }
    return computation(computation);
  }

  private Field root() {
    JsonNode tree;
    try {
      tree = Descriptors.YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      int line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
      String detail = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage().lines().findFirst().orElse("");
      throw new InvalidDescriptorException(prefix(line) + "invalid YAML: " + detail, e);
    }
    Field root = new Field("", JsonPointer.empty(), tree == null ? MissingNode.getInstance() : tree);
    if (!root.present()) {
      throw new InvalidDescriptorException(prefix(-1) + "the document is empty; expected a map with " + String.join(", ", PIPELINE_FIELDS));
    }
    requireMap(root, "a map with " + String.join(", ", PIPELINE_FIELDS));
    return root;
  }

  // ---- blocks ----

  ComputationDescriptor computation(Field f) {
    requireMap(f, "a map with " + String.join(", ", COMPUTATION_FIELDS));
    requireFields(f, COMPUTATION_FIELDS);
    String modelKind = optionalChoice(f.child("modelKind"), ComputationDescriptor.MODEL_KINDS, "other");
    int accelerators = (int) count(f.child("accelerators"), 0, 0, Integer.MAX_VALUE);
    Duration stepTime = duration(f.child("stepTime"), Duration.ZERO);
    int batchSize = (int) count(f.child("batchSize"), 0, 0, Integer.MAX_VALUE);
    long sampleBytes = size(f.child("sampleBytes"), 0, "must be >= 0");
    long datasetBytes = size(f.child("datasetBytes"), 0, "must be >= 0");
    int epochs = (int) count(f.child("epochs"), 0, 0, Integer.MAX_VALUE);
    long parameters = count(f.child("parameters"), 0, 0, Long.MAX_VALUE);
    long checkpointBytes = size(f.child("checkpointBytes"), 0, "must be >= 0");
    Duration checkpointInterval = duration(f.child("checkpointInterval"), Duration.ZERO);
    return construct(f, () -> new ComputationDescriptor(modelKind, accelerators, stepTime, batchSize, sampleBytes,
        datasetBytes, epochs, parameters, checkpointBytes, checkpointInterval));
  }

  StorageDescriptor storage(Field f) {
    if (!f.present()) {
      return StorageDescriptor.of(List.of());
    }
    requireMap(f, "a map with " + String.join(", ", STORAGE_FIELDS));
    requireFields(f, STORAGE_FIELDS);
    ChunkingSpec chunking = chunking(f.child("chunking"));
    List<StageSpec> stages = stages(f.child("stages"));
    List<TierSpec> tiers = tiers(f.child("tiers"));
    PlacementPolicy placement = placement(f.child("placement"), tiers);
    CacheSpec cache = cache(f.child("cache"));
    ConsistencySpec consistency = null;
    Field c = f.child("consistency");
    if (c.present()) {
      requireMap(c, "a map with " + String.join(", ", CONSISTENCY_FIELDS));
      requireFields(c, CONSISTENCY_FIELDS);
      consistency = new ConsistencySpec(bool(c.child("fsync"), ConsistencySpec.DEFAULT.fsync()));
    }
    ConsistencySpec consistencySpec = consistency;
    return construct(f, () -> new StorageDescriptor(chunking, stages, tiers, placement, cache, consistencySpec));
  }

  private ChunkingSpec chunking(Field f) {
    if (!f.present()) {
      return null;
    }
    requireMap(f, "a map with " + String.join(", ", CHUNKING_FIELDS));
    requireFields(f, CHUNKING_FIELDS);
    ChunkingSpec d = ChunkingSpec.DEFAULT;
    String kind = optionalChoice(f.child("kind"), Set.of("cdc", "fixed"), "cdc");
    int avg = (int) size(f.child("avg"), d.avgSize(), 64, 64L << 20, "must be a power of two from 64 B to 64 MiB");
    if (Integer.bitCount(avg) != 1) {
      throw fail(f.child("avg"), "must be a power of two from 64 B to 64 MiB");
    }
    int min = (int) size(f.child("min"), Math.min(d.minSize(), avg), 64, avg, "must be from 64 B to avg (" + ByteSize.format(avg) + ")");
    int max = (int) size(f.child("max"), Math.max(d.maxSize(), avg), avg, 64L << 20, "must be from avg (" + ByteSize.format(avg) + ") to 64 MiB");
    int align = (int) count(f.child("align"), d.align(), 1, 64);
    return construct(f, () -> new ChunkingSpec(kind, min, avg, max, align));
  }

  private List<StageSpec> stages(Field f) {
    if (!f.present()) {
      return List.of();
    }
    requireList(f, "a list of stages, each a name or a map {name: {param: value}}");
    List<StageSpec> stages = new ArrayList<>();
    for (int i = 0; i < f.node().size(); i++) {
      stages.add(stage(f.element(i)));
    }
    return stages;
  }

  private StageSpec stage(Field f) {
    String written;
    Field paramsField = null;
    if (f.node().isTextual()) {
      written = f.node().asText();
    } else if (f.node().isObject() && f.node().size() == 1) {
      written = f.node().fieldNames().next();
      paramsField = f.child(written);
    } else {
      throw fail(f, "must be a stage name or a map with one key, the stage name, e.g. {zstd: {level: 3}}");
    }
    // "zstd@2" pins a format version; without it the stage's current version is used.
    String name = written;
    int version = 0;
    int at = written.indexOf('@');
    if (at >= 0) {
      name = written.substring(0, at);
      try {
        version = Integer.parseInt(written.substring(at + 1));
      } catch (NumberFormatException e) {
        version = -1;
      }
      if (version < 1) {
        throw fail(f, written, "the version after '@' must be a positive integer, e.g. zstd@1");
      }
    }
    StageFactory factory = null;
    if (Stages.exists(name)) {
      factory = Stages.factory(name);
    } else if (!Stages.names().isEmpty()) {
      // With no stage registered at all (a build without the built-in stages) names cannot be checked.
      throw fail(f, name, "unknown stage; known stages are " + String.join(", ", Stages.names()));
    }
    Map<String, String> params = new LinkedHashMap<>();
    if (paramsField != null && paramsField.present()) {
      requireMap(paramsField, "a map of parameter names to values");
      for (Map.Entry<String, JsonNode> e : paramsField.node().properties()) {
        Field param = paramsField.child(e.getKey());
        if (factory != null && !factory.parameterNames().contains(e.getKey())) {
          throw fail(param, "unknown parameter of stage " + name + "; allowed are "
              + (factory.parameterNames().isEmpty() ? "none" : String.join(", ", new TreeSet<>(factory.parameterNames()))));
        }
        if (!e.getValue().isValueNode() || e.getValue().isNull()) {
          throw fail(param, "must be a single value (a string, number or boolean)");
        }
        params.put(e.getKey(), e.getValue().asText());
      }
    }
    String stageName = name;
    int stageVersion = version;
    return construct(f, () -> new StageSpec(stageName, stageVersion, params));
  }

  private List<TierSpec> tiers(Field f) {
    if (!f.present()) {
      return List.of();
    }
    requireList(f, "a list of tiers, each a map with " + String.join(", ", TIER_FIELDS));
    List<TierSpec> tiers = new ArrayList<>();
    Map<String, Integer> seen = new LinkedHashMap<>();
    for (int i = 0; i < f.node().size(); i++) {
      Field t = f.element(i);
      TierSpec tier = tier(t);
      Integer previous = seen.putIfAbsent(tier.name(), i);
      if (previous != null) {
        throw fail(t.child("name"), "tier names must be unique; already used by " + f.path() + "[" + previous + "]");
      }
      tiers.add(tier);
    }
    return tiers;
  }

  private TierSpec tier(Field f) {
    requireMap(f, "a map with " + String.join(", ", TIER_FIELDS));
    requireFields(f, TIER_FIELDS);
    String name = requiredText(f.child("name"), "a tier name (1-64 letters, digits, '_', '-')");
    Field kindField = f.child("kind");
    if (!kindField.present()) {
      throw fail(kindField, "must be present; allowed are " + new TreeSet<>(TierSpec.KINDS));
    }
    String kind = optionalChoice(kindField, TierSpec.KINDS, null);
    if (f.child("path").present() && f.child("location").present()) {
      throw fail(f.child("location"), "give either path or location, not both");
    }
    String location = optionalText(f.child("path"), optionalText(f.child("location"), null));
    long capacity = size(f.child("capacity"), 0, "must be >= 0 (0 = unbounded)");
    double high = fraction(f.child("highWatermark"), 0.9, false);
    // Default low watermark: 0.7, scaled down with a high watermark below the usual 0.9.
    double low = fraction(f.child("lowWatermark"), high >= 0.9 ? 0.7 : high * 0.7 / 0.9, true);
    if (low >= high) {
      throw fail(f.child("lowWatermark"), "must be below highWatermark (" + high + ")");
    }
    Duration maxAge = duration(f.child("maxAge"), null);
    if (maxAge != null && maxAge.isZero()) {
      throw fail(f.child("maxAge"), "must be positive; leave it out for no age rule");
    }
    String priceClass = optionalText(f.child("priceClass"), null);
    Map<String, String> options = new LinkedHashMap<>();
    Field o = f.child("options");
    if (o.present()) {
      requireMap(o, "a map of option names to values");
      for (Map.Entry<String, JsonNode> e : o.node().properties()) {
        if (!e.getValue().isValueNode() || e.getValue().isNull()) {
          throw fail(o.child(e.getKey()), "must be a single value (a string, number or boolean)");
        }
        options.put(e.getKey(), e.getValue().asText());
      }
    }
    return construct(f, () -> new TierSpec(name, kind, location, capacity, high, low, maxAge, priceClass, options));
  }

  private PlacementPolicy placement(Field f, List<TierSpec> tiers) {
    if (!f.present()) {
      return null;
    }
    requireMap(f, "a map with " + String.join(", ", PLACEMENT_FIELDS));
    requireFields(f, PLACEMENT_FIELDS);
    Set<String> names = new LinkedHashSet<>();
    tiers.forEach(t -> names.add(t.name()));
    if (names.isEmpty()) {
      names.add("local"); // the default tier of a storage block without tiers
    }
    Field w = f.child("writeTier");
    String writeTier = w.present() ? optionalText(w, null) : names.iterator().next();
    if (!names.contains(writeTier)) {
      throw fail(w, "must name a tier; allowed are " + String.join(", ", names));
    }
    String writeMode = optionalChoice(f.child("writeMode"), Set.of("back", "through"), "back");
    boolean promote = bool(f.child("promoteOnRead"), true);
    return construct(f, () -> new PlacementPolicy(writeTier, writeMode, promote));
  }

  private CacheSpec cache(Field f) {
    if (!f.present()) {
      return null;
    }
    requireMap(f, "a map with " + String.join(", ", CACHE_FIELDS));
    requireFields(f, CACHE_FIELDS);
    CacheSpec d = CacheSpec.DEFAULT;
    int prefetch = (int) count(f.child("prefetch"), d.prefetch(), 0, 4096);
    int threads = (int) count(f.child("threads"), d.threads(), 0, 1024);
    long memory = size(f.child("memory"), d.memoryBytes(), "must be >= 0");
    return construct(f, () -> new CacheSpec(prefetch, threads, memory));
  }

  // ---- scalars ----

  private void requireMap(Field f, String allowed) {
    if (!f.node().isObject()) {
      throw fail(f, "must be " + allowed);
    }
  }

  private void requireList(Field f, String allowed) {
    if (!f.node().isArray()) {
      throw fail(f, "must be " + allowed);
    }
  }

  private void requireFields(Field f, List<String> allowed) {
    for (Iterator<String> it = f.node().fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!allowed.contains(name)) {
        throw fail(f.child(name), "unknown field; allowed fields " + (f.path().isEmpty() ? "at the top" : "of " + f.path())
            + " are " + String.join(", ", allowed));
      }
    }
  }

  private String requiredText(Field f, String allowed) {
    if (!f.present()) {
      throw fail(f, "must be present: " + allowed);
    }
    return optionalText(f, null);
  }

  private String optionalText(Field f, String defaultValue) {
    if (!f.present()) {
      return defaultValue;
    }
    if (!f.node().isValueNode()) {
      throw fail(f, "must be a string");
    }
    return f.node().asText();
  }

  private String optionalChoice(Field f, Set<String> allowed, String defaultValue) {
    String value = optionalText(f, defaultValue);
    if (value != null && !allowed.contains(value)) {
      throw fail(f, "allowed are " + String.join(", ", new TreeSet<>(allowed)));
    }
    return value;
  }

  private boolean bool(Field f, boolean defaultValue) {
    if (!f.present()) {
      return defaultValue;
    }
    JsonNode n = f.node();
    if (n.isBoolean()) {
      return n.booleanValue();
    }
    if (n.isTextual() && (n.asText().equalsIgnoreCase("true") || n.asText().equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(n.asText());
    }
    throw fail(f, "must be true or false");
  }

  /** A whole number, optionally with a decimal suffix K, M, B (or G), T: {@code 7B} and {@code 7e9} are seven billion. */
  private long count(Field f, long defaultValue, long min, long max) {
    if (!f.present()) {
      return defaultValue;
    }
    String range = max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? ">= " + min : "from " + min + " to " + max;
    JsonNode n = f.node();
    BigDecimal value = null;
    if (n.isNumber()) {
      value = n.decimalValue();
    } else if (n.isTextual()) {
      value = parseCount(n.asText());
    }
    if (value == null) {
      throw fail(f, "must be a whole number " + range + " (suffixes K, M, B, T allowed, e.g. 7B or 7e9)");
    }
    BigDecimal whole = value.stripTrailingZeros();
    if (whole.scale() > 0) {
      throw fail(f, "must be a whole number " + range);
    }
    if (whole.compareTo(BigDecimal.valueOf(min)) < 0) {
      throw fail(f, "must be " + range);
    }
    if (whole.compareTo(BigDecimal.valueOf(max)) > 0) {
      throw fail(f, max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? "must be at most " + max : "must be " + range);
    }
    return whole.longValueExact();
  }

  private static BigDecimal parseCount(String text) {
    String t = text.strip().replace("_", "");
    long multiplier = 1;
    if (!t.isEmpty()) {
      switch (Character.toUpperCase(t.charAt(t.length() - 1))) {
        case 'K' -> multiplier = 1_000L;
        case 'M' -> multiplier = 1_000_000L;
        case 'B', 'G' -> multiplier = 1_000_000_000L;
        case 'T' -> multiplier = 1_000_000_000_000L;
        default -> multiplier = 1;
      }
      if (multiplier != 1) {
        t = t.substring(0, t.length() - 1).strip();
      }
    }
    try {
      return new BigDecimal(t).multiply(BigDecimal.valueOf(multiplier));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private long size(Field f, long defaultValue, String rule) {
    return size(f, defaultValue, 0, Long.MAX_VALUE, rule);
  }

  private long size(Field f, long defaultValue, long min, long max, String rule) {
    if (!f.present()) {
      return defaultValue;
    }
    JsonNode n = f.node();
    long bytes;
    if (n.isIntegralNumber() && n.canConvertToLong()) {
      bytes = n.longValue();
    } else if (n.isTextual() || n.isNumber()) {
      String text = n.asText();
      if (text.strip().startsWith("-")) {
        throw fail(f, rule);
      }
      try {
        bytes = ByteSize.parse(text);
      } catch (InvalidDescriptorException e) {
        throw fail(f, reason(e));
      }
    } else {
      throw fail(f, "must be a size: " + ByteSize.SYNTAX);
    }
    if (bytes < min || bytes > max) {
      throw fail(f, rule);
    }
    return bytes;
  }

  private Duration duration(Field f, Duration defaultValue) {
    if (!f.present()) {
      return defaultValue;
    }
    JsonNode n = f.node();
    if (!n.isValueNode()) {
      throw fail(f, "must be a duration: " + Durations.SYNTAX);
    }
    if (n.isNumber() && n.asDouble() == 0) {
      return Duration.ZERO;
    }
    if (n.asText().strip().startsWith("-")) {
      throw fail(f, "must be >= 0");
    }
    try {
      return Durations.parse(n.asText());
    } catch (InvalidDescriptorException e) {
      throw fail(f, reason(e));
    }
  }

  /** A fraction of capacity; also written as a percentage ({@code 90%}). */
  private double fraction(Field f, double defaultValue, boolean zeroAllowed) {
    if (!f.present()) {
      return defaultValue;
    }
    JsonNode n = f.node();
    Double value = null;
    if (n.isNumber()) {
      value = n.doubleValue();
    } else if (n.isTextual()) {
      String t = n.asText().strip();
      try {
        value = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1).strip()) / 100 : Double.parseDouble(t);
      } catch (NumberFormatException e) {
        value = null;
      }
    }
    String range = zeroAllowed ? "a fraction from 0 to 1 (or a percentage, e.g. 70%)" : "a fraction above 0 and at most 1 (or a percentage, e.g. 90%)";
    if (value == null || value.isNaN() || value > 1 || value < 0 || (!zeroAllowed && value == 0)) {
      throw fail(f, "must be " + range);
    }
    return value;
  }

  // ---- errors ----

  /** What a value parser said is wrong, without its own "Invalid size 'x': " prefix (the path and value are added here). */
  private static String reason(InvalidDescriptorException e) {
    String message = e.getMessage();
    int cut = message.indexOf("': ");
    return cut >= 0 ? message.substring(cut + 3) : message;
  }

  /** Runs a record's constructor, adding this file's context to its own validation message. */
  private <T> T construct(Field f, java.util.function.Supplier<T> constructor) {
    try {
      return constructor.get();
    } catch (InvalidDescriptorException e) {
      InvalidDescriptorException wrapped = new InvalidDescriptorException(
          prefix(lineOf(f.pointer())) + (f.path().isEmpty() ? "" : f.path() + ": ") + e.getMessage(), e);
      throw wrapped;
    }
  }

  private InvalidDescriptorException fail(Field f, String problem) {
    return fail(f, f.present() ? render(f.node()) : null, problem);
  }

  private InvalidDescriptorException fail(Field f, String value, String problem) {
    int line = lineOf(f.pointer());
    if (line < 0 && f.pointer().length() > 0) {
      line = lineOf(f.pointer().head()); // a missing field: point at its parent
    }
    String path = f.path().isEmpty() ? "(document)" : f.path();
    return new InvalidDescriptorException(prefix(line) + path + (value == null ? "" : " = " + value) + ": " + problem);
  }

  private String prefix(int line) {
    return "Invalid descriptor " + source + (line > 0 ? ", line " + line : "") + ": ";
  }

  private static String render(JsonNode node) {
    if (node.isObject()) {
      return "{a map}";
    }
    if (node.isArray()) {
      return "[a list]";
    }
    String text = node.asText();
    return text.length() > 80 ? text.substring(0, 77) + "..." : text;
  }

  /** The line where the node at {@code target} starts, found by streaming the document again; -1 when unknown. */
  private int lineOf(JsonPointer target) {
    try (JsonParser p = Descriptors.YAML.getFactory().createParser(yaml)) {
      JsonToken token;
      while ((token = p.nextToken()) != null) {
        JsonPointer here = p.getParsingContext().pathAsPointer();
        if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
          // the new container's context has no current entry yet; its own path is its parent's
          here = p.getParsingContext().getParent() == null ? JsonPointer.empty() : p.getParsingContext().getParent().pathAsPointer();
        }
        if (here.equals(target)) {
          return p.currentTokenLocation().getLineNr();
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
