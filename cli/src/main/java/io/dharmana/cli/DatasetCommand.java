package io.dharmana.cli;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.dataset.Batch;
import io.dharmana.dataset.DataLoader;
import io.dharmana.dataset.Dataset;
import io.dharmana.dataset.DatasetIndex;
import io.dharmana.dataset.DatasetPacker;
import io.dharmana.dataset.LoaderState;
import io.dharmana.dataset.LoaderStats;
import io.dharmana.dataset.PackProgress;
import io.dharmana.dataset.ReaderPriority;
import io.dharmana.dataset.ShardCacheStats;
import io.dharmana.dataset.ShardInfo;
import io.dharmana.dataset.SourceInfo;
import io.dharmana.descriptor.ByteSize;
import io.dharmana.descriptor.Descriptors;
import io.dharmana.runtime.AcceleratorStats;
import io.dharmana.runtime.EmulatedAccelerator;
import io.dharmana.runtime.HostScheduling;
import io.dharmana.s3.S3Location;
import io.dharmana.s3.S3StoreOptions;
import io.dharmana.s3.S3Stores;
import io.dharmana.stage.StageChain;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import io.dharmana.store.BlobStore;
import io.dharmana.store.StoreLock;
import io.dharmana.store.Stores;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code dharmana dataset}: pack files, JSON Lines or WebDataset tars into indexed shards,
 * inspect and unpack them, stream them with the data loader, and measure whether an emulated
 * accelerator stays busy.
 */
@Command(
    name = "dataset",
    mixinStandardHelpOptions = true,
    description = "Pack, inspect, unpack and read datasets of indexed shards; emulate an accelerator to measure utilization.",
    subcommands = {
      DatasetCommand.Pack.class,
      DatasetCommand.Inspect.class,
      DatasetCommand.Unpack.class,
      DatasetCommand.Read.class,
      DatasetCommand.Bench.class
    })
