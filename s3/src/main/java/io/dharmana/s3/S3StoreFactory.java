package io.dharmana.s3;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.StoreFactory;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Makes the store of a tier of kind {@code s3} (found through {@link java.util.ServiceLoader}).
 *
 * <p>The tier's {@code location} must be {@code s3://bucket/prefix}. Its options:
 *
 * <ul>
 *   <li>{@code endpoint}: URI of an S3-compatible server (default: AWS for the region)
 *   <li>{@code region}: default {@code us-east-1}
 *   <li>{@code pathStyle}: {@code true} to address buckets by path (most non-AWS servers)
 *   <li>{@code accessKeyEnv}, {@code secretKeyEnv}: names of environment variables holding
 *       static keys; both or neither (neither: the SDK's default credentials provider chain).
 *       Descriptors name variables, never keys, so they can be committed.
 *   <li>{@code partSize}, {@code multipartThreshold}, {@code readPartSize}: sizes, in bytes or
 *       with a {@code KiB}/{@code MiB}/{@code GiB} suffix
 *   <li>{@code parallelism}, {@code maxAttempts}: positive integers
 *   <li>{@code pack}, {@code packSize}: whether and how large the tier's packs are, read by {@link
 *       io.dharmana.store.Stores#forTier} as for every tier
 * </ul>
 */
public final class S3StoreFactory implements StoreFactory {
  static final Set<String> OPTIONS = union(
      Set.of("endpoint", "region", "pathStyle", "accessKeyEnv", "secretKeyEnv", "partSize",
          "multipartThreshold", "readPartSize", "parallelism", "maxAttempts"),
      io.dharmana.store.Stores.PACKING_OPTIONS);

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new java.util.HashSet<>(a);
    all.addAll(b);
    return Set.copyOf(all);
  }

  private final Function<String, String> environment;

  public S3StoreFactory() {
    this(System::getenv);
  }

  S3StoreFactory(Function<String, String> environment) {
    this.environment = Objects.requireNonNull(environment, "environment");
  }

  @Override
  public String kind() {
    return "s3";
  }

  @Override
  public boolean remote() {
    return true;
  }

  @Override
  public BlobStore create(TierSpec spec, Path repositoryRoot, boolean fsync) {
    return S3Stores.create(location(spec), options(spec));
  }

  static S3Location location(TierSpec spec) {
    if (!"s3".equals(spec.kind())) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].kind '" + spec.kind() + "': the s3 factory makes only kind s3");
    }
    if (spec.location() == null) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].location: an s3 tier needs s3://bucket/prefix");
    }
    try {
      return S3Location.parse(spec.location());
    } catch (IllegalArgumentException e) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].location '" + spec.location() + "': " + e.getMessage(), e);
    }
  }

  S3StoreOptions options(TierSpec spec) {
    Map<String, String> options = spec.options();
    for (String name : options.keySet()) {
      if (!OPTIONS.contains(name)) {
        throw new InvalidDescriptorException(
            "Invalid storage.tiers[" + spec.name() + "].options." + name + ": allowed are " + new TreeSet<>(OPTIONS));
      }
    }
    S3StoreOptions.Builder builder = S3StoreOptions.builder();
    try {
      if (options.containsKey("endpoint")) {
        builder.endpoint(URI.create(options.get("endpoint")));
      }
      if (options.containsKey("region")) {
        builder.region(options.get("region"));
      }
      String pathStyle = options.getOrDefault("pathStyle", "false").toLowerCase(Locale.ROOT);
      if (!pathStyle.equals("true") && !pathStyle.equals("false")) {
        throw new IllegalArgumentException("'" + options.get("pathStyle") + "' is not true or false");
      }
      if (pathStyle.equals("true")) {
        builder.pathStyleAccess();
      }
      String accessEnv = options.get("accessKeyEnv");
      String secretEnv = options.get("secretKeyEnv");
      if ((accessEnv == null) != (secretEnv == null)) {
        throw new IllegalArgumentException("accessKeyEnv and secretKeyEnv must be given together");
      }
      if (accessEnv != null) {
        builder.staticCredentials(env(spec, accessEnv), env(spec, secretEnv));
      }
      if (options.containsKey("partSize")) {
        builder.partSize(bytes(options.get("partSize")));
      }
      if (options.containsKey("multipartThreshold")) {
        builder.multipartThreshold(bytes(options.get("multipartThreshold")));
      }
      if (options.containsKey("readPartSize")) {
        builder.readPartSize(bytes(options.get("readPartSize")));
      }
      if (options.containsKey("parallelism")) {
        builder.parallelism(Integer.parseInt(options.get("parallelism")));
      }
      if (options.containsKey("maxAttempts")) {
        builder.maxAttempts(Integer.parseInt(options.get("maxAttempts")));
      }
      return builder.build();
    } catch (InvalidDescriptorException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].options " + new TreeSet<>(options.keySet()) + ": " + e.getMessage(), e);
    }
  }

  private String env(TierSpec spec, String variable) {
    String value = environment.apply(variable);
    if (value == null || value.isEmpty()) {
      throw new InvalidDescriptorException(
          "Invalid storage.tiers[" + spec.name() + "].options: environment variable " + variable + " is not set");
    }
    return value;
  }

  /** Parses {@code 123}, {@code 64KiB}, {@code 8MiB} or {@code 1GiB}. */
  static long bytes(String value) {
    String v = value.trim();
    long unit = 1;
    for (var suffix : Map.of("KiB", 1L << 10, "MiB", 1L << 20, "GiB", 1L << 30).entrySet()) {
      if (v.endsWith(suffix.getKey())) {
        unit = suffix.getValue();
        v = v.substring(0, v.length() - 3).trim();
      }
    }
    try {
      return Math.multiplyExact(Long.parseLong(v), unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("'" + value + "' is not a size (bytes, or with KiB, MiB, GiB)", e);
    }
  }
}
