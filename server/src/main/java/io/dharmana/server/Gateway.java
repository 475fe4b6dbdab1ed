package io.dharmana.server;

import com.sun.net.httpserver.HttpServer;
import io.dharmana.descriptor.CacheSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An S3-compatible HTTP endpoint over an {@link ObjectBackend}: buckets are bound to pipelines, and
 * the same port serves {@code /metrics} and {@code /dashboard}.
 *
 * <p>State the gateway keeps besides the objects (bucket bindings, access keys, ETags, multipart
 * uploads in progress) lives in a state directory, normally {@code REPO/gateway}. Start one with
 * {@link #builder}; {@link #close()} stops accepting requests, waits briefly for those in flight,
 * closes the backend (when it is {@link AutoCloseable}), and is idempotent.
 */
public final class Gateway implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());
  /** How long a stopping gateway lets the requests under way finish. */
  private static final java.time.Duration STOP_GRACE = java.time.Duration.ofSeconds(1);
  static {
    // without TCP_NODELAY, small responses wait for delayed ACKs (~40 ms): fatal for small-GET latency
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final EtagIndex etags;
  private final AccessKeys keys;
  private final S3Api api;
  private final GatewayMetrics metrics;
  private final ScheduledExecutorService packUpkeep; // null when the backend does not pack or both tasks are off
  private final ObjectBackend backend; // the one given to the builder, which the gateway closes
  private ReadAhead readAhead; // null when off
  private boolean closed;

  private Gateway(Builder b) throws IOException {
    // the port first: a gateway that cannot listen fails before it makes (and prints) a first key
    this.backend = b.backend;
    this.server = HttpServer.create(new InetSocketAddress(b.bindAddress, b.port), 256);
    try {
      Path state = b.stateDirectory;
      this.keys = b.accessKeys != null ? b.accessKeys : AccessKeys.loadOrCreate(state.resolve("credentials"), b.announce);
      BucketRegistry buckets = new BucketRegistry(state.resolve("buckets"));
      for (Map.Entry<String, String> binding : b.bindings.entrySet()) {
        if (!b.backend.hasPipeline(binding.getValue())) {
          throw new IllegalArgumentException("Invalid binding of bucket " + binding.getKey() + ": no pipeline '" + binding.getValue() + "'");
        }
        buckets.add(new BucketRegistry.Bucket(ObjectNames.checkBucket(binding.getKey()), binding.getValue(), b.clock.instant()));
      }
      this.etags = new EtagIndex(state.resolve("etags"));
      MultipartUploads uploads = new MultipartUploads(state.resolve("uploads"));
      uploads.removeInitiatedBefore(b.clock.instant().minus(b.abandonedUploadAge));
      this.readAhead = b.cacheOfPipeline == null ? null : new ReadAhead(b.backend, b.cacheOfPipeline);
      ObjectBackend backend = readAhead == null ? b.backend : readAhead;
      backend = b.cacheBytes > 0 ? new SmallObjectCache(backend, b.cacheObjectBytes, b.cacheBytes) : backend;
      this.metrics = new GatewayMetrics(backend);
      if (readAhead != null) {
        readAhead.onPipeline(metrics::readAhead);
      }
      RequestSlices slices = new RequestSlices(b.requestSlice);
      this.api = new S3Api(backend, buckets, uploads, etags, keys, metrics, new Dashboard(metrics, backend, b.contentionInterval.toNanos()),
          b.clock, b.region, b.maxObjectBytes, b.minPartBytes, slices);
      AtomicInteger threadNumber = new AtomicInteger();
      this.executor = new ThreadPoolExecutor(b.threads, b.threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
        Thread t = new Thread(() -> {
          slices.shortSlice();
          r.run();
        }, "dharmana-gateway-" + threadNumber.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      server.createContext("/", api);
      // the dispatcher (the JDK's thread, which hands each request to the pool) takes the short slice too
      server.setExecutor(request -> {
        slices.shortSlice();
        executor.execute(request);
      });
      server.start();
      this.packUpkeep = b.backend instanceof SupportsPackMerging packs
              && !(b.packMergeInterval.isZero() && b.packReleaseInterval.isZero())
          ? startPackUpkeep(packs, b.packMergeInterval, b.packReleaseInterval) : null;
    } catch (RuntimeException e) {
      server.stop(0);
      if (readAhead != null) {
        readAhead.close();
      }
      throw e;
    }
  }

  /** Merging and releasing on one thread, so they never run at once. */
  private ScheduledExecutorService startPackUpkeep(
      SupportsPackMerging packs, java.time.Duration mergeInterval, java.time.Duration releaseInterval) {
    ScheduledExecutorService upkeep = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "dharmana-gateway-pack-upkeep");
      t.setDaemon(true);
      return t;
    });
    every(upkeep, releaseInterval, "let go of packs a gc deleted", packs::releaseDeletedPacks);
    // a merge that failed deleted nothing it had not copied first; the next one tries again
    every(upkeep, mergeInterval, "merge small packs", () -> metrics.packsMerged(packs.mergeSmallPacks()));
    return upkeep;
  }

  /** Runs {@code task} every {@code interval} (never if it is zero), logging a failure and going on. */
  private static void every(ScheduledExecutorService executor, java.time.Duration interval, String what, Runnable task) {
    if (interval.isZero()) {
      return;
    }
    long millis = Math.max(1, interval.toMillis());
    executor.scheduleWithFixedDelay(() -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "Cannot " + what + ": " + e.getMessage(), e);
      }
    }, millis, millis, TimeUnit.MILLISECONDS);
  }

  /**
   * A gateway over {@code backend}, which it owns once started: {@link #close()}, or a {@link
   * Builder#start()} that fails, closes it if it is {@link AutoCloseable} (a {@link
   * RepositoryBackend} then removes its cache of decoded files; its repository stays the caller's).
   */
  public static Builder builder(ObjectBackend backend, Path stateDirectory) {
    return new Builder(backend, stateDirectory);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The endpoint URL clients use, e.g. {@code http://127.0.0.1:9000}. */
  public URI endpoint() {
    InetAddress address = server.getAddress().getAddress();
    String host = address.isAnyLocalAddress() ? "127.0.0.1" : address.getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + port());
  }

  /** What the gateway measured (for tests and the blender scenario). */
  GatewayMetrics metrics() {
    return metrics;
  }

  /** The access keys requests must be signed with. */
  public AccessKeys accessKeys() {
    return keys;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    awaitRequestsInFlight(STOP_GRACE);
    // no delay here: the JDK's server (before JDK 21) waits out the whole delay even when idle
    server.stop(0);
    executor.shutdownNow();
    if (readAhead != null) {
      readAhead.close();
    }
    if (packUpkeep != null) {
      // a merge under way finishes (the owner closes the repository next), none starts
      packUpkeep.shutdown();
      try {
        packUpkeep.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    api.close();
    try {
      etags.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close the ETag index", e);
    } finally {
      closeBackend(backend); // last: nothing of the gateway reads through it any more
    }
  }

  private static void closeBackend(ObjectBackend backend) {
    if (backend instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("Cannot close the gateway's backend: " + e.getMessage(), e);
      }
    }
  }

  /** Lets requests under way finish for up to {@code grace}; those still running then are cut off. */
  private void awaitRequestsInFlight(java.time.Duration grace) {
    long deadline = System.nanoTime() + grace.toNanos();
    while (metrics.inFlight() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Settings of a gateway; each may be set once. */
  public static final class Builder {
    private final ObjectBackend backend;
    private final Path stateDirectory;
    private final Map<String, String> bindings = new LinkedHashMap<>();
    private InetAddress bindAddress = InetAddress.getLoopbackAddress();
    private int port = 9000;
    private AccessKeys accessKeys;
    private Consumer<AccessKeys.AccessKey> announce = k -> { };
    private long maxObjectBytes = 5L << 30;
    private long minPartBytes = 5L << 20;
    private int threads = 64;
    private long cacheBytes = 64L << 20;
    private java.time.Duration abandonedUploadAge = java.time.Duration.ofDays(7);
    private long cacheObjectBytes = 256L << 10;
    private String region = "us-east-1";
    private java.time.Duration contentionInterval = java.time.Duration.ofSeconds(5);
    private java.time.Duration packMergeInterval = java.time.Duration.ofSeconds(10);
    private java.time.Duration packReleaseInterval = java.time.Duration.ofSeconds(10);
    private Clock clock = Clock.systemUTC();
    private Function<String, Optional<CacheSpec>> cacheOfPipeline;
    private java.time.Duration requestSlice =
        java.time.Duration.ofNanos(1000 * Long.getLong("dharmana.gateway.request-slice-us", 0));

    private Builder(ObjectBackend backend, Path stateDirectory) {
      this.backend = Objects.requireNonNull(backend, "backend");
      this.stateDirectory = Objects.requireNonNull(stateDirectory, "stateDirectory");
    }

    /** Address to listen on; loopback unless set. */
    public Builder bindAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "address");
      return this;
    }

    /** Port to listen on, 0 for any free port; 9000 unless set. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("Invalid port " + port + ": must be 0 to 65535");
      }
      this.port = port;
      return this;
    }

    /** Keys to accept instead of those in {@code STATE/credentials}. */
    public Builder accessKeys(AccessKeys keys) {
      this.accessKeys = Objects.requireNonNull(keys, "keys");
      return this;
    }

    /** Called once with a key pair generated because the state directory had none. */
    public Builder onGeneratedKey(Consumer<AccessKeys.AccessKey> announce) {
      this.announce = Objects.requireNonNull(announce, "announce");
      return this;
    }

    /** Creates {@code bucket} bound to {@code pipeline} at start if it does not exist. */
    public Builder bind(String bucket, String pipeline) {
      bindings.put(bucket, pipeline);
      return this;
    }

    /** Largest object or part body accepted, 5 GiB unless set. */
    public Builder maxObjectBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("Invalid maxObjectBytes " + bytes + ": must be positive");
      }
      this.maxObjectBytes = bytes;
      return this;
    }

    /** Smallest size of every part but the last, 5 MiB (S3's rule) unless set. */
    public Builder minPartBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("Invalid minPartBytes " + bytes + ": must be >= 0");
      }
      this.minPartBytes = bytes;
      return this;
    }

    /**
     * Memory for the content of small objects (at most {@code objectBytes} each) served from the
     * gateway without going through the pipeline again; 64 MiB for objects up to 256 KiB unless
     * set, 0 to turn off.
     */
    public Builder smallObjectCache(long bytes, long objectBytes) {
      if (bytes < 0 || objectBytes < 0) {
        throw new IllegalArgumentException("Invalid small object cache " + bytes + " bytes for objects up to " + objectBytes + ": must be >= 0");
      }
      this.cacheBytes = bytes;
      this.cacheObjectBytes = objectBytes;
      return this;
    }

    /**
     * Reads ahead for sequential readers: when a ranged GET of an object starts where an earlier
     * ranged GET of the same version ended (a data loader reading a shard 8 MiB at a time), the
     * next ranges are read in the background, so that the reader's next GETs are served from
     * memory. Per pipeline, from its {@code storage.cache} settings ({@link CacheSpec}: up to prefetch
     * ranges ahead, threads reading them, memory for all its readers together; memory or prefetch
     * 0 turns it off). {@code cacheOfPipeline} gives a pipeline's settings, empty for none; it is
     * asked once per pipeline, at the first ranged GET of one of its objects. Off unless set.
     */
    public Builder readAhead(Function<String, Optional<CacheSpec>> cacheOfPipeline) {
      this.cacheOfPipeline = Objects.requireNonNull(cacheOfPipeline, "cacheOfPipeline");
      return this;
    }

    /** Multipart uploads older than this are removed at start; 7 days unless set. */
    public Builder abandonedUploadAge(java.time.Duration age) {
      if (age.isNegative()) {
        throw new IllegalArgumentException("Invalid abandoned upload age " + age + ": must be >= 0");
      }
      this.abandonedUploadAge = age;
      return this;
    }

    /**
     * The scheduling slice the request threads and the HTTP dispatcher ask the kernel for while
     * they wait for and serve small requests ({@link RequestSlices}); zero (the default, unless
     * system property {@code dharmana.gateway.request-slice-us} says otherwise) keeps the
     * kernel's. Off by default: in the load test (server/scripts/load-test.sh) 100 µs slices made
     * the gateway's own median for 4 KiB GETs worse (0.6 to 2.5 ms) and left the clients' p99
     * where it was, on a machine busy with other work; to be measured again on an idle one.
     */
    public Builder requestSlice(java.time.Duration slice) {
      if (slice.isNegative()) {
        throw new IllegalArgumentException("Invalid request slice " + slice + ": must be zero (off) or positive");
      }
      this.requestSlice = slice;
      return this;
    }

    /**
     * How often small packs are merged when the backend packs ({@link SupportsPackMerging}); 10 s
     * unless set, zero to turn off (then only {@code dharmana gc} merges them).
     */
    public Builder packMergeInterval(java.time.Duration interval) {
      this.packMergeInterval = checkInterval(interval, "pack merge");
      return this;
    }

    /**
     * How often the gateway lets go of packs a gc in another process deleted, when the backend packs
     * ({@link SupportsPackMerging}); 10 s unless set, zero to turn off (then their disk space is
     * freed when the gateway stops).
     */
    public Builder packReleaseInterval(java.time.Duration interval) {
      this.packReleaseInterval = checkInterval(interval, "pack release");
      return this;
    }

    private static java.time.Duration checkInterval(java.time.Duration interval, String what) {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("Invalid " + what + " interval " + interval + ": must be zero (off) or positive");
      }
      return interval;
    }

    /** Request-handling threads, 64 unless set. */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("Invalid threads " + threads + ": must be positive");
      }
      this.threads = threads;
      return this;
    }

    /**
     * Length of the intervals the dashboard's contention view compares (each bucket's latest
     * against its quietest); 5 s unless set.
     */
    public Builder contentionInterval(java.time.Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("Invalid contention interval " + interval + ": must be positive");
      }
      this.contentionInterval = interval;
      return this;
    }

    public Builder region(String region) {
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    /** Clock for signature time checks (tests use a fixed one). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Starts the gateway; if it cannot start, the backend is closed (see {@link Gateway#builder}). */
    public Gateway start() {
      try {
        return new Gateway(this);
      } catch (IOException | RuntimeException e) {
        try {
          closeBackend(backend);
        } catch (RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
        if (e instanceof IOException io) {
          throw new UncheckedIOException("Cannot start the gateway on " + bindAddress.getHostAddress() + ":" + port, io);
        }
        throw (RuntimeException) e;
      }
    }
  }
}