public final class DatasetCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Runs the dataset command alone (for scripts, before it is registered in {@link Main}). */
  public static void main(String[] args) {
    CommandLine cli = Main.commandLine();
    if (!cli.getSubcommands().containsKey("dataset")) {
      cli.addSubcommand(new DatasetCommand());
    }
    String[] full = new String[args.length + 1];
    full[0] = "dataset";
    System.arraycopy(args, 0, full, 1, args.length);
    System.exit(cli.execute(full));
  }

  static long size(String text, String option) {
    try {
      return ByteSize.parse(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("Invalid " + option + " '" + text + "': " + e.getMessage());
    }
  }

  /** This process's major page faults so far (Linux: /proc/self/stat), or -1 where unknown. */
  static long majorFaults() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      // fields after the parenthesized command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[9]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Where a dataset lives: a directory, or {@code s3://bucket/prefix} on an S3-compatible object
   * store, laid out alike (the index and the shards under the prefix, as {@code aws s3 sync} of a
   * packed directory leaves them), so a dataset packed here streams from there unchanged.
   */
  static final class Location {
    @Option(names = "--endpoint-url", paramLabel = "URL",
        description = {"S3-compatible server of an s3:// dataset, its buckets addressed by path (default: AWS). Credentials come "
            + "from the AWS default chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, ..."})
    URI endpoint;

    @Option(names = "--region", paramLabel = "REGION", description = "Region of an s3:// dataset (default: AWS_REGION, else us-east-1).")
    String region;

    /** The store of the dataset at {@code location}, which must hold one. */
    BlobStore existing(String location) {
      if (!isS3(location)) {
        Path dir = local(location);
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
          throw new InvalidDescriptorException("Cannot open dataset " + dir + ": it is a file; a dataset is a directory (see dataset pack)");
        }
        if (!Files.isDirectory(dir)) {
          throw new io.dharmana.NotFoundException("Cannot open dataset " + dir + ": no such directory");
        }
        return Stores.local(dir, false);
      }
      BlobStore store = s3(location);
      if (!store.exists(DatasetIndex.KEY)) {
        store.close();
        throw new io.dharmana.NotFoundException("Cannot open dataset " + location + ": no " + DatasetIndex.KEY + " there (not packed, "
            + "or its pack did not finish)");
      }
      return store;
    }

    /** The store to pack a new dataset into at {@code location}. */
    BlobStore create(String location, boolean fsync) {
      if (isS3(location)) {
        return s3(location);
      }
      return Stores.local(packDirectory(location), fsync);
    }

    /** The directory a local {@code location} packs into: not a file. */
    Path packDirectory(String location) {
      Path dir = local(location);
      if (Files.exists(dir) && !Files.isDirectory(dir)) {
        throw new InvalidDescriptorException("Cannot pack into " + dir + ": it is a file, not a directory");
      }
      return dir;
    }

    private Path local(String location) {
      if (endpoint != null || region != null) {
        throw new InvalidDescriptorException("Invalid --endpoint-url/--region: they apply to s3:// datasets, not to directory " + location);
      }
      return Path.of(location);
    }

    private BlobStore s3(String location) {
      S3Location where;
      try {
        where = S3Location.parse(location);
      } catch (IllegalArgumentException e) {
        throw new InvalidDescriptorException("Invalid dataset location '" + location + "': " + e.getMessage(), e);
      }
      S3StoreOptions.Builder options = S3StoreOptions.builder();
      if (endpoint != null && (endpoint.getHost() == null || !List.of("http", "https").contains(String.valueOf(endpoint.getScheme())))) {
        throw new InvalidDescriptorException("Invalid --endpoint-url '" + endpoint + "': expected http://HOST:PORT or https://HOST");
      }
      if (endpoint != null) {
        // servers other than AWS (S3Proxy, MinIO, the Dharmana gateway) address buckets by path
        options.endpoint(endpoint).pathStyleAccess();
      }
      String r = region != null ? region : System.getenv("AWS_REGION");
      if (r != null && !r.isBlank()) {
        options.region(r);
      }
      return S3Stores.create(where, options.build());
    }

    static boolean isS3(String location) {
      return location.startsWith("s3://");
    }

    /** The last name of a location, for progress lines. */
    static String name(String location) {
      String trimmed = location.replaceAll("/+$", "");
      return trimmed.substring(trimmed.lastIndexOf('/') + 1);
    }
  }

  static String mb(double bytes, double seconds) {
    return seconds <= 0 ? "-" : String.format(Locale.ROOT, "%.1f MB/s", bytes / 1e6 / seconds);
  }

  static String fraction(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
  }

  @Command(name = "pack", mixinStandardHelpOptions = true,
      description = "Pack a directory of files, JSON Lines files or WebDataset .tar shards into indexed Dharmana shards.")
  static final class Pack implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OUT", description = "Dataset to create: a directory, or s3://bucket/prefix (see --endpoint-url).")
    String out;

    @CommandLine.Mixin Location location = new Location();

    @Option(names = "--from", required = true, paramLabel = "DIR|FILE.jsonl|SHARD.tar", arity = "1..*",
        description = "Inputs, packed in the order given.")
    List<Path> from;

    @Option(names = "--shard-size", paramLabel = "SIZE", defaultValue = "64MiB", description = "Target shard size (default: ${DEFAULT-VALUE}).")
    String shardSize;

    @Option(names = "--block-size", paramLabel = "SIZE", defaultValue = "1MiB",
        description = "Samples are grouped into blocks of about this size before the stages encode them (default: ${DEFAULT-VALUE}).")
    String blockSize;

    @Option(names = "--pipeline", paramLabel = "FILE.yaml", description = "Pipeline descriptor whose storage stages encode every block.")
    Path pipeline;

    @Option(names = "--stage", paramLabel = "NAME[:K=V,...]", description = "A stage to encode blocks with, e.g. zstd:level=3 (repeatable).")
    List<String> stages = new ArrayList<>();

    @Option(names = "--threads", paramLabel = "N", description = "Shard encoding threads (default: one per core).")
    Integer threads;

    @Option(names = "--fsync", description = "Make every shard durable before the index commits the dataset.")
    boolean fsync;

    @Option(names = "--progress", negatable = true, description = "Show progress on stderr (default: when stderr is a terminal).")
    Boolean progress;

    @Option(names = "--json", description = "Print the index as JSON.")
    boolean json;

    @Option(names = "--break-lock", description = {"Remove the lock a pack into the same s3:// prefix left when it was killed, "
        + "then pack. Only when no other pack into it runs: the lock is what keeps two from colliding."})
    boolean breakLock;

    @Override
    public Integer call() throws IOException {
      if (breakLock && !Location.isS3(out)) {
        throw new InvalidDescriptorException("Invalid --break-lock: it applies to s3:// datasets; the lock of a pack into a directory "
            + "goes with its process");
      }
      for (Path p : from) {
        if (!Files.exists(p)) {
          throw new io.dharmana.NotFoundException("Cannot pack --from " + p + ": no such file or directory");
        }
      }
      List<StageSpec> specs = new ArrayList<>();
      if (pipeline != null) {
        specs.addAll(Descriptors.load(pipeline).storage().stages());
      }
      for (String s : stages) {
        specs.add(parseStage(s));
      }
      StageChain chain = specs.isEmpty() ? new StageChain(List.of()) : Stages.chain(specs, StageContext.system());
      long total = 0;
      for (Path p : from) {
        long bytes = inputBytes(p);
        total = total < 0 || bytes < 0 ? -1 : total + bytes;
      }
      long shard = size(shardSize, "--shard-size");
      long block = size(blockSize, "--block-size");
      if (block > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("Invalid --block-size '" + blockSize + "': allowed is 1 B .. 2 GiB - 1 (a block is encoded in memory)");
      }
      // a pack that fails leaves no dataset directory behind where there was none: all in it is this pack's
      // (the packer deletes the shards it wrote; the store's temporary files and directories go with it)
      Path created = !Location.isS3(out) && !Files.exists(Path.of(out)) ? Path.of(out) : null;
      long started = System.nanoTime();
      long finalTotal = total;
      java.util.function.Supplier<DatasetIndex> packing = () -> {
        // one pack at a time into a local dataset: a pack removes the shards of one that did not
        // finish, and of two at once the loser deleted the winner's shards, or its whole directory
        try (PackLock lock = Location.isS3(out) ? null : PackLock.take(location.packDirectory(out))) {
          try (BlobStore store = location.create(out, fsync);
              StoreLock s3Lock = Location.isS3(out) ? s3Lock(store) : null;
              Progress bar = Progress.start("pack " + Location.name(out), finalTotal, progress)) {
            DatasetPacker.Builder builder = DatasetPacker.builder(store)
                .stages(chain)
                .shardSize(shard)
                .blockSize((int) block)
                .progress(new PackProgress() {
                  @Override
                  public void read(long samples, long bytes) {
                    bar.progress(bytes, finalTotal);
                  }
                });
            if (threads != null) {
              builder.threads(threads);
            }
            return builder.build().pack(from);
          } catch (RuntimeException e) {
            // missing when this command started, the directory may yet hold a dataset another pack
            // committed before this one took the lock: it stays
            if (created != null && !Files.exists(created.resolve(DatasetIndex.KEY))) {
              io.dharmana.store.Stores.deleteTreeQuietly(created, false);
            }
            throw e;
          }
        }
      };
      // the directories made on the way to a new local dataset go too, where still empty (dataset pack a/b/ds)
      DatasetIndex index = created == null ? packing.get() : OutputFile.write(created, ignored -> packing.get());
      double seconds = (System.nanoTime() - started) / 1e9;
      PrintWriter o = spec.commandLine().getOut();
      if (json) {
        Output.json(o, index);
      } else {
        // the stored size is the dataset's, not each shard's: "into 4 shards of 236 MiB stored" read as 236 MiB apiece
        o.printf(Locale.ROOT, "packed %s (%s) from %s into %s, %s stored%s (%s) in %.2f s, %s%n",
            Output.count(index.samples(), "sample"), Output.bytes(index.bytes()), Output.count(index.sources().size(), "input"),
            Output.count(index.shards().size(), "shard"), Output.bytes(index.storedBytes()), index.shards().size() > 1 ? " in all" : "",
            index.storedBytes() == 0 ? "-" : Output.ratio((double) index.bytes() / index.storedBytes()), seconds, mb(index.bytes(), seconds));
        o.flush();
      }
      return Main.OK;
    }

    /**
     * Takes the lock of a pack into an s3:// prefix, which processes on other machines share only
     * through the bucket: a lock object made by a conditional write, named as a local pack's lock
     * file (an {@code aws s3 sync} of a packed directory copies neither).
     */
    private StoreLock s3Lock(BlobStore store) {
      String prefix = out.replaceAll("/+$", "");
      if (breakLock && StoreLock.breakLock(store, PackLock.FILE)) {
        spec.commandLine().getErr().println("dharmana dataset pack: removed the lock " + prefix + "/" + PackLock.FILE);
      }
      return StoreLock.take(store, PackLock.FILE, "pack into " + prefix, prefix + "/" + PackLock.FILE,
          "another 'dataset pack' is writing there, so run one pack at a time into a prefix; if that pack is no longer running "
              + "(it was killed), run this one again with --break-lock to remove the lock");
    }

    /** The bytes of an input; -1 for a named pipe's, unknown until it is read. */
    static long inputBytes(Path p) throws IOException {
      if (!Files.isDirectory(p)) {
        return Files.isRegularFile(p) ? Files.size(p) : -1;
      }
      try (Stream<Path> s = Files.walk(p)) {
        return s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
      }
    }

    static StageSpec parseStage(String text) {
      int colon = text.indexOf(':');
      if (colon < 0) {
        return StageSpec.of(text.trim());
      }
      Map<String, String> params = new LinkedHashMap<>();
      for (String kv : text.substring(colon + 1).split(",")) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new InvalidDescriptorException("Invalid --stage '" + text + "': parameters must be KEY=VALUE, separated by commas");
        }
        params.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
      }
      return StageSpec.of(text.substring(0, colon).trim(), params);
    }
  }

  @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Print a dataset's index: samples, sizes, stages, shards, sources.")
  static final class Inspect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Dataset: a directory, or s3://bucket/prefix (see --endpoint-url).")
    String dir;

    @CommandLine.Mixin Location location = new Location();

    @Option(names = "--json", description = "Print the index as JSON.")
    boolean json;

    @Option(names = "--shards", description = "List every shard.")
    boolean shards;

    @Override
    public Integer call() {
      try (BlobStore store = location.existing(dir); Dataset dataset = Dataset.open(store, "")) {
        DatasetIndex index = dataset.index();
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
          o.println(new String(index.toJson(), StandardCharsets.UTF_8));
          o.flush();
          return Main.OK;
        }
        o.printf(Locale.ROOT, "dataset     %s (fingerprint %s)%n", dir, dataset.fingerprint());
        o.printf(Locale.ROOT, "samples     %d (%s, average %s)%n", index.samples(), Output.bytes(index.bytes()),
            index.samples() == 0 ? "-" : Output.bytes(index.bytes() / index.samples()));
        o.printf(Locale.ROOT, "stored      %s in %s, ratio %s%n", Output.bytes(index.storedBytes()), Output.count(index.shards().size(), "shard"),
            index.storedBytes() == 0 ? "-" : Output.ratio((double) index.bytes() / index.storedBytes()));
        o.printf(Locale.ROOT, "stages      %s%n", index.stages().isEmpty() ? "(none: stored as is)" : index.stages());
        for (SourceInfo s : index.sources()) {
          o.printf(Locale.ROOT, "source      %-5s %s: %d samples from #%d, %s%n", s.kind(), s.name(), s.samples(), s.firstSample(),
              Output.bytes(s.bytes()));
        }
        if (shards) {
          for (ShardInfo s : index.shards()) {
            o.printf(Locale.ROOT, "shard       %s: %d samples from #%d, %s -> %s, sha256 %s%n", s.key(), s.samples(), s.firstSample(),
                Output.bytes(s.bytes()), Output.bytes(s.storedBytes()), s.sha256().substring(0, 16));
          }
        }
        o.flush();
      }
      return Main.OK;
    }
  }

  @Command(name = "unpack", mixinStandardHelpOptions = true,
      description = {"Restore the packed inputs byte-identical, verifying every sample's SHA-256.",
          "OUT must be new or empty; it appears once every file is restored, and not at all when a sample fails its check."})
  static final class Unpack implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Dataset: a directory, or s3://bucket/prefix (see --endpoint-url).")
    String dir;

    @CommandLine.Mixin Location location = new Location();

    @Parameters(index = "1", paramLabel = "OUT", description = "Directory to restore into: new or empty.")
    Path out;

    @Option(names = "--members", description = "Write tar sources as their member files instead of the original .tar.")
    boolean members;

    @Option(names = "--json", description = "Print the result as JSON: samples, bytes, sources (kind, name, samples and"
        + " bytes of each), output, seconds.")
    boolean json;

    @Override
    public Integer call() throws IOException {
      long started = System.nanoTime();
      if (Files.exists(out) && !Files.isDirectory(out)) {
        throw new InvalidDescriptorException("Cannot unpack to " + out + ": it is a file, not a directory");
      }
      if (Files.isDirectory(out)) {
        try (Stream<Path> entries = Files.list(out)) {
          if (entries.findAny().isPresent()) {
            // restored files would replace the ones there of the same names and mix with the others
            throw new io.dharmana.AlreadyExistsException("Cannot unpack to " + out + ": it is not empty; name a new or empty directory");
          }
        }
      }
      try (BlobStore store = location.existing(dir); Dataset dataset = Dataset.open(store, "")) {
        Path parent = out.toAbsolutePath().getParent();
        Path staging;
        try {
          Files.createDirectories(parent);
          // restored beside OUT and renamed to it whole: a sample that fails its check leaves no half-restored tree
          // (not createTempDirectory: its owner-only mode would stay on OUT)
          staging = Files.createDirectory(parent.resolve("." + out.getFileName() + ".unpacking-" + ProcessHandle.current().pid()
              + "-" + Long.toHexString(System.nanoTime())));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("Cannot unpack to " + out + ": cannot create a directory in " + parent, e);
        }
        try {
          dataset.unpack(staging, members ? Dataset.TarRestore.MEMBERS : Dataset.TarRestore.ARCHIVE);
          // rename(2) replaces an empty directory
          Files.move(staging, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
          io.dharmana.store.Stores.deleteTreeQuietly(staging, false);
          throw e;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        PrintWriter o = spec.commandLine().getOut();
        DatasetIndex index = dataset.index();
        if (json) {
          List<Map<String, Object>> sources = new ArrayList<>();
          for (SourceInfo s : index.sources()) {
            // not the tar trailer the index keeps to restore an archive byte for byte
            Map<String, Object> source = new LinkedHashMap<>();
            source.put("kind", s.kind());
            source.put("name", s.name());
            source.put("samples", s.samples());
            source.put("bytes", s.bytes());
            sources.add(source);
          }
          Map<String, Object> result = new LinkedHashMap<>();
          result.put("samples", dataset.size());
          result.put("bytes", index.bytes());
          result.put("sources", sources);
          result.put("output", out.toString());
          result.put("seconds", seconds);
          Output.json(o, result);
        } else {
          o.printf(Locale.ROOT, "unpacked %s (%s) of %s to %s in %.2f s%n",
              Output.count(dataset.size(), "sample"), Output.bytes(index.bytes()), Output.count(index.sources().size(), "source"), out, seconds);
          o.flush();
        }
      }
      return Main.OK;
    }
  }

  /** Loader options shared by read and bench. */
  static final class LoaderOptions {
    @Spec CommandSpec spec; // this mixin's options: which were given

    @Option(names = "--batch", paramLabel = "B", defaultValue = "32", description = "Samples per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--shuffle", paramLabel = "SEED", description = "Shuffle deterministically with this seed (default: dataset order).")
    Long seed;

    @Option(names = "--shuffle-block", paramLabel = "SAMPLES", defaultValue = "65536",
        description = "Samples per shuffle block (default: ${DEFAULT-VALUE}).")
    int shuffleBlock;

    @Option(names = "--epoch", paramLabel = "N", defaultValue = "0", description = "Epoch number (default: ${DEFAULT-VALUE}).")
    long epoch;

    @Option(names = "--rank", paramLabel = "R/N", defaultValue = "0/1", description = "This rank of the world size, e.g. 2/8.")
    String rank;

    @Option(names = "--worker", paramLabel = "W/N", defaultValue = "0/1", description = "This worker of the rank's workers, e.g. 1/2.")
    String worker;

    /** Reader threads by default: one per core of the machines we measure on (2). */
    static final int LOCAL_READERS = 2;
    /** Reader threads by default for an s3:// dataset, whose reads wait on the network, not on a core. */
    static final int REMOTE_READERS = 8;

    @Option(names = "--readers", paramLabel = "R",
        description = "Reader threads (default: " + LOCAL_READERS + ", or " + REMOTE_READERS + " for an s3:// dataset).")
    Integer readers;

    /** Whether the dataset opened is on an object store (see {@link #open}). */
    private boolean remote;

    @Option(names = "--memory", paramLabel = "SIZE", defaultValue = "256MiB",
        description = "Bound on batches read ahead (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--cache", paramLabel = "DIR", description = "Copy shards to this faster tier on first use and read them there.")
    Path cache;

    @Option(names = "--cache-size", paramLabel = "SIZE", defaultValue = "10GiB", description = "Cache tier limit (default: ${DEFAULT-VALUE}).")
    String cacheSize;

    @Option(names = "--resume", paramLabel = "STATE.json", description = "Continue from a state written by --state-out, with its "
        + "epoch, shuffle seed and block, rank and worker (given otherwise, they are refused).")
    Path resume;

    @Option(names = "--max-batches", paramLabel = "N", description = "Stop after N batches.")
    Long maxBatches;

    /** Refuses what no run could use, before anything is opened or created (the --cache directory). */
    void check() {
      if (maxBatches != null && maxBatches < 1) {
        throw new IllegalArgumentException("Invalid --max-batches " + maxBatches + ": must be >= 1");
      }
    }

    /** The reader threads asked for, else the default for where the dataset is. */
    int readers() {
      return readers != null ? readers : remote ? REMOTE_READERS : LOCAL_READERS;
    }

    Dataset open(String location, BlobStore store, BlobStore cacheStore) {
      remote = Location.isS3(location);
      return cacheStore == null ? Dataset.open(store, "") : Dataset.open(store, "", cacheStore, size(cacheSize, "--cache-size"));
    }

    /** Where adaptive prefetch starts. */
    static final int AUTO_START = 4;

    static final String PREFETCH_HELP =
        "Batches read ahead, or auto: from " + AUTO_START + ", one more each time the caller waits, within --memory (default: ${DEFAULT-VALUE}).";

    /** Whether a --prefetch value asks for adaptive prefetch. */
    static boolean isAuto(String prefetch) {
      return prefetch.trim().equalsIgnoreCase("auto");
    }

    /** A loader reading {@code prefetch} batches ahead: a count, or {@code auto} (see {@link DataLoader.Builder#adaptivePrefetch}). */
    DataLoader loader(Dataset dataset, String prefetch) throws IOException {
      return loader(dataset, prefetch, epoch);
    }

    /** Like {@link #loader(Dataset, String)}, for epoch {@code epochNumber}. */
    DataLoader loader(Dataset dataset, String prefetch, long epochNumber) throws IOException {
      return loader(dataset, prefetch, epochNumber, ReaderPriority.NORMAL);
    }

    /** Like {@link #loader(Dataset, String, long)}, with readers of the given priority. */
    DataLoader loader(Dataset dataset, String prefetch, long epochNumber, ReaderPriority priority) throws IOException {
      boolean auto = isAuto(prefetch);
      DataLoader.Builder b = DataLoader.builder(dataset).batchSize(batch).epoch(epochNumber).shuffleBlock(shuffleBlock).readers(readers())
          .readerPriority(priority)
          .prefetch(auto ? AUTO_START : depth(prefetch)).adaptivePrefetch(auto).memoryLimit(size(memory, "--memory"));
      if (seed != null) {
        b.shuffle(seed);
      }
      int[] r = fraction(rank, "--rank");
      int[] w = fraction(worker, "--worker");
      b.rank(r[0], r[1]).worker(w[0], w[1]);
      if (resume != null) {
        LoaderState s = resumed();
        // the resumed epoch continues where the state stands; the epochs after it start whole
        b.resume(epochNumber == s.epoch() ? s
            : new LoaderState(s.dataset(), s.seed(), epochNumber, s.shuffle(), s.shuffleBlock(), s.rank(), s.worldSize(), s.worker(),
                s.workers(), 0));
      }
      return b.build();
    }

    /** The epoch a run starts with: the resumed state's, or {@code --epoch}. */
    long firstEpoch() throws IOException {
      return resume != null ? resumed().epoch() : epoch;
    }

    private LoaderState resumedState;

    /** The state of --resume, read once: each epoch's loader of a run starts from it. */
    private LoaderState resumed() throws IOException {
      if (resumedState == null) {
        LoaderState state;
        try {
          state = LoaderState.parse(Files.readString(resume));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("Invalid --resume " + resume + ": " + e.getMessage(), e);
        }
        refuseWhatTheStateSaysOtherwise(state);
        resumedState = state;
      }
      return resumedState;
    }

    private static int depth(String prefetch) {
      try {
        return Integer.parseInt(prefetch.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("Invalid --prefetch '" + prefetch + "': expected a number of batches (0..4096) or auto");
      }
    }

    /**
     * The position a state records is one of the order its settings give: a loader resumed from it
     * follows them, whatever else was given. Given otherwise (another --shuffle, --rank, ...),
     * they were ignored without a word, and a rank resumed as another rank read its samples.
     */
    private void refuseWhatTheStateSaysOtherwise(LoaderState s) {
      if (given("--shuffle") && (!s.shuffle() || seed != s.seed())) {
        throw new IllegalArgumentException("Invalid --shuffle " + seed + ": the --resume state " + resume + " continues "
            + (s.shuffle() ? "an epoch shuffled with seed " + s.seed() + "; leave --shuffle out or give " + s.seed()
                : "an epoch in dataset order; leave --shuffle out"));
      }
      refuseOtherwise("--shuffle-block", String.valueOf(shuffleBlock), String.valueOf(s.shuffleBlock()), s);
      refuseOtherwise("--epoch", String.valueOf(epoch), String.valueOf(s.epoch()), s);
      int[] r = fraction(rank, "--rank");
      refuseOtherwise("--rank", r[0] + "/" + r[1], s.rank() + "/" + s.worldSize(), s);
      int[] w = fraction(worker, "--worker");
      refuseOtherwise("--worker", w[0] + "/" + w[1], s.worker() + "/" + s.workers(), s);
    }

    private void refuseOtherwise(String option, String value, String stateValue, LoaderState s) {
      if (given(option) && !value.equals(stateValue)) {
        throw new IllegalArgumentException("Invalid " + option + " " + value + ": the --resume state " + resume + " has " + option + " "
            + stateValue + "; leave " + option + " out or give " + stateValue);
      }
    }

    private boolean given(String option) {
      return spec != null && !spec.findOption(option).originalStringValues().isEmpty();
    }

    static int[] fraction(String text, String option) {
      String[] parts = text.split("/");
      try {
        if (parts.length == 2) {
          return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException("Invalid " + option + " '" + text + "': expected INDEX/COUNT, e.g. 0/4");
    }
  }

  @Command(name = "read", mixinStandardHelpOptions = true, description = "Stream a dataset through the data loader and report throughput.")
  static final class Read implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Dataset: a directory, or s3://bucket/prefix (see --endpoint-url).")
    String dir;

    @CommandLine.Mixin Location location = new Location();

    @CommandLine.Mixin LoaderOptions options = new LoaderOptions();

    @Option(names = "--prefetch", paramLabel = "P|auto", defaultValue = "auto",
        description = LoaderOptions.PREFETCH_HELP)
    String prefetch;

    @Option(names = "--state-out", paramLabel = "FILE", description = "Write the loader state after the last batch read (for --resume).")
    Path stateOut;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
      options.check();
      if (stateOut != null) {
        OutputFile.refuseDirectory(spec, "--state-out", stateOut, "state.json");
        OutputFile.checkWritable(stateOut, "--state-out"); // known now, not after the whole read
      }
      try (BlobStore store = location.existing(dir);
          BlobStore cacheStore = options.cache == null ? null : Stores.local(options.cache, false);
          Dataset dataset = options.open(dir, store, cacheStore);
          DataLoader loader = options.loader(dataset, prefetch)) {
        long started = System.nanoTime();
        long batches = 0;
        Iterator<Batch> it = loader.iterator();
        while (it.hasNext() && (options.maxBatches == null || batches < options.maxBatches)) {
          it.next().close();
          batches++;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        LoaderStats stats = loader.stats();
        if (stateOut != null) {
          // a crash while writing leaves the previous state, never half a file that --resume refuses
          OutputFile.writeAtomically(stateOut, loader.state().toJson());
        }
        Map<String, Object> report = readReport(stats, seconds);
        report.put("readers", options.readers());
        print(spec.commandLine().getOut(), report, json, "read " + dir);
      }
      return Main.OK;
    }
  }

  static Map<String, Object> readReport(LoaderStats stats, double seconds) {
    ShardCacheStats shards = stats.shards();
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("samples", stats.samples());
    r.put("batches", stats.batches());
    r.put("seconds", round(seconds));
    r.put("samplesPerSecond", round(stats.samples() / Math.max(seconds, 1e-9)));
    r.put("decodedMBps", round(stats.bytesDecoded() / 1e6 / Math.max(seconds, 1e-9)));
    r.put("readMBps", round(shards.storedBytesRead() / 1e6 / Math.max(seconds, 1e-9)));
    r.put("bytesDecoded", stats.bytesDecoded());
    r.put("bytesRead", shards.storedBytesRead());
    r.put("cacheHitRate", nanToNull(shards.hitRate()));
    r.put("cacheHits", shards.hits());
    r.put("cacheMisses", shards.misses());
    r.put("cacheEvictions", shards.evictions());
    r.put("prefetchAccuracy", nanToNull(stats.prefetchAccuracy()));
    r.put("prefetchedBatches", stats.prefetched());
    r.put("prefetchDepth", stats.prefetchDepth());
    r.put("peakBufferedBytes", stats.peakBufferedBytes());
    return r;
  }

  static Object nanToNull(double v) {
    return Double.isNaN(v) ? null : round(v);
  }

  static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }

  static void print(PrintWriter o, Map<String, Object> report, boolean json, String title) {
    if (json) {
      Output.json(o, report);
      return;
    }
    o.println(title);
    for (var e : report.entrySet()) {
      o.printf(Locale.ROOT, "  %-26s %s%n", e.getKey(), e.getValue() == null ? "-" : e.getValue());
    }
    o.flush();
  }

  @Command(name = "bench", mixinStandardHelpOptions = true,
      description = {"Run emulated training epochs (sleep per batch, as MLPerf Storage does) and report accelerator utilization.",
          "Utilization is compute time over wall time, first batch excluded, over the run and per epoch, with compute time as "
              + "MLPerf Storage's DLIO measures it (a sleep that wakes late computed longer); strictUtilization counts only the "
              + "compute asked for, and overrunMs is the difference. Also throughput, wait per batch, cache hit rate and prefetch "
              + "accuracy."})
  static final class Bench implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Dataset: a directory, or s3://bucket/prefix (see --endpoint-url).")
    String dir;

    @CommandLine.Mixin Location location = new Location();

    @CommandLine.Mixin LoaderOptions options = new LoaderOptions();

    @Option(names = "--compute-ms", paramLabel = "X", required = true, description = "Emulated compute time per batch, in milliseconds.")
    double computeMs;

    @Option(names = "--prefetch", paramLabel = "P|auto", defaultValue = "auto",
        description = LoaderOptions.PREFETCH_HELP)
    String prefetch;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1",
        description = "Epochs to run back to back (from --epoch on; each next epoch's loader starts reading when the one before "
            + "has finished its reads); utilization is over all of them, first batch excluded (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--sweep-prefetch", paramLabel = "P", split = ",",
        description = "Run one epoch per prefetch depth (numbers, or auto) and print depth against utilization and memory.")
    List<String> sweep;

    @Option(names = "--launch", paramLabel = "sync|async", defaultValue = "sync",
        description = {"sync: the accelerator's thread sleeps each batch's compute, then takes the next batch, as MLPerf Storage "
            + "emulates it; async: the emulated device computes while the thread already takes the next batch (one batch queued, "
            + "as CUDA streams or JAX dispatch run a training loop), so only storage that is late by more than a batch idles it "
            + "(default: ${DEFAULT-VALUE})."})
    String launch;

    @Option(names = "--short-slice", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = {"Ask the kernel for a short time slice for the accelerator's thread (Linux 6.12+), so that it wakes from its "
            + "compute on time while the readers keep the cores busy, as a training loop's feeding thread should "
            + "(default: on; --no-short-slice to compare)."})
    boolean shortSlice;

    @Option(names = "--background-readers", negatable = true, defaultValue = "false", fallbackValue = "true",
        description = {"Run the loader's readers in the background (Linux SCHED_IDLE): they read on the CPU time the accelerator's "
            + "thread leaves, and that thread takes a core from them the moment it wakes (default: off; on this project's 2-core "
            + "machines it helped large samples by about a point of utilization and small ones not at all)."})
    boolean backgroundReaders;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    private ReaderPriority priority() {
      return backgroundReaders ? ReaderPriority.BACKGROUND : ReaderPriority.NORMAL;
    }

    @Override
    public Integer call() throws IOException {
      if (computeMs < 0) {
        throw new IllegalArgumentException("Invalid --compute-ms " + computeMs + ": must be >= 0");
      }
      if (epochs < 1) {
        throw new IllegalArgumentException("Invalid --epochs " + epochs + ": must be >= 1");
      }
      if (!launch.equals("sync") && !launch.equals("async")) {
        throw new IllegalArgumentException("Invalid --launch " + launch + ": allowed are sync and async");
      }
      options.check();
      List<String> depths = sweep == null || sweep.isEmpty() ? List.of(prefetch) : sweep;
      List<Map<String, Object>> runs = new ArrayList<>();
      try (BlobStore store = location.existing(dir); BlobStore cacheStore = options.cache == null ? null : Stores.local(options.cache, false);
          Dataset dataset = options.open(dir, store, cacheStore)) {
        for (String depth : depths) {
          runs.add(run(dataset, depth));
        }
      }
      PrintWriter o = spec.commandLine().getOut();
      if (depths.size() == 1) {
        print(o, runs.get(0), json, "bench " + dir + ": batch " + options.batch + ", compute " + computeMs + " ms/batch, prefetch " + depths.get(0));
        return Main.OK;
      }
      if (json) {
        Output.json(o, runs);
        return Main.OK;
      }
      o.printf(Locale.ROOT, "bench %s: batch %d, compute %.1f ms/batch, readers %d%n", dir, options.batch, computeMs, options.readers());
      o.printf(Locale.ROOT, "%8s %12s %8s %12s %12s %12s %14s %16s%n", "prefetch", "utilization", "strict", "samples/s", "wait p50 ms",
          "wait p99 ms", "decoded MB/s", "buffered MiB peak");
      for (Map<String, Object> r : runs) {
        Object depth = "auto".equals(r.get("prefetch")) ? "auto:" + r.get("prefetchDepth") : r.get("prefetch");
        o.printf(Locale.ROOT, "%8s %12s %8s %12s %12s %12s %14s %16.1f%n", depth, r.get("utilization"), r.get("strictUtilization"),
            r.get("samplesPerSecond"), r.get("waitP50Ms"), r.get("waitP99Ms"), r.get("decodedMBps"),
            ((Number) r.get("peakBufferedBytes")).longValue() / 1048576.0);
      }
      o.flush();
      return Main.OK;
    }

    /** A batch as handed to the emulated accelerator, with the epoch it belongs to. */
    private record Handed(long epoch, Batch batch) {}

    /**
     * The loaders of a run's epochs, one per epoch. The first is built on the caller's thread; each
     * next one on a thread of its own, started before the run, once the accelerator has reached the
     * epoch before and that epoch's reads have all finished: from then on that epoch's readers are
     * idle, and the next epoch's reads fill that time. Started when the last reads were only
     * submitted, its reads took the cores from them, and the device waited 2-12 ms at the epoch's
     * last batches. Built on the accelerator's thread, the build (its reader threads started, its
     * first reads submitted) took 1.5-3 ms of every epoch's last batches; handed from that thread
     * to a new one when due, the first hand-off's cold code still cost the first epoch's last
     * batches 2-4 ms. The building thread also closes the loader of the epoch before.
     */
    private final class EpochLoaders implements AutoCloseable {
      private final Dataset dataset;
      private final String depth;
      private final long firstEpoch;
      // the loaders the accelerator has reached, in order (its thread only)
      private final List<DataLoader> reached = new ArrayList<>();
      // completed as the accelerator reaches each epoch's loader
      private final List<CompletableFuture<Void>> reaching = new ArrayList<>();
      // the next epoch's loader, or what failed building it
      private final BlockingQueue<Object> built = new ArrayBlockingQueue<>(1);
      private final CompletableFuture<Void> closing = new CompletableFuture<>();
      private final Thread builder;

      EpochLoaders(Dataset dataset, String depth) throws IOException {
        this.dataset = dataset;
        this.depth = depth;
        this.firstEpoch = options.firstEpoch();
        for (int k = 0; k < epochs; k++) {
          reaching.add(new CompletableFuture<>());
        }
        DataLoader first = options.loader(dataset, depth, firstEpoch, priority());
        // reads ahead from now on, as each next epoch's loader does, before the accelerator's first take
        first.prefetchAhead();
        reached.add(first);
        reaching.get(0).complete(null);
        builder = new Thread(() -> buildFrom(first), "dharmana-next-epoch");
        builder.setDaemon(true);
        builder.start();
      }

      DataLoader first() {
        return reached.get(0);
      }

      /** The loader of epoch {@code k} (from the first), once built: the accelerator waits for it here. */
      DataLoader reach(int k) {
        Object next;
        try {
          next = built.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("Cannot start epoch " + (firstEpoch + k) + ": interrupted", e);
        }
        if (next instanceof RuntimeException e) {
          throw e;
        }
        if (next instanceof Error e) {
          throw e;
        }
        DataLoader loader = (DataLoader) next;
        reached.add(loader);
        reaching.get(k).complete(null);
        return loader;
      }

      List<DataLoader> reached() {
        return reached;
      }

      private void buildFrom(DataLoader first) {
        DataLoader now = first;
        DataLoader before = null;
        try {
          for (int k = 1; k < epochs; k++) {
            if (!await(reaching.get(k - 1)) || !await(now.whenReadsFinished().toCompletableFuture())) {
              return;
            }
            if (before != null) {
              before.close(); // it handed out its last batch long ago: its idle readers go
            }
            DataLoader next = options.loader(dataset, depth, firstEpoch + k, priority());
            next.prefetchAhead();
            built.add(next);
            before = now;
            now = next;
          }
        } catch (IOException e) {
          built.add(new java.io.UncheckedIOException(e));
        } catch (RuntimeException | Error e) {
          built.add(e);
        }
      }

      /** Whether {@code due} completed; false once the run is closing. */
      private boolean await(CompletableFuture<Void> due) {
        try {
          CompletableFuture.anyOf(due, closing).get();
        } catch (InterruptedException e) {
          return false;
        } catch (ExecutionException e) {
          // a read failed: the accelerator meets it when it takes that batch
        }
        return !closing.isDone();
      }

      @Override
      public void close() {
        closing.complete(null);
        try {
          builder.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        for (Object unused : built) {
          if (unused instanceof DataLoader loader) {
            loader.close();
          }
        }
        for (DataLoader loader : reached) {
          loader.close();
        }
      }
    }

    private Map<String, Object> run(Dataset dataset, String depth) throws IOException {
      try (EpochLoaders loaders = new EpochLoaders(dataset, depth)) {
        long firstEpoch = loaders.firstEpoch;
        // the accelerator is done with a batch when it asks for the next one (launched
        // asynchronously: for the one after), and its buffers are recycled then
        boolean async = launch.equals("async");
        Iterator<Handed> limited = new Iterator<>() {
          long n;
          Batch previous;
          Batch queued; // launched asynchronously: the device may still compute the batch before previous
          int current;
          Iterator<Batch> batches = loaders.first().iterator();

          @Override
          public boolean hasNext() {
            if (options.maxBatches != null && n >= options.maxBatches) {
              return false;
            }
            while (!batches.hasNext() && current + 1 < epochs) {
              batches = loaders.reach(++current).iterator();
            }
            return batches.hasNext();
          }

          @Override
          public Handed next() {
            if (async) {
              if (queued != null) {
                queued.close();
              }
              queued = previous;
            } else if (previous != null) {
              previous.close();
            }
            n++;
            previous = batches.next();
            return new Handed(firstEpoch + current, previous);
          }
        };
        long faultsBefore = majorFaults();
        long started = System.nanoTime();
        AcceleratorStats acc;
        String slice;
        try (HostScheduling.Slice s = shortSlice ? HostScheduling.shortSlice(HostScheduling.MIN_SLICE) : null) {
          slice = s == null ? "default slice (--no-short-slice)" : s.describe();
          acc = EmulatedAccelerator.<Handed>of(Duration.ofNanos((long) (computeMs * 1e6)))
              .launching(async ? EmulatedAccelerator.Launch.ASYNCHRONOUS : EmulatedAccelerator.Launch.SYNCHRONOUS)
              .byEpoch(Handed::epoch)
              .run(limited);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        List<DataLoader> reached = loaders.reached();
        LoaderStats stats = reached.get(0).stats();
        for (DataLoader later : reached.subList(1, reached.size())) {
          stats = stats.plus(later.stats());
        }
        ShardCacheStats shards = stats.shards();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("prefetch", LoaderOptions.isAuto(depth) ? "auto" : (Object) Integer.parseInt(depth.trim()));
        r.put("epochs", epochs);
        r.put("launch", launch);
        r.put("utilization", nanToNull(acc.utilization()));
        r.put("strictUtilization", nanToNull(acc.strictUtilization()));
        // per epoch, as MLPerf Storage reports it: the first carries the process's warm-up (code
        // compiled as it first runs), which a long training run pays once
        r.put("epochUtilization", acc.epochs().stream().map(e -> nanToNull(e.utilization())).toList());
        r.put("utilizationAfterFirstEpoch", nanToNull(acc.utilizationAfterFirstEpoch()));
        r.put("waitP50Ms", round(acc.waitP50Nanos() / 1e6));
        r.put("waitP99Ms", round(acc.waitP99Nanos() / 1e6));
        r.put("waitMaxMs", round(acc.waitMaxNanos() / 1e6));
        r.put("firstBatchWaitMs", round(acc.firstWaitNanos() / 1e6));
        // how late the accelerator's thread woke from its computes (CPU contention, the host's
        // timers): what strictUtilization charges as idle
        r.put("overrunMs", round(acc.overrunNanos() / 1e6));
        r.put("acceleratorThread", slice);
        r.put("readerThreads", reached.get(0).readerThreads());
        double demand = stats.batches() == 0 || computeMs == 0 ? Double.NaN : stats.bytesDecoded() / (double) stats.batches() / 1e6 / (computeMs / 1e3);
        r.put("demandMBps", nanToNull(demand));
        r.putAll(readReport(stats, seconds));
        long faultsAfter = majorFaults();
        // pages this process had to read from disk during the run: on a warm page cache a
        // non-zero count explains waits that no prefetch depth removes
        r.put("majorFaults", faultsBefore < 0 || faultsAfter < 0 ? null : faultsAfter - faultsBefore);
        return r;
      }
    }
  }
}
