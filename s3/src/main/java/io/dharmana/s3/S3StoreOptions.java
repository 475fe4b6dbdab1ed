package io.dharmana.s3;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link S3Store} talks to its server: endpoint, region, credentials, addressing style,
 * sizes of uploads and reads, parallelism, and retries. Built with {@link #builder()}; every
 * setting may be set once and has a default fit for AWS S3.
 */
public final class S3StoreOptions {
  private static final long MIB = 1024 * 1024;

  private final URI endpoint;
  private final String region;
  private final boolean pathStyle;
  private final String accessKey;
  private final String secretKey;
  private final long spillThreshold;
  private final long multipartThreshold;
  private final long partSize;
  private final long readPartSize;
  private final int parallelism;
  private final int maxAttempts;
  private final Duration baseDelay;
  private final Duration maxDelay;
  private final Duration attemptTimeout;
  private final Path tempDirectory;

  private S3StoreOptions(Builder b) {
    this.endpoint = b.endpoint;
    this.region = b.region == null ? "us-east-1" : b.region;
    this.pathStyle = Boolean.TRUE.equals(b.pathStyle);
    this.accessKey = b.accessKey;
    this.secretKey = b.secretKey;
    this.spillThreshold = b.spillThreshold < 0 ? 8 * MIB : b.spillThreshold;
    this.multipartThreshold = b.multipartThreshold < 0 ? 16 * MIB : b.multipartThreshold;
    this.partSize = b.partSize < 0 ? 8 * MIB : b.partSize;
    this.readPartSize = b.readPartSize < 0 ? 8 * MIB : b.readPartSize;
    this.parallelism = b.parallelism < 0 ? 8 : b.parallelism;
    this.maxAttempts = b.maxAttempts < 0 ? 5 : b.maxAttempts;
    this.baseDelay = b.baseDelay == null ? Duration.ofMillis(100) : b.baseDelay;
    this.maxDelay = b.maxDelay == null ? Duration.ofSeconds(10) : b.maxDelay;
    this.attemptTimeout = b.attemptTimeout == null ? Duration.ofSeconds(60) : b.attemptTimeout;
    this.tempDirectory = b.tempDirectory == null ? Path.of(System.getProperty("java.io.tmpdir")) : b.tempDirectory;
    if (maxDelay.compareTo(baseDelay) < 0) {
      throw new IllegalArgumentException(
          "Invalid retry delays: maxDelay " + maxDelay + " must be >= baseDelay " + baseDelay);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Endpoint of an S3-compatible server; null for AWS's endpoint of the region. */
  public URI endpoint() {
    return endpoint;
  }

  public String region() {
    return region;
  }

  /** Whether buckets are addressed as {@code endpoint/bucket/key} instead of {@code bucket.endpoint/key}. */
  public boolean pathStyle() {
    return pathStyle;
  }

  /** Static access key, or null to use the SDK's default credentials provider chain. */
  public String accessKey() {
    return accessKey;
  }

  String secretKey() {
    return secretKey;
  }

  /** Bytes a blob being written keeps in memory before it spills to a temporary file. */
  public long spillThreshold() {
    return spillThreshold;
  }

  /** Blobs larger than this are written with a multipart upload. */
  public long multipartThreshold() {
    return multipartThreshold;
  }

  /** Size of each part of a multipart upload (S3 needs at least 5 MiB except for the last). */
  public long partSize() {
    return partSize;
  }

  /** Size of each ranged GET when a large read is split into parallel requests. */
  public long readPartSize() {
    return readPartSize;
  }

  /** Requests one store runs at once for one large upload or read (and connections it pools). */
  public int parallelism() {
    return parallelism;
  }

  /** Attempts per request, first included, on 5xx, throttling, I/O errors and timeouts. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** Base of the exponential backoff between attempts (full jitter). */
  public Duration baseDelay() {
    return baseDelay;
  }

  public Duration maxDelay() {
    return maxDelay;
  }

  /** Time one attempt of one request may take before it is abandoned and retried. */
  public Duration attemptTimeout() {
    return attemptTimeout;
  }

  /** Where blobs larger than the spill threshold are staged before upload. */
  public Path tempDirectory() {
    return tempDirectory;
  }

  @Override
  public String toString() {
    return "S3StoreOptions[endpoint=" + endpoint + ", region=" + region + ", pathStyle=" + pathStyle
        + ", credentials=" + (accessKey == null ? "default-chain" : "static") + ", partSize=" + partSize
        + ", multipartThreshold=" + multipartThreshold + ", parallelism=" + parallelism
        + ", maxAttempts=" + maxAttempts + "]";
  }

  /** Builder of {@link S3StoreOptions}; each setting may be set at most once. */
  public static final class Builder {
    private URI endpoint;
    private String region;
    private Boolean pathStyle;
    private String accessKey;
    private String secretKey;
    private long spillThreshold = -1;
    private long multipartThreshold = -1;
    private long partSize = -1;
    private long readPartSize = -1;
    private int parallelism = -1;
    private int maxAttempts = -1;
    private Duration baseDelay;
    private Duration maxDelay;
    private Duration attemptTimeout;
    private Path tempDirectory;

    private Builder() {}

    private static void once(boolean unset, String what) {
      if (!unset) {
        throw new IllegalStateException("Cannot set " + what + " twice");
      }
    }

    private static long positive(long value, long min, String what) {
      if (value < min) {
        throw new IllegalArgumentException("Invalid " + what + " " + value + ": must be >= " + min);
      }
      return value;
    }

    public Builder endpoint(URI endpoint) {
      once(this.endpoint == null, "endpoint");
      this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
      return this;
    }

    public Builder region(String region) {
      once(this.region == null, "region");
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    /** Addresses buckets by path, as most S3-compatible servers on a plain host:port need. */
    public Builder pathStyleAccess() {
      once(this.pathStyle == null, "pathStyle");
      this.pathStyle = true;
      return this;
    }

    /** Uses these keys instead of the default credentials provider chain. */
    public Builder staticCredentials(String accessKey, String secretKey) {
      once(this.accessKey == null, "credentials");
      this.accessKey = Objects.requireNonNull(accessKey, "accessKey");
      this.secretKey = Objects.requireNonNull(secretKey, "secretKey");
      return this;
    }

    public Builder spillThreshold(long bytes) {
      once(spillThreshold < 0, "spillThreshold");
      spillThreshold = positive(bytes, 0, "spillThreshold");
      return this;
    }

    public Builder multipartThreshold(long bytes) {
      once(multipartThreshold < 0, "multipartThreshold");
      multipartThreshold = positive(bytes, 5 * MIB, "multipartThreshold");
      return this;
    }

    public Builder partSize(long bytes) {
      once(partSize < 0, "partSize");
      partSize = positive(bytes, 5 * MIB, "partSize");
      return this;
    }

    public Builder readPartSize(long bytes) {
      once(readPartSize < 0, "readPartSize");
      readPartSize = positive(bytes, 64 * 1024, "readPartSize");
      return this;
    }

    public Builder parallelism(int requests) {
      once(parallelism < 0, "parallelism");
      parallelism = (int) positive(requests, 1, "parallelism");
      return this;
    }

    public Builder maxAttempts(int attempts) {
      once(maxAttempts < 0, "maxAttempts");
      maxAttempts = (int) positive(attempts, 1, "maxAttempts");
      return this;
    }

    /** Exponential backoff with full jitter between {@code base} and {@code max}. */
    public Builder backoff(Duration base, Duration max) {
      once(baseDelay == null, "backoff");
      baseDelay = Objects.requireNonNull(base, "base");
      maxDelay = Objects.requireNonNull(max, "max");
      return this;
    }

    public Builder attemptTimeout(Duration timeout) {
      once(attemptTimeout == null, "attemptTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("Invalid attemptTimeout " + timeout + ": must be positive");
      }
      attemptTimeout = timeout;
      return this;
    }

    public Builder tempDirectory(Path directory) {
      once(tempDirectory == null, "tempDirectory");
      tempDirectory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    public S3StoreOptions build() {
      return new S3StoreOptions(this);
    }
  }
}
