package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.InvalidDescriptorException;
import io.dharmana.NotFoundException;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * An ordered list of tiers (nearest first: memory, NVMe, HDD, an object store) seen as one blob
 * store, with data placed and moved by a {@link PlacementPolicy} and each tier's {@link TierSpec}.
 *
 * <ul>
 *   <li><b>Writes</b> land on the policy's write tier. Write-through: {@link BlobOutput#close()}
 *       returns only once the next lower tier has committed the blob too. Write-back: close
 *       commits on the write tier and queues a background copy to the next lower tier; {@link
 *       #flush()} waits for the queued copies.
 *   <li><b>Reads</b> try tiers nearest first; the tier that serves records a hit, the tiers tried
 *       before it a miss. A tier that fails to open the blob counts as a miss and the next tier
 *       is tried. With {@code promoteOnRead}, a blob served from below the write tier is copied
 *       into the write tier (before {@code open} returns) if it fits under its high watermark.
 *   <li><b>Demotion</b> ({@link #maintain()}): a tier above its high watermark moves its least
 *       recently used blobs to the next lower tier until it is at or below its low watermark, and
 *       blobs whose last access is older than the tier's {@code maxAge} move down too. A blob must
 *       leave a tier only after the next lower tier durably holds it: it is copied first and
 *       deleted after, so a failed copy leaves it where it was. The lowest tier never evicts.
 *       Blobs under the prefix given to {@link Builder#keepOnWriteTier} are never demoted, and one
 *       served from below the write tier is promoted into it whatever the policy says: a repository
 *       keeps its manifests there, so that listing what it holds never needs a lower tier.
 *   <li><b>Immutability</b> holds across tiers: a create fails with {@link
 *       AlreadyExistsException} if any tier holds the key. Writes, moves and deletes of one key
 *       are serialized in this process; tiers shared with other processes keep only each store's
 *       own guarantees.
 *   <li><b>A tier below the write tier that cannot be reached</b> (an object store whose endpoint
 *       is down) leaves the others usable: opened from a descriptor, a tier that cannot be opened
 *       is opened again on use, at most once per back-off, and used as soon as that succeeds.
 *       Meanwhile reads of blobs it alone holds fail naming it; write-back copies to it wait (in
 *       this process, retried by {@link #flush()} and maintenance) and nothing is demoted to it.
 *       A create cannot check it and succeeds if no tier that answers holds the key; a copy down
 *       that finds the key there keeps that tier's blob. So keys must name their content (as
 *       chunk and manifest keys do) for immutability to hold across an outage.
 * </ul>
 *
 * <p>Each tier's index (key, size, last access) lives in memory; it is built by listing the tier
 * when the store opens, with last access taken from the blob's last-modified time. Time comes
 * from an injected {@link Clock}. Maintenance runs on a background thread every {@code
 * maintenanceInterval} and after a write pushes a bounded tier above its high watermark, unless
 * the interval is zero (then only explicit {@link #maintain()} calls move data).
 *
 * <p>The tiered store owns its tiers' stores: {@link #close()} flushes queued copies and closes
 * them.
 */
public final class TieredStore implements BlobStore, SupportsListing, SupportsTouch {
  /** Maintenance interval of stores opened from a descriptor. */
  public static final Duration DEFAULT_MAINTENANCE_INTERVAL = Duration.ofSeconds(5);

  /**
   * How long a write-back copy may wait in the tier below before a maintenance pass makes it
   * durable there. A packed tier (an object store) buffers copies in an open pack that is stored
   * only when it fills or on {@link #flush()}; in a long-running process that writes little (a
   * gateway), copies would otherwise wait there for days, on the write tier alone. Longer than the
   * maintenance interval, so that a trickle of writes does not seal a small pack every pass.
   */
  public static final Duration SEAL_COPIES_AFTER = Duration.ofSeconds(60);

  private static final System.Logger LOG = System.getLogger(TieredStore.class.getName());
  private static final int COPY_BUFFER = 1 << 20;
  private static final int LOCK_STRIPES = 256;

  private final List<Level> levels;
  private final Level writeLevel;
  private final Level throughLevel; // next tier below the write tier when writing through, else null
  private final Level backLevel; // next tier below the write tier when writing back, else null
  /** Clock millis of the oldest write-back copy not yet made durable below, 0 if none. */
  private final java.util.concurrent.atomic.AtomicLong unsealedSince = new java.util.concurrent.atomic.AtomicLong();
  private final PlacementPolicy placement;
  private final String keptPrefix; // keys never demoted off the write tier; null: none
  private final Clock clock;
  private final Object[] keyLocks = new Object[LOCK_STRIPES];
  private final Object maintenanceLock = new Object();
  private final ExecutorService copier;
  private final ScheduledExecutorService maintainer;
  private final ConcurrentLinkedQueue<Future<?>> queuedCopies = new ConcurrentLinkedQueue<>();
  private final Set<String> failedCopies = ConcurrentHashMap.newKeySet();
  // write-back copies this process has queued and not finished: not for the catch-up to count
  private final Set<String> queuedKeys = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean maintenanceQueued = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean caughtUp; // copies that earlier processes left undone are queued
  private final AtomicBoolean catchUpOnWrite = new AtomicBoolean(); // catch up as the first copy down is queued

  private TieredStore(Builder builder) {
    List<Level> built = new ArrayList<>();
    for (Tier tier : builder.tiers) {
      built.add(new Level(tier, built.size(), builder.clock));
    }
    this.levels = List.copyOf(built);
    this.placement = builder.placement;
    this.keptPrefix = builder.keptPrefix;
    this.clock = builder.clock;
    for (int i = 0; i < keyLocks.length; i++) {
      keyLocks[i] = new Object();
    }
    Level write = null;
    for (Level level : levels) {
      if (level.tier.name().equals(placement.writeTier())) {
        write = level;
      }
    }
    this.writeLevel = write;
    Level next = write.depth + 1 < levels.size() ? levels.get(write.depth + 1) : null;
    this.throughLevel = placement.writeThrough() ? next : null;
    this.backLevel = placement.writeThrough() ? null : next;
    this.copier = Executors.newSingleThreadExecutor(daemon("dharmana-tier-copy"));
    Duration interval = builder.maintenanceInterval;
    if (interval.isZero()) {
      this.maintainer = null;
    } else {
      this.maintainer = Executors.newSingleThreadScheduledExecutor(daemon("dharmana-tier-maintenance"));
      long millis = Math.max(1, interval.toMillis());
      maintainer.scheduleWithFixedDelay(this::maintainQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }
  }

  private static ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** A builder for a tiered store over stores already opened. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Opens the tiers a descriptor lists, each through the {@link StoreFactory} registered for its
   * kind, with the descriptor's placement policy and fsync setting.
   *
   * @throws InvalidDescriptorException naming the tier, its kind and the registered kinds if a
   *     tier's kind has no registered factory
   */
  public static TieredStore open(StorageDescriptor descriptor, Path repositoryRoot) {
    return open(descriptor, repositoryRoot, null);
  }

  /**
   * As {@link #open(StorageDescriptor, Path)}, keeping blobs under {@code keptPrefix} on the write
   * tier (see {@link Builder#keepOnWriteTier}) unless it is null.
   */
  public static TieredStore open(StorageDescriptor descriptor, Path repositoryRoot, String keptPrefix) {
    Objects.requireNonNull(descriptor, "descriptor");
    Objects.requireNonNull(repositoryRoot, "repositoryRoot");
    List<Tier> tiers = new ArrayList<>();
    try {
      for (TierSpec spec : descriptor.tiers()) {
        Supplier<BlobStore> opener = () -> Stores.forTier(spec, repositoryRoot, descriptor.consistency().fsync());
        BlobStore store;
        try {
          store = opener.get();
        } catch (UncheckedIOException e) {
          if (spec.name().equals(descriptor.placement().writeTier())) {
            throw openFailure(spec, e);
          }
          // A lower tier's server that is down must not take the tiers above with it: what they
          // hold stays readable and writable, and the tier is opened again once it answers.
          LOG.log(System.Logger.Level.WARNING, openFailure(spec, e).getMessage()
              + "; using the other tiers and trying again later");
          store = new ReopeningStore(describe(spec), opener, e, System::nanoTime);
        }
        tiers.add(Tier.of(store, spec));
      }
      Builder builder = builder().placement(descriptor.placement()).maintenanceInterval(DEFAULT_MAINTENANCE_INTERVAL);
      if (keptPrefix != null) {
        builder.keepOnWriteTier(keptPrefix);
      }
      tiers.forEach(builder::addTier);
      return builder.build();
    } catch (RuntimeException e) {
      for (Tier tier : tiers) {
        tier.store().close();
      }
      throw e;
    }
  }

  private static String describe(TierSpec spec) {
    return spec.name() + " (" + spec.location() + ")";
  }

  /** Which tier, when it is one of several and the cause is a server that is down. */
  private static UncheckedIOException openFailure(TierSpec spec, UncheckedIOException e) {
    IOException cause = e.getCause();
    return new UncheckedIOException("Cannot open tier " + describe(spec) + ": "
        + (cause.getMessage() != null ? cause.getMessage() : cause), cause);
  }

  /**
   * Fails if a tier could not be opened when this store was: for a caller about to record that
   * the tiers exist (an init), which must not succeed against a server it never reached.
   *
   * @throws UncheckedIOException naming the first such tier and why its last open failed
   */
  public void requireTiersOpened() {
    for (Level level : levels) {
      if (level.tier.store() instanceof ReopeningStore reopening && reopening.failure() != null) {
        throw openFailure(level.tier.spec(), reopening.failure());
      }
    }
  }

  /** Builds a {@link TieredStore}; each setting may be set once. */
  public static final class Builder {
    private final List<Tier> tiers = new ArrayList<>();
    private PlacementPolicy placement;
    private Clock clock;
    private Duration maintenanceInterval;
    private String keptPrefix;

    private Builder() {}

    /** Adds the next (lower) tier. */
    public Builder addTier(Tier tier) {
      Objects.requireNonNull(tier, "tier");
      for (Tier existing : tiers) {
        if (existing.name().equals(tier.name())) {
          throw new InvalidDescriptorException("Invalid storage.tiers: tier name '" + tier.name() + "' is used twice");
        }
      }
      tiers.add(tier);
      return this;
    }

    /** Where writes land and how they reach lower tiers; defaults to writing back to the first tier. */
    public Builder placement(PlacementPolicy placement) {
      checkUnset(this.placement, "placement");
      this.placement = Objects.requireNonNull(placement, "placement");
      return this;
    }

    /** The clock last-access times and age rules use; defaults to the system UTC clock. */
    public Builder clock(Clock clock) {
      checkUnset(this.clock, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How often background maintenance runs; {@link Duration#ZERO} turns background maintenance
     * off (also after writes), leaving it to {@link TieredStore#maintain()}. Defaults to zero.
     */
    public Builder maintenanceInterval(Duration interval) {
      checkUnset(this.maintenanceInterval, "maintenanceInterval");
      Objects.requireNonNull(interval, "interval");
      if (interval.isNegative()) {
        throw new IllegalArgumentException("Invalid maintenance interval " + interval + ": must be >= 0");
      }
      this.maintenanceInterval = interval;
      return this;
    }

    /**
     * Keys starting with {@code keyPrefix} stay on the write tier: maintenance never demotes them,
     * and a read served from below copies them back up. For small blobs that a listing needs (a
     * repository's manifests), so that it works while a lower tier cannot be reached; the data
     * blobs, which are what fills a tier, move as the policy says. Defaults to none.
     */
    public Builder keepOnWriteTier(String keyPrefix) {
      checkUnset(this.keptPrefix, "keepOnWriteTier");
      this.keptPrefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
      if (keyPrefix.isEmpty()) {
        throw new IllegalArgumentException("Invalid key prefix '': it would keep every blob on the write tier");
      }
      return this;
    }

    private static void checkUnset(Object value, String name) {
      if (value != null) {
        throw new IllegalStateException("Cannot set " + name + " twice");
      }
    }

    /**
     * @throws InvalidDescriptorException if there are no tiers or the write tier is not one of them
     */
    public TieredStore build() {
      if (tiers.isEmpty()) {
        throw new InvalidDescriptorException("Invalid storage.tiers: at least one tier is required");
      }
      if (placement == null) {
        placement = PlacementPolicy.defaults(tiers.get(0).name());
      }
      if (tiers.stream().noneMatch(t -> t.name().equals(placement.writeTier()))) {
        List<String> names = tiers.stream().map(Tier::name).toList();
        throw new InvalidDescriptorException(
            "Invalid storage.placement.writeTier '" + placement.writeTier() + "': allowed are the tier names " + names);
      }
      if (clock == null) {
        clock = Clock.systemUTC();
      }
      if (maintenanceInterval == null) {
        maintenanceInterval = Duration.ZERO;
      }
      return new TieredStore(this);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // BlobStore

  @Override
  public BlobInput open(String key) {
    return serve(key, "open", BlobStore::open, in -> in);
  }

  /** Like {@link #open}, tier by tier, each tier's store reading as its {@link BlobStore#readBuffer} does. */
  @Override
  public ByteBuffer readBuffer(String key) {
    return serve(key, "read", BlobStore::readBuffer, InMemoryInput::of).buffer();
  }

  /**
   * Serves {@code key} from the first tier that holds it, counting a miss on every tier above
   * and a hit on that one, and promotes it when the placement asks.
   */
  private <T, I extends BlobInput> I serve(String key, String action, BiFunction<BlobStore, String, T> read,
      Function<T, I> input) {
    Keys.check(key);
    ensureOpen(action + " " + key);
    long now = clock.millis();
    UncheckedIOException failure = null;
    for (Level level : levels) {
      I in;
      try {
        in = input.apply(read.apply(level.tier.store(), key));
      } catch (NotFoundException e) {
        level.misses.increment();
        continue;
      } catch (UncheckedIOException e) {
        // A failing tier must not hide a copy further down; report it only if none serves.
        level.misses.increment();
        failure = failure == null ? e : failure;
        continue;
      }
      level.hits.increment();
      if (!level.accessed(key, now)) {
        indexUnknown(level, key, in.length(), now);
      }
      if ((placement.promoteOnRead() || kept(key)) && level.depth > writeLevel.depth) {
        promote(level, key, in, now);
      }
      return in;
    }
    if (failure != null) {
      throw new UncheckedIOException("Cannot " + action + " " + key + ": no tier served it; " + failure.getMessage(), failure.getCause());
    }
    throw new NotFoundException("Cannot " + action + " " + key + ": no tier holds it (tiers " + tierNames() + ")");
  }

  @Override
  public BlobOutput create(String key) {
    Keys.check(key);
    ensureOpen("create " + key);
    BlobOutput primary = writeLevel.tier.store().create(key);
    BlobOutput through = null;
    if (throughLevel != null) {
      try {
        through = throughLevel.tier.store().create(key);
      } catch (RuntimeException e) {
        primary.abort();
        throw e;
      }
    }
    return new TieredOutput(key, primary, through);
  }

  /**
   * As {@link #create}, writing {@code bytes} and closing, except that the write tier is handed
   * the array whole at the commit ({@link BlobStore#write}), so that a store with a better path
   * for a whole array takes it: a packed tier appends it to its pack as it is instead of first
   * buffering a copy, so a put's chunks are copied once less.
   */
  @Override
  public void write(String key, byte[] bytes) {
    Keys.check(key);
    ensureOpen("create " + key);
    BlobOutput through = throughLevel == null ? null : throughLevel.tier.store().create(key);
    new TieredOutput(key, new WholeArrayOutput(writeLevel.tier.store(), key, bytes), through).writeAndCommit(bytes);
  }

  /**
   * The write tier's output for {@link #write(String, byte[])}: takes exactly the one array the
   * caller holds unchanged until the commit, and gives it to the store whole at close.
   */
  private static final class WholeArrayOutput extends BlobOutput {
    private final BlobStore store;
    private final String key;
    private final byte[] bytes;
    private long written;
    private boolean done;

    WholeArrayOutput(BlobStore store, String key, byte[] bytes) {
      this.store = store;
      this.key = key;
      this.bytes = bytes;
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public long written() {
      return written;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (done || b != bytes || off != 0 || len != bytes.length || written != 0) {
        throw new IOException("Cannot write to " + key + ": this output takes its one array once, whole");
      }
      written = len;
    }

    @Override
    public void close() {
      if (!done) {
        done = true;
        store.write(key, bytes);
      }
    }

    @Override
    public void abort() {
      done = true;
    }
  }

  @Override
  public boolean delete(String key) {
    Keys.check(key);
    ensureOpen("delete " + key);
    boolean deleted = false;
    synchronized (lockFor(key)) {
      for (Level level : levels) {
        deleted |= level.tier.store().delete(key);
        level.released(key);
      }
      failedCopies.remove(key);
    }
    return deleted;
  }

  /**
   * Whether any tier holds the blob.
   *
   * @throws UncheckedIOException if no tier that could be asked holds it and a tier could not be
   *     asked (its server down): then nobody can tell
   */
  @Override
  public boolean exists(String key) {
    Keys.check(key);
    UncheckedIOException failure = null;
    for (Level level : levels) {
      try {
        if (level.tier.store().exists(key)) {
          return true;
        }
      } catch (UncheckedIOException e) {
        failure = failure == null ? e : failure;
      }
    }
    if (failure != null) {
      throw failure;
    }
    return false;
  }

  /**
   * Durable if a committed blob survives a machine crash at once: the write tier is durable, or
   * writes go through to a durable tier.
   */
  @Override
  public boolean durable() {
    return writeLevel.tier.store().durable() || (throughLevel != null && throughLevel.tier.store().durable());
  }

  /** Blobs held by any tier that can list, deduplicated (the nearest tier's entry wins), sorted. */
  @Override
  public Stream<BlobInfo> list(String prefix) {
    return list(prefix, null);
  }

  /**
   * As {@link #list(String)}; but when {@code unlisted} is given, a tier that cannot be listed now
   * (an S3 endpoint that is down) is skipped and its name passed to it. For read-outs that can show
   * part of the picture and say so; garbage collection must see every tier and fails instead.
   */
  public Stream<BlobInfo> list(String prefix, java.util.function.Consumer<String> unlisted) {
    Objects.requireNonNull(prefix, "prefix");
    TreeMap<String, BlobInfo> merged = new TreeMap<>();
    for (Level level : levels) {
      if (level.tier.store() instanceof SupportsListing listing) {
        try (Stream<BlobInfo> infos = listing.list(prefix)) {
          infos.forEach(info -> merged.putIfAbsent(info.key(), info));
        } catch (UncheckedIOException e) {
          if (unlisted == null) {
            throw e;
          }
          unlisted.accept(level.tier.name());
        }
      }
    }
    return merged.values().stream();
  }

  /**
   * Makes what other processes committed to the tiers since the last refresh readable here at
   * once: a packed tier otherwise loads new pack indexes on a miss, at most every 200 ms.
   */
  public void refresh() {
    ensureOpen("refresh");
    for (Level level : levels) {
      if (opened(level) instanceof PackedBlobStore packed) {
        packed.refresh();
      }
    }
  }

  /** {@link PackedBlobStore#releaseDeletedPacks} on each packed tier. */
  public void releaseDeletedPacks() {
    ensureOpen("release deleted packs");
    for (Level level : levels) {
      if (opened(level) instanceof PackedBlobStore packed) {
        packed.releaseDeletedPacks();
      }
    }
  }

  /** Touches the blob on every tier holding it and refreshes its last access. */
  @Override
  public boolean touch(String key) {
    Keys.check(key);
    ensureOpen("touch " + key);
    long now = clock.millis();
    boolean touched = false;
    for (Level level : levels) {
      BlobStore store = level.tier.store();
      boolean held;
      try {
        held = store instanceof SupportsTouch touching ? touching.touch(key) : store.exists(key);
      } catch (UncheckedIOException e) {
        if (level == writeLevel) {
          throw e;
        }
        // a last access only steers demotion; a tier that cannot be asked now keeps its older one
        LOG.log(System.Logger.Level.DEBUG, "Cannot touch " + key + " on tier " + level.tier.name() + ": " + e.getMessage());
        continue;
      }
      if (held) {
        touched = true;
        Level.Entry entry = level.index().get(key);
        if (entry != null) {
          entry.lastAccess = now;
        }
      }
    }
    return touched;
  }

  /** Finishes queued write-back copies, then closes every tier's store. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    copier.shutdown();
    try {
      if (maintainer != null) {
        // Let a running pass finish before its stores close; interrupting would not stop it.
        maintainer.shutdownNow();
        maintainer.awaitTermination(1, TimeUnit.MINUTES);
      }
      if (!copier.awaitTermination(5, TimeUnit.MINUTES)) {
        LOG.log(System.Logger.Level.WARNING, "Cannot finish write-back copies within 5 minutes; closing anyway");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!failedCopies.isEmpty()) {
      LOG.log(System.Logger.Level.WARNING,
          "Closing with " + failedCopies.size() + " blobs held only by write tier " + writeLevel.tier.name());
    }
    for (Level level : levels) {
      try {
        level.tier.store().close();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "Cannot close tier " + level.tier.name() + ": " + e.getMessage(), e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Tier operations

  /** Names of the tiers, nearest first. */
  public List<String> tierNames() {
    return levels.stream().map(l -> l.tier.name()).toList();
  }

  /**
   * Names of the tiers that hold {@code key} now, nearest first. A tier that cannot be asked (its
   * server down) is left out: it is not known to hold the blob.
   */
  public List<String> tiersHolding(String key) {
    Keys.check(key);
    List<String> holding = new ArrayList<>();
    for (Level level : levels) {
      try {
        if (level.tier.store().exists(key)) {
          holding.add(level.tier.name());
        }
      } catch (UncheckedIOException e) {
        LOG.log(System.Logger.Level.DEBUG, "Cannot ask tier " + level.tier.name() + " for " + key + ": " + e.getMessage());
      }
    }
    return holding;
  }

  /**
   * The bytes of {@code key} as tier {@code tier} holds them: read from that tier alone, counted
   * nowhere and promoted nowhere (what a check of every copy reads).
   *
   * @throws NotFoundException if that tier does not hold it
   */
  public byte[] readFrom(String tier, String key) {
    Keys.check(key);
    ensureOpen("read " + key + " from tier " + tier);
    return level(tier).tier.store().read(key);
  }

  /**
   * Replaces tier {@code tier}'s copy of {@code key} (a damaged one) with {@code good}, the bytes
   * another tier holds (the caller checked them): the damaged copy is deleted and the good one
   * written in its place, so the tier holds the blob again, as its placement had it.
   */
  public void rewriteIn(String tier, String key, byte[] good) {
    Keys.check(key);
    ensureOpen("rewrite " + key + " in tier " + tier);
    Level level = level(tier);
    synchronized (lockFor(key)) {
      level.tier.store().delete(key);
      level.released(key);
      level.tier.store().write(key, good);
      level.held(key, good.length, clock.millis());
    }
  }

  private Level level(String tier) {
    return levels.stream().filter(l -> l.tier.name().equals(tier)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("Invalid tier '" + tier + "': the tiers are " + tierNames()));
  }

  /** A snapshot of every tier's counters, nearest tier first. */
  public List<TierStats> stats() {
    return levels.stream().map(Level::snapshot).toList();
  }

  /**
   * Bytes of the distinct blobs the tiers hold, each counted once however many tiers hold a copy
   * (at the nearest tier's size), from the indexes {@link #stats()} counts each tier's bytes held
   * with: no listing beyond the one that loads a tier's index. A tier whose index cannot be loaded
   * now (an S3 endpoint that is down) is left out and its name passed to {@code unlisted}.
   */
  public long distinctBytesHeld(java.util.function.Consumer<String> unlisted) {
    java.util.Set<String> counted = new java.util.HashSet<>();
    long bytes = 0;
    for (Level level : levels) {
      Map<String, Level.Entry> index;
      try {
        index = level.index();
      } catch (UncheckedIOException e) {
        unlisted.accept(level.tier.name());
        continue;
      }
      for (Map.Entry<String, Level.Entry> e : index.entrySet()) {
        if (counted.add(e.getKey())) {
          bytes += e.getValue().size;
        }
      }
    }
    return bytes;
  }

  /**
   * Waits until every queued write-back copy has finished, then retries the copies that failed.
   *
   * @throws UncheckedIOException if some blobs still could not be copied to the next lower tier;
   *     they stay on the write tier and are retried by later flushes and maintenance
   */
  public void flush() {
    ensureOpen("flush");
    Future<?> queued;
    while ((queued = queuedCopies.poll()) != null) {
      try {
        queued.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UncheckedIOException(new InterruptedIOException("Cannot flush: interrupted"));
      } catch (ExecutionException e) {
        // copyBack records its own failures in failedCopies
      }
    }
    IOException failure = retryFailedCopies();
    if (failure == null && backLevel != null) {
      try {
        sync(backLevel);
      } catch (IOException e) {
        failure = e;
      }
    }
    if (failure != null) {
      throw new UncheckedIOException(
          "Cannot flush: " + failedCopies.size() + " blobs could not be copied from tier "
              + writeLevel.tier.name() + " to tier " + backLevel.tier.name() + ": " + failure.getMessage(),
          failure);
    }
  }

  /**
   * Moves data down: for each tier above the lowest, nearest first, blobs whose last access is
   * older than the tier's maxAge, then least recently used blobs while the tier is above its high
   * watermark, until it is at or below its low watermark. A blob whose copy fails stays where it
   * is; kept blobs never move. Also retries failed write-back copies, makes those that have waited
   * {@link #SEAL_COPIES_AFTER} durable below, and on its first run copies down what the write tier
   * holds and the tier below lacks: copies an earlier process could not make.
   */
  public void maintain() {
    ensureOpen("maintain");
    synchronized (maintenanceLock) {
      catchUpCopies();
      retryFailedCopies();
      long now = clock.millis();
      sealAgedCopies(now);
      for (int i = 0; i + 1 < levels.size() && !closed.get(); i++) {
        Level level = levels.get(i);
        Level lower = levels.get(i + 1);
        List<String> moving = new ArrayList<>();
        java.util.Set<String> chosen = new java.util.HashSet<>();
        Duration maxAge = level.tier.spec().maxAge();
        List<String> movable = level.leastRecentlyUsed();
        movable.removeIf(this::kept);
        if (maxAge != null) {
          long cutoff = now - maxAge.toMillis();
          for (String key : movable) {
            Level.Entry entry = level.index().get(key);
            if (entry != null && entry.lastAccess < cutoff && chosen.add(key)) {
              moving.add(key);
            }
          }
        }
        if (level.aboveHighWatermark()) {
          long target = (long) (level.tier.spec().lowWatermark() * level.tier.spec().capacityBytes());
          long bytes = level.bytes();
          for (String key : movable) {
            if (bytes <= target) {
              break;
            }
            Level.Entry entry = level.index().get(key);
            if (entry != null && chosen.add(key)) {
              moving.add(key);
              bytes -= entry.size;
            }
          }
        }
        demote(level, lower, moving);
      }
    }
  }

  /** Makes the write-back copies durable below once the oldest has waited {@link #SEAL_COPIES_AFTER}. */
  private void sealAgedCopies(long now) {
    long since = unsealedSince.get();
    if (backLevel == null || since == 0 || now - since < SEAL_COPIES_AFTER.toMillis() || !unsealedSince.compareAndSet(since, 0)) {
      return;
    }
    try {
      sync(backLevel); // copies finished meanwhile are sealed too; they set the mark again, costing one more seal
    } catch (IOException | RuntimeException e) {
      unsealedSince.compareAndSet(0, since); // tried again next pass
      LOG.log(System.Logger.Level.WARNING, "Cannot make the write-back copies on tier " + backLevel.tier.name() + " durable: "
          + e.getMessage() + "; they stay on tier " + writeLevel.tier.name() + " too, and this is tried again");
    }
  }

  /** Whether {@code key} is kept on the write tier (never demoted). */
  private boolean kept(String key) {
    return keptPrefix != null && key.startsWith(keptPrefix);
  }

  private void maintainQuietly() {
    maintenanceQueued.set(false);
    if (closed.get()) {
      return;
    }
    try {
      maintain();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Tier maintenance failed: " + e.getMessage(), e);
    }
  }

  private void afterAdding(Level level) {
    if (maintainer != null && level.aboveHighWatermark() && maintenanceQueued.compareAndSet(false, true)) {
      try {
        maintainer.execute(this::maintainQuietly);
      } catch (RejectedExecutionException e) {
        maintenanceQueued.set(false); // closing
      }
    }
  }

  /**
   * Copies blobs into the next lower tier, makes that tier durable (a packed tier seals its open
   * pack), and only then removes them here: a blob leaves a tier only once a lower tier durably
   * holds it. A blob whose copy fails stays where it is.
   */
  private void demote(Level level, Level lower, List<String> keys) {
    if (keys.isEmpty()) {
      return;
    }
    if (lower.tier.store() instanceof ReopeningStore reopening) {
      try {
        reopening.store("demote " + keys.size() + " blobs from tier " + level.tier.name() + " to");
      } catch (UncheckedIOException e) {
        // one warning for the pass, where each blob's copy would fail alike
        LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; they stay on " + level.tier.name());
        return;
      }
    }
    List<String> copied = new ArrayList<>();
    for (String key : keys) {
      synchronized (lockFor(key)) {
        Level.Entry entry = level.index().get(key);
        if (entry == null) {
          continue;
        }
        try {
          if (!lower.tier.store().exists(key)) {
            try (BlobInput in = level.tier.store().open(key)) {
              copy(in, lower.tier.store(), key);
            } catch (AlreadyExistsException e) {
              // Someone else put it there first: the lower tier holds it either way.
            }
          }
          lower.held(key, entry.size, entry.lastAccess);
          copied.add(key);
        } catch (NotFoundException e) {
          level.released(key); // deleted behind our back
        } catch (IOException | RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING,
              "Cannot demote " + key + " from tier " + level.tier.name() + " to tier " + lower.tier.name()
                  + ": " + e.getMessage() + "; it stays on " + level.tier.name());
        }
      }
    }
    if (copied.isEmpty()) {
      return;
    }
    try {
      sync(lower);
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Cannot make tier " + lower.tier.name() + " durable: " + e.getMessage()
          + "; " + copied.size() + " blobs stay on " + level.tier.name());
      return;
    }
    for (String key : copied) {
      synchronized (lockFor(key)) {
        Level.Entry entry = level.index().get(key);
        if (entry == null) {
          continue;
        }
        level.tier.store().delete(key);
        level.released(key);
        level.demotions.increment();
        level.bytesDemoted.add(entry.size);
      }
    }
  }

  /** Makes what a tier's store accepted durable: a store that buffers (packs) is flushed. */
  private static void sync(Level level) throws IOException {
    if (level.tier.store() instanceof java.io.Flushable f) {
      f.flush();
    }
  }

  /**
   * The commit barrier: when this returns, every blob whose output was closed before the call is
   * durable on the write tier (and, writing through, on the tier below). Callers must call it
   * before they commit anything that refers to those blobs. Write-back copies may still be queued.
   */
  public void sync() {
    ensureOpen("sync");
    try {
      sync(writeLevel);
      if (throughLevel != null) {
        sync(throughLevel);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot make tier " + writeLevel.tier.name() + " durable: " + e.getMessage(), e);
    }
  }

  /**
   * Reclaims space that deleted blobs hold inside packs and merges small packs: packed tiers
   * rewrite packs of which at least {@code minDeadFraction} is dead (see {@link
   * PackedBlobStore#repack}). Returns what the tiers did, together.
   */
  public PackedBlobStore.RepackResult compact(double minDeadFraction) {
    ensureOpen("compact");
    openEveryTier("compact");
    return eachPackedTier("compact", packed -> packed.repack(minDeadFraction));
  }

  /**
   * Merges small packs on packed tiers as a long-running writer can afford to between commits
   * (see {@link PackedBlobStore#mergeSmallPacks}). Returns what the tiers did, together.
   */
  public PackedBlobStore.RepackResult mergeSmallPacks() {
    ensureOpen("merge small packs");
    return eachPackedTier("merge small packs of", PackedBlobStore::mergeSmallPacks);
  }

  /** How many small packs {@link #compact} would merge now, on all tiers. */
  public int smallPacksToMerge() {
    ensureOpen("count small packs");
    int small = 0;
    for (Level level : levels) {
      if (opened(level) instanceof PackedBlobStore packed) {
        small += packed.smallPacksToMerge();
      }
    }
    return small;
  }

  /** A repack of each packed tier. */
  private interface Repack {
    PackedBlobStore.RepackResult run(PackedBlobStore packed) throws IOException;
  }

  private PackedBlobStore.RepackResult eachPackedTier(String what, Repack repack) {
    PackedBlobStore.RepackResult total = PackedBlobStore.RepackResult.NONE;
    for (Level level : levels) {
      if (opened(level) instanceof PackedBlobStore packed) {
        try {
          total = total.plus(repack.run(packed));
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot " + what + " tier " + level.tier.name() + ": " + e.getMessage(), e);
        }
      }
    }
    return total;
  }

  /**
   * Deletes, on packed tiers, packs a crash left without their index and that are older than
   * {@code grace} (see {@link PackedBlobStore#deleteOrphanPacks}). Returns how many went.
   */
  public int deleteOrphanPacks(Duration grace) {
    ensureOpen("delete orphan packs");
    openEveryTier("delete orphan packs of");
    int deleted = 0;
    for (Level level : levels) {
      if (opened(level) instanceof PackedBlobStore packed) {
        deleted += packed.deleteOrphanPacks(grace);
      }
    }
    return deleted;
  }

  /**
   * Indexes a blob a tier served but the index lacks: written by another process since the index
   * was built, or moved away by a demotion racing with this read (then the tier no longer holds
   * it and it must not be indexed again).
   */
  private void indexUnknown(Level level, String key, long size, long now) {
    synchronized (lockFor(key)) {
      if (!level.index().containsKey(key) && level.tier.store().exists(key)) {
        level.held(key, size, now);
      }
    }
  }

  private void promote(Level from, String key, BlobInput in, long now) {
    Level to = writeLevel;
    TierSpec spec = to.tier.spec();
    long length = in.length();
    if (spec.bounded() && length > spec.highWatermark() * spec.capacityBytes()) {
      return; // would not fit even in an empty tier
    }
    synchronized (lockFor(key)) {
      try {
        if (to.tier.store().exists(key) || !from.tier.store().exists(key)) {
          return; // promoted by another reader, or deleted meanwhile
        }
        copy(in, to.tier.store(), key);
        to.held(key, length, now);
        to.promotions.increment();
        to.bytesPromoted.add(length);
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.DEBUG, "Cannot promote " + key + " to tier " + to.tier.name() + ": " + e.getMessage());
        return;
      }
    }
    afterAdding(to);
  }

  private void queueCopyBack(String key) {
    queuedKeys.add(key);
    if (catchUpOnWrite.compareAndSet(true, false)) {
      queueCatchUp();
    }
    try {
      queuedCopies.add(copier.submit(() -> {
        try {
          copyBack(key);
        } finally {
          queuedKeys.remove(key);
        }
        return null;
      }));
    } catch (RejectedExecutionException e) {
      queuedKeys.remove(key);
      failedCopies.add(key); // closing: the blob stays on the write tier
    }
    // Keep the queue of finished futures short without waiting for a flush.
    queuedCopies.removeIf(Future::isDone);
  }

  /** Copies a blob from the write tier to the next lower tier; records a failure for a retry. */
  private void copyBack(String key) throws IOException {
    synchronized (lockFor(key)) {
      Level.Entry entry = writeLevel.index().get(key);
      try {
        if (entry != null && !backLevel.tier.store().exists(key)) {
          try (BlobInput in = writeLevel.tier.store().open(key)) {
            copy(in, backLevel.tier.store(), key);
          } catch (AlreadyExistsException | NotFoundException e) {
            // Held below already, or deleted meanwhile: nothing left to copy.
          }
        }
        if (entry != null && backLevel.tier.store().exists(key)) {
          backLevel.held(key, entry.size, entry.lastAccess);
          unsealedSince.compareAndSet(0, Math.max(1, clock.millis()));
        }
        failedCopies.remove(key);
      } catch (IOException | RuntimeException e) {
        failedCopies.add(key);
        throw e;
      }
    }
    afterAdding(backLevel);
  }

  /**
   * Once per store, writing back: takes every blob the write tier holds and the tier below lacks
   * for a failed copy, to be retried with the others. Such blobs are copies an earlier process
   * could not make (the tier below was down until it closed, or it was killed first); only this
   * process's own failures are remembered otherwise. Also copies back up the kept blobs (see
   * {@link Builder#keepOnWriteTier}) that only the tier below holds: demoted before they were
   * kept. Costs a listing of both tiers, which copies down load anyway. Skipped until the tier
   * below can be listed.
   */
  private void catchUpCopies() {
    if (backLevel == null || caughtUp) {
      return;
    }
    Map<String, Level.Entry> below;
    try {
      below = backLevel.index();
    } catch (UncheckedIOException e) {
      LOG.log(System.Logger.Level.DEBUG, "Cannot list tier " + backLevel.tier.name() + " yet: " + e.getMessage());
      return;
    }
    int missing = 0;
    for (String key : writeLevel.index().keySet()) {
      if (!below.containsKey(key) && !queuedKeys.contains(key) && failedCopies.add(key)) {
        missing++;
      }
    }
    caughtUp = true;
    long now = clock.millis();
    for (String key : below.keySet()) {
      if (kept(key) && !writeLevel.index().containsKey(key)) {
        try (BlobInput in = backLevel.tier.store().open(key)) {
          promote(backLevel, key, in, now);
        } catch (IOException | RuntimeException e) {
          LOG.log(System.Logger.Level.DEBUG, "Cannot copy " + key + " back to tier " + writeLevel.tier.name() + ": " + e.getMessage());
        }
      }
    }
    if (missing > 0) {
      LOG.log(System.Logger.Level.INFO, (missing == 1 ? "1 blob" : missing + " blobs") + " on tier " + writeLevel.tier.name()
          + (missing == 1 ? " is" : " are") + " not on tier " + backLevel.tier.name() + " yet; copying " + (missing == 1 ? "it" : "them"));
    }
  }

  /**
   * Asks for the catch-up of {@link #maintain()}'s first run (copies down that earlier processes
   * left undone) as soon as this store queues its first write-back copy, rather than at the first
   * maintenance pass, which a short command never reaches: its closing {@link #flush()} then makes
   * them. For a caller that knows an earlier process closed with copies undone; a store that only
   * reads never starts it.
   */
  public void catchUpWhenWriting() {
    if (backLevel != null && !caughtUp) {
      catchUpOnWrite.set(true);
    }
  }

  /** Queues the catch-up with the write-back copies, so that a flush waits for it. */
  private void queueCatchUp() {
    try {
      queuedCopies.add(copier.submit(() -> {
        synchronized (maintenanceLock) {
          catchUpCopies();
        }
        return retryFailedCopies();
      }));
    } catch (RejectedExecutionException e) {
      // closing: the next process catches up
    }
  }

  /**
   * Whether this store has compared the write tier with the tier below and taken what the tier
   * below lacked for copies (see {@link #maintain()}): then a {@link #flush()} that succeeds
   * leaves nothing that earlier processes left undone. False when not writing back.
   */
  public boolean caughtUp() {
    return caughtUp;
  }

  /** How many blobs the write tier holds that wait for a write-back copy that failed. */
  public int pendingCopies() {
    return failedCopies.size();
  }

  /**
   * Retries failed write-back copies; returns the last failure, or null if all succeeded. Three
   * failures in a row end the pass, the others left for the next: a tier below that stopped
   * answering fails every copy alike, each only after its client's retries, which would hold a
   * closing command for minutes.
   */
  private IOException retryFailedCopies() {
    IOException last = null;
    int failuresInARow = 0;
    for (String key : new ArrayList<>(failedCopies)) {
      try {
        copyBack(key);
        failuresInARow = 0;
      } catch (IOException e) {
        last = e;
        failuresInARow++;
      } catch (RuntimeException e) {
        last = new IOException(e.getMessage(), e);
        failuresInARow++;
      }
      if (failuresInARow == 3) {
        break;
      }
    }
    return last;
  }

  private static void copy(BlobInput in, BlobStore to, String key) throws IOException {
    long length = in.length();
    BlobOutput out = to.create(key);
    try {
      byte[] buffer = new byte[(int) Math.max(1, Math.min(COPY_BUFFER, length))];
      ByteBuffer view = ByteBuffer.wrap(buffer);
      long position = 0;
      while (position < length) {
        view.clear();
        int n = in.read(position, view);
        if (n < 0) {
          throw new EOFException("Cannot copy " + key + ": blob ended at " + position + " of " + length + " bytes");
        }
        out.write(buffer, 0, n);
        position += n;
      }
      out.close();
    } catch (IOException | RuntimeException e) {
      out.abort();
      throw e;
    }
  }

  /**
   * Whether a create of {@code key} must fail because {@code level} holds it. A tier below the
   * write tier that cannot be asked (its server down) is taken not to hold it, so that writes go
   * on while it is down; see the class comment for what that costs.
   */
  private boolean heldForCreate(Level level, String key) {
    try {
      return level.tier.store().exists(key);
    } catch (UncheckedIOException e) {
      if (level == writeLevel) {
        throw e;
      }
      LOG.log(System.Logger.Level.DEBUG, "Cannot ask tier " + level.tier.name() + " for " + key + " before creating it: "
          + e.getMessage());
      return false;
    }
  }

  /**
   * Opens the tiers that could not be opened so far, for work that must reach every tier.
   *
   * @throws UncheckedIOException naming a tier that still cannot be opened
   */
  private void openEveryTier(String action) {
    for (Level level : levels) {
      if (level.tier.store() instanceof ReopeningStore reopening) {
        reopening.store(action + " the tier");
      }
    }
  }

  /** A tier's store, or null if it could not be opened yet; never tries to open it. */
  private static BlobStore opened(Level level) {
    return level.tier.store() instanceof ReopeningStore reopening ? reopening.openedOrNull() : level.tier.store();
  }

  private Object lockFor(String key) {
    return keyLocks[(key.hashCode() & 0x7fffffff) % LOCK_STRIPES];
  }

  private void ensureOpen(String action) {
    if (closed.get()) {
      throw new IllegalStateException("Cannot " + action + ": the tiered store is closed");
    }
  }

  @Override
  public String toString() {
    return "tiered" + tierNames();
  }

  // ---------------------------------------------------------------------------------------------

  private final class TieredOutput extends BlobOutput {
    private final String key;
    private final BlobOutput primary;
    private final BlobOutput through;
    private boolean done;

    TieredOutput(String key, BlobOutput primary, BlobOutput through) {
      this.key = key;
      this.primary = primary;
      this.through = through;
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public long written() {
      return primary.written();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      if (done) {
        throw new IOException("Cannot write to " + key + ": the output is already closed or aborted");
      }
      primary.write(b, off, len);
      if (through != null) {
        through.write(b, off, len);
      }
    }

    @Override
    public synchronized void close() throws IOException {
      if (done) {
        return;
      }
      done = true;
      long size = primary.written();
      synchronized (lockFor(key)) {
        try {
          ensureOpen("commit " + key);
          // Every key change goes through this lock, so checking all tiers here makes the create
          // fail on a blob that has moved down or not yet been copied down.
          for (Level level : levels) {
            if (heldForCreate(level, key)) {
              throw new AlreadyExistsException(
                  "Cannot commit " + key + ": a blob with this key already exists on tier " + level.tier.name());
            }
          }
          if (through != null) {
            through.close();
          }
        } catch (IOException | RuntimeException e) {
          abortBoth();
          throw e;
        }
        long now = clock.millis();
        if (through != null) {
          throughLevel.held(key, size, now);
          try {
            primary.close();
            writeLevel.held(key, size, now);
          } catch (IOException e) {
            // The lower tier holds the blob, so it is committed; the write tier just lacks a copy.
            primary.abort();
            LOG.log(System.Logger.Level.DEBUG, "Cannot place " + key + " on tier " + writeLevel.tier.name() + ": " + e.getMessage());
          }
        } else {
          try {
            primary.close();
          } catch (IOException | RuntimeException e) {
            primary.abort();
            throw e;
          }
          writeLevel.held(key, size, now);
          if (backLevel != null) {
            queueCopyBack(key);
          }
        }
      }
      afterAdding(writeLevel);
      if (throughLevel != null) {
        afterAdding(throughLevel);
      }
    }

    private void abortBoth() {
      primary.abort();
      if (through != null) {
        through.abort();
      }
    }

    @Override
    public synchronized void abort() {
      done = true;
      abortBoth();
    }
  }

  /** One tier with its index of held blobs and its counters. */
  private static final class Level {
    static final class Entry {
      final long size;
      volatile long lastAccess;

      Entry(long size, long lastAccess) {
        this.size = size;
        this.lastAccess = lastAccess;
      }
    }

    final Tier tier;
    final int depth;
    private final Clock clock;
    private final ConcurrentHashMap<String, Entry> index = new ConcurrentHashMap<>();
    /**
     * Reads served before the index was loaded: key to time. Listing a tier costs a pass over
     * every blob it holds, which a process that only reads (a `get`) should not pay at open.
     */
    private final ConcurrentHashMap<String, Long> unindexedAccesses = new ConcurrentHashMap<>();
    private volatile boolean loaded;
    private final AtomicLong bytes = new AtomicLong();
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder promotions = new LongAdder();
    final LongAdder demotions = new LongAdder();
    final LongAdder bytesPromoted = new LongAdder();
    final LongAdder bytesDemoted = new LongAdder();

    Level(Tier tier, int depth, Clock clock) {
      this.tier = tier;
      this.depth = depth;
      this.clock = clock;
    }

    /** The index of held blobs, loaded from the tier's listing on first use. */
    ConcurrentHashMap<String, Entry> index() {
      if (!loaded) {
        load();
      }
      return index;
    }

    long bytes() {
      index();
      return bytes.get();
    }

    private synchronized void load() {
      if (loaded) {
        return;
      }
      long now = clock.millis();
      if (tier.store() instanceof SupportsListing listing) {
        try (Stream<BlobInfo> infos = listing.list("")) {
          infos.forEach(info -> add(info.key(), info.size(), Math.min(now, info.lastModified().toEpochMilli())));
        }
      }
      loaded = true;
      // drained after publishing, so an access racing with the load lands in one place or the other
      for (String key : unindexedAccesses.keySet()) {
        Long time = unindexedAccesses.remove(key);
        Entry entry = index.get(key);
        if (time != null && entry != null && entry.lastAccess < time) {
          entry.lastAccess = time;
        }
      }
    }

    void held(String key, long size, long lastAccess) {
      index();
      add(key, size, lastAccess);
    }

    private void add(String key, long size, long lastAccess) {
      index.compute(key, (k, old) -> {
        bytes.addAndGet(size - (old == null ? 0 : old.size));
        return new Entry(size, old == null ? lastAccess : Math.max(lastAccess, old.lastAccess));
      });
    }

    void released(String key) {
      index().computeIfPresent(key, (k, old) -> {
        bytes.addAndGet(-old.size);
        return null;
      });
    }

    /**
     * Refreshes the last access of a blob just read; returns false if the loaded index lacks it.
     * Before the index is loaded the access is kept aside and applied at load.
     */
    boolean accessed(String key, long now) {
      if (!loaded) {
        unindexedAccesses.merge(key, now, Math::max);
        return true;
      }
      Entry entry = index.get(key);
      if (entry == null) {
        return false;
      }
      entry.lastAccess = now;
      return true;
    }

    boolean aboveHighWatermark() {
      TierSpec spec = tier.spec();
      return spec.bounded() && bytes() > spec.highWatermark() * spec.capacityBytes();
    }

    /** Keys by last access, oldest first (ties by key, so demotion order is repeatable). */
    List<String> leastRecentlyUsed() {
      List<Map.Entry<String, Long>> snapshot = new ArrayList<>(index().size());
      index.forEach((key, entry) -> snapshot.add(Map.entry(key, entry.lastAccess)));
      snapshot.sort(Map.Entry.<String, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey()));
      List<String> keys = new ArrayList<>(snapshot.size());
      snapshot.forEach(e -> keys.add(e.getKey()));
      return keys;
    }

    TierStats snapshot() {
      long held;
      try {
        held = bytes();
      } catch (UncheckedIOException e) {
        // a tier that cannot be listed now (its server down) shows what this process knows of it
        held = bytes.get();
      }
      return new TierStats(
          tier.name(),
          held,
          index.size(),
          hits.sum(),
          misses.sum(),
          promotions.sum(),
          demotions.sum(),
          bytesPromoted.sum(),
          bytesDemoted.sum());
    }
  }
}
