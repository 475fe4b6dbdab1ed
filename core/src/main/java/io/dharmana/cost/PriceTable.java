package io.dharmana.cost;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prices of storage classes by name, and which class a tier of each kind is billed as when its
 * descriptor names none.
 *
 * <p>The built-in table holds public AWS list prices (us-east-1, as of 2025) and stated
 * assumptions for storage one owns; a YAML file can override any class or add new ones:
 *
 * <pre>{@code
 * classes:
 *   s3-standard: {storage: 0.021, put: 0.005, get: 0.0004}     # fields left out keep the built-in value
 *   on-prem-ceph: {storage: 0.012, description: our Ceph cluster, amortized}
 * defaults: {local: local-hdd}                                  # tier kind -> class
 * baseline: s3-standard                                         # the "raw" comparison's class
 * }</pre>
 */
public final class PriceTable {
  private static final String MEMORY_NOTE =
      "assumption: RAM as a share of a memory-optimized cloud instance (r7i: ~$6/GiB-month incl. vCPUs, ~2/3 attributed to RAM)";
  private static final String NVME_NOTE =
      "assumption: data-center NVMe at ~$0.10/GB over 36 months, x3 for server share, power and space at 70% fill, x3 for"
          + " replication ~ $0.03/GB-month";
  private static final String HDD_NOTE =
      "assumption: nearline HDD at ~$0.015/GB over 48 months, x3 for chassis, power and space, x3 for replication"
          + " ~ $0.01/GB-month";

  private static final List<PriceClass> BUILT_IN = List.of(
      PriceClass.storageOnly("memory", MEMORY_NOTE, 4.00),
      PriceClass.storageOnly("local-nvme", NVME_NOTE, 0.03),
      PriceClass.storageOnly("local-hdd", HDD_NOTE, 0.01),
      new PriceClass("s3-standard", "AWS S3 Standard list price", 0.023, 0, 0.005, 0.0004, 0),
      new PriceClass("s3-standard-ia", "AWS S3 Standard-Infrequent Access list price", 0.0125, 0.01, 0.01, 0.001, 30),
      new PriceClass("s3-glacier-ir", "AWS S3 Glacier Instant Retrieval list price", 0.004, 0.03, 0.02, 0.01, 90),
      new PriceClass("s3-deep-archive", "AWS S3 Glacier Deep Archive list price (standard 12 h restore)", 0.00099, 0.02, 0.05, 0.10, 180),
      PriceClass.storageOnly("ebs-gp3", "AWS EBS gp3 list price (3,000 IOPS and 125 MB/s included)", 0.08),
      PriceClass.storageOnly("fsx-lustre", "AWS FSx for Lustre persistent SSD, 125 MB/s per TiB, list price", 0.14));

  private static final Map<String, String> BUILT_IN_DEFAULTS =
      Map.of("memory", "memory", "local", "local-nvme", "s3", "s3-standard");

  private static final PriceTable DEFAULTS = new PriceTable(byName(BUILT_IN), BUILT_IN_DEFAULTS, "s3-standard");

  private final Map<String, PriceClass> classes;
  private final Map<String, String> defaultByKind;
  private final String baseline;

  private PriceTable(Map<String, PriceClass> classes, Map<String, String> defaultByKind, String baseline) {
    this.classes = Map.copyOf(classes);
    this.defaultByKind = Map.copyOf(defaultByKind);
    for (Map.Entry<String, String> e : this.defaultByKind.entrySet()) {
      if (!this.classes.containsKey(e.getValue())) {
        throw new InvalidDescriptorException("Invalid price table: default class '" + e.getValue() + "' of tier kind "
            + e.getKey() + " is not a class; known classes are " + String.join(", ", new java.util.TreeSet<>(this.classes.keySet())));
      }
    }
    if (!this.classes.containsKey(baseline)) {
      throw new InvalidDescriptorException("Invalid price table: baseline '" + baseline + "' is not a class; known classes are "
          + String.join(", ", new java.util.TreeSet<>(this.classes.keySet())));
    }
    this.baseline = baseline;
  }

  private static Map<String, PriceClass> byName(Collection<PriceClass> list) {
    Map<String, PriceClass> map = new LinkedHashMap<>();
    list.forEach(c -> map.put(c.name(), c));
    return map;
  }

  /** The built-in table: public list prices and stated assumptions (see each class's description). */
  public static PriceTable defaults() {
    return DEFAULTS;
  }

