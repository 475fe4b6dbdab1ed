package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.descriptor.ChunkingSpec;
import io.dharmana.descriptor.Durations;
import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.repo.Repository;
import io.dharmana.server.Gateway;
import io.dharmana.server.RepositoryBackend;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {
      "Serve a repository over an S3-compatible HTTP endpoint: each bucket is bound to a pipeline, so the AWS CLI,"
          + " boto3 and S3 checkpoint writers get the pipeline without code changes.",
      "Requests must be signed (AWS Signature V4) with a key from REPO/gateway/credentials; on first start one pair"
          + " is generated there (owner-only permissions) and printed once.",
      "Sequential ranged GETs of an object (a data loader reading a shard 8 MiB at a time) are read ahead in the"
          + " background, per pipeline as its storage.cache says: prefetch ranges ahead, on its threads, within its memory"
          + " (memory 0 turns it off).",
      "The same port serves /metrics (Prometheus) and /dashboard. Stop with Ctrl-C or SIGTERM."
    })
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REPO", description = "The repository to serve.")
  Path repo;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "9000", description = "Port to listen on, 0 for any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}, loopback only).")
  String bind;

  @Option(names = "--init", description = "Create the repository if REPO holds none, with the default pipeline (zstd) and"
      + " a pipeline named checkpoints (float coding), so that a bucket named checkpoints stores .safetensors objects"
      + " float-coded and delta-coded against the previous step's.")
  boolean init;

  @Option(names = "--bucket", paramLabel = "BUCKET=PIPELINE",
      description = "Create BUCKET bound to PIPELINE at start if it does not exist (repeatable). Buckets created by"
          + " clients bind to the pipeline of their own name if there is one, else to the default pipeline.")
  Map<String, String> buckets = new LinkedHashMap<>();

  @Option(names = "--max-object-bytes", paramLabel = "SIZE", defaultValue = "5GiB",
      description = "Largest single PUT or part body accepted, in bytes or with a unit, e.g. 512MiB (default: ${DEFAULT-VALUE}, as S3).")
  String maxObjectBytes;

  @Option(names = "--merge-packs-every", paramLabel = "DURATION", defaultValue = "10s",
      description = "How often small packs (each small PUT's commit seals one) are merged into larger ones while"
          + " serving; 0s turns merging off (then only 'dharmana gc' merges packs). Either way the gateway lets go"
          + " of packs a 'dharmana gc' run beside it deleted every 10 s: only then is their disk space freed"
          + " (default: ${DEFAULT-VALUE}).")
  String mergePacksEvery;

  @Option(names = "--decoded-cache", paramLabel = "SIZE", defaultValue = "4GiB",
      description = "Disk the decoded .safetensors objects of float-coding buckets may take under REPO/cache: a read"
          + " decodes the whole file once there and serves ranges from it (default: ${DEFAULT-VALUE}).")
  String decodedCache;

  @Override
  public Integer call() throws Exception {
    java.time.Duration packMergeInterval;
    try {
      packMergeInterval = Durations.parse(mergePacksEvery);
    } catch (InvalidDescriptorException e) {
      throw new InvalidDescriptorException("--merge-packs-every: " + e.getMessage());
    }
    long maxBodyBytes = DatasetCommand.size(maxObjectBytes, "--max-object-bytes");
    if (maxBodyBytes < 1) {
      throw new InvalidDescriptorException("Invalid --max-object-bytes '" + maxObjectBytes + "': must be positive");
    }
    InetAddress address;
    try {
      address = InetAddress.getByName(bind);
    } catch (UnknownHostException e) {
      throw new InvalidDescriptorException("Invalid --bind '" + bind + "': not an IP address or a host name this machine resolves");
    }
    PrintWriter out = spec.commandLine().getOut();
    long decodedCacheBytes = DatasetCommand.size(decodedCache, "--decoded-cache");
    Repository repository = init && !Files.exists(repo.resolve(Repository.DESCRIPTOR_FILE)) ? initialized() : Repository.open(repo);
    Gateway gateway;
    try {
      Gateway.Builder builder = Gateway.builder(new RepositoryBackend(repository, decodedCacheBytes), repo.resolve("gateway"))
          .bindAddress(address)
          .port(port)
          .maxObjectBytes(maxBodyBytes)
          .packMergeInterval(packMergeInterval)
          // each pipeline's storage.cache: prefetch ranges ahead of a sequential reader, threads, memory (0: none)
          .readAhead(pipeline -> repository.pipeline(pipeline).map(d -> d.storage().cache()))
          .onGeneratedKey(key -> {
            out.println("Generated an access key (stored in " + repo.resolve("gateway").resolve("credentials")
                + ", readable by you only; shown once):");
            out.println("  AWS_ACCESS_KEY_ID=" + key.id());
            out.println("  AWS_SECRET_ACCESS_KEY=" + key.secret());
          });
      buckets.forEach(builder::bind);
      gateway = builder.start();
    } catch (UncheckedIOException e) {
      repository.close();
      if (e.getCause() instanceof BindException taken && port != 0) {
        throw new UncheckedIOException(e.getMessage() + ": " + taken.getMessage() + " (another process listens there; --port 0 picks a"
            + " free port)", taken);
      }
      throw e;
    } catch (RuntimeException e) {
      repository.close();
      throw e;
    }
    // the gateway's work goes into the history as a run, where stat and report find it
    HistoryRecorder history = new HistoryRecorder(repository, "serve " + gateway.endpoint());
    ScheduledExecutorService recorder = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "dharmana-serve-history");
      t.setDaemon(true);
      return t;
    });
    long every = RECORD_EVERY.toMillis();
    recorder.scheduleWithFixedDelay(() -> {
      try {
        history.record();
      } catch (RuntimeException e) {
        System.err.println("dharmana serve: " + e.getMessage()); // a full disk: serving goes on
      }
    }, every, every, TimeUnit.MILLISECONDS);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      recorder.shutdownNow();
      gateway.close();
      try {
        history.record();
      } finally {
        repository.close();
        stopped.countDown();
      }
    }, "dharmana-serve-shutdown"));
    out.println("Serving " + repo.toAbsolutePath() + " at " + gateway.endpoint()
        + " (S3 endpoint, path-style; metrics at /metrics, dashboard at /dashboard)");
    out.println("Pipelines: " + pipelines(repository) + "; a bucket a client creates binds to the pipeline of its name, else to "
        + repository.descriptor().name());
    out.println("Example: aws --endpoint-url " + gateway.endpoint() + " s3 ls");
    out.flush();
    stopped.await();
    return Main.OK;
  }

  /** How often a serving gateway records its pipelines' metrics in the history (and once when it stops). */
  static final java.time.Duration RECORD_EVERY = java.time.Duration.ofMinutes(10);

  /** Each pipeline with its stages, e.g. {@code checkpoints [float-split: .safetensors delta-coded]}. */
  private static String pipelines(Repository repository) {
    StringBuilder sb = new StringBuilder();
    for (String name : repository.pipelines()) {
      List<String> stages = repository.pipeline(name).orElseThrow().storage().stages().stream()
          .map(s -> s.name().equals("float-split") ? "float-split: .safetensors delta-coded" : s.name()).toList();
      sb.append(sb.length() == 0 ? "" : ", ").append(name).append(' ').append(stages);
    }
    return sb.toString();
  }

  /** A new repository with the default pipeline and {@link #CHECKPOINTS}. */
  private Repository initialized() {
    Repository repository = Repository.init(repo, Repository.defaultPipeline());
    try {
      repository.addPipeline(CHECKPOINTS);
      return repository;
    } catch (RuntimeException e) {
      repository.close();
      throw e;
    }
  }

  /**
   * The pipeline {@code --init} adds for a bucket of that name: float coding; cut points on whole
   * fp32 values, for objects that are not safetensors files.
   */
  static final PipelineDescriptor CHECKPOINTS = PipelineDescriptor.of("checkpoints", StorageDescriptor.builder()
      .chunking(new ChunkingSpec("cdc", 256 << 10, 1 << 20, 4 << 20, 4)).stage("float-split", Map.of()).build());
}