  /** The built-in table with {@code file}'s classes, defaults and baseline laid over it. */
  public static PriceTable load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("Cannot load price table " + file + ": no such file");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot load price table " + file + ": " + e.getMessage(), e);
    }
    return parse(text, file.toString());
  }

  /** Like {@link #load} for text in memory; {@code sourceName} is named in error messages. */
  public static PriceTable parse(String yaml, String sourceName) {
    ObjectMapper mapper = new YAMLMapper();
    JsonNode root;
    try {
      root = mapper.readTree(yaml);
    } catch (IOException e) {
      throw new InvalidDescriptorException("Invalid price table " + sourceName + ": invalid YAML: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    }
    Map<String, PriceClass> classes = new LinkedHashMap<>(DEFAULTS.classes);
    Map<String, String> defaults = new LinkedHashMap<>(DEFAULTS.defaultByKind);
    String baseline = DEFAULTS.baseline;
    if (root == null || root.isMissingNode() || root.isNull()) {
      return DEFAULTS;
    }
    String where = "Invalid price table " + sourceName + ": ";
    if (!root.isObject()) {
      throw new InvalidDescriptorException(where + "the document must be a map with classes, defaults, baseline");
    }
    for (Map.Entry<String, JsonNode> top : root.properties()) {
      switch (top.getKey()) {
        case "classes" -> {
          if (!top.getValue().isObject()) {
            throw new InvalidDescriptorException(where + "classes must be a map of class name to {storage, retrieval, put, get, minimumDays, description}");
          }
          for (Map.Entry<String, JsonNode> c : top.getValue().properties()) {
            classes.put(c.getKey(), priceClass(where, c.getKey(), c.getValue(), classes.get(c.getKey())));
          }
        }
        case "defaults" -> {
          if (!top.getValue().isObject()) {
            throw new InvalidDescriptorException(where + "defaults must be a map of tier kind (memory, local, s3) to class name");
          }
          for (Map.Entry<String, JsonNode> d : top.getValue().properties()) {
            if (!io.dharmana.descriptor.TierSpec.KINDS.contains(d.getKey())) {
              throw new InvalidDescriptorException(where + "defaults." + d.getKey() + ": unknown tier kind; allowed are "
                  + new java.util.TreeSet<>(io.dharmana.descriptor.TierSpec.KINDS));
            }
            defaults.put(d.getKey(), d.getValue().asText());
          }
        }
        case "baseline" -> baseline = top.getValue().asText();
        case "currency" -> {
          if (!top.getValue().asText().equals("USD")) {
            throw new InvalidDescriptorException(where + "currency = " + top.getValue().asText() + ": only USD is supported");
          }
        }
        default -> throw new InvalidDescriptorException(
            where + top.getKey() + ": unknown field; allowed fields are classes, defaults, baseline, currency");
      }
    }
    try {
      return new PriceTable(classes, defaults, baseline);
    } catch (InvalidDescriptorException e) {
      throw new InvalidDescriptorException(where + e.getMessage(), e);
    }
  }

  private static final Set<String> CLASS_FIELDS = Set.of("storage", "retrieval", "put", "get", "minimumDays", "description");

  private static PriceClass priceClass(String where, String name, JsonNode node, PriceClass base) {
    String path = "classes." + name;
    if (!node.isObject()) {
      throw new InvalidDescriptorException(where + path + " must be a map with storage, retrieval, put, get, minimumDays, description");
    }
    for (String field : (Iterable<String>) node::fieldNames) {
      if (!CLASS_FIELDS.contains(field)) {
        throw new InvalidDescriptorException(where + path + "." + field
            + ": unknown field; allowed are storage, retrieval, put, get, minimumDays, description");
      }
    }
    if (base == null && !node.has("storage")) {
      throw new InvalidDescriptorException(where + path + ".storage: must be present for a new class (USD per GB-month)");
    }
    try {
      return new PriceClass(name,
          node.has("description") ? node.get("description").asText() : base == null ? "" : base.description(),
          number(where, path + ".storage", node, base == null ? 0 : base.storagePerGbMonth()),
          number(where, path + ".retrieval", node, base == null ? 0 : base.retrievalPerGb()),
          number(where, path + ".put", node, base == null ? 0 : base.putPer1000()),
          number(where, path + ".get", node, base == null ? 0 : base.getPer1000()),
          (int) number(where, path + ".minimumDays", node, base == null ? 0 : base.minimumDays()));
    } catch (InvalidDescriptorException e) {
      if (e.getMessage().startsWith(where)) {
        throw e;
      }
      throw new InvalidDescriptorException(where + path + ": " + e.getMessage(), e);
    }
  }

  private static double number(String where, String path, JsonNode node, double defaultValue) {
    String field = path.substring(path.lastIndexOf('.') + 1);
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return defaultValue;
    }
    double d;
    if (value.isNumber()) {
      d = value.doubleValue();
    } else {
      try {
        d = Double.parseDouble(value.asText().strip().replace("$", ""));
      } catch (NumberFormatException e) {
        throw new InvalidDescriptorException(where + path + " = " + value.asText() + ": must be a number >= 0 (USD)");
      }
    }
    if (!(d >= 0) || Double.isInfinite(d)) {
      throw new InvalidDescriptorException(where + path + " = " + value.asText() + ": must be a number >= 0 (USD)");
    }
    return d;
  }

  /**
   * The class named {@code name}.
   *
   * @throws InvalidDescriptorException naming the known classes when there is none
   */
  public PriceClass priceClass(String name) {
    PriceClass c = classes.get(name);
    if (c == null) {
      throw new InvalidDescriptorException("Invalid price class '" + name + "': known classes are "
          + String.join(", ", names()));
    }
    return c;
  }

  /** The class a tier is billed as: the one it names, else its kind's default. */
  public PriceClass forTier(String kind, String priceClassOrNull) {
    return priceClass(priceClassOrNull != null ? priceClassOrNull : defaultClassName(kind));
  }

  /** The class name a tier of {@code kind} is billed as when it names none. */
  public String defaultClassName(String kind) {
    String name = defaultByKind.get(kind);
    if (name == null) {
      throw new InvalidDescriptorException("Invalid tier kind '" + kind + "': price defaults exist for "
          + String.join(", ", new java.util.TreeSet<>(defaultByKind.keySet())));
    }
    return name;
  }

  /** The class the "raw" comparison keeps all logical bytes in ({@code s3-standard} unless overridden). */
  public PriceClass baseline() {
    return classes.get(baseline);
  }

  /** All class names, sorted. */
  public List<String> names() {
    return classes.keySet().stream().sorted().toList();
  }

  /** All classes, sorted by name. */
  public List<PriceClass> classes() {
    return names().stream().map(classes::get).toList();
  }
}
