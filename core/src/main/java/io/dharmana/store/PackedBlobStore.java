package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.internal.ExecutorTermination;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.Flushable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Packs many small blobs into few large objects, so that a million 64 KiB chunks on an object
 * store cost a few thousand PUTs and objects rather than a million (as Hugging Face's Xet packs
 * chunks into xorbs). A decorator: it stores everything in another store (an object store or a
 * local directory) and owns it.
 *
 * <p>Layout in the underlying store:
 *
 * <ul>
 *   <li>{@code packs/<id>.pack}: the bytes of many blobs, back to back;
 *   <li>{@code packs/<id>.idx}: the pack's index (key, offset, length, CRC32C of each blob),
 *       written after the pack; a pack without an index does not exist, and neither does an
 *       index without its pack (a machine crash may keep the index's name and lose the pack's:
 *       one flush of the folder makes both names durable, see {@link
 *       SupportsFileCommit#commitFileNamedByNext});
 *   <li>{@code blobs/<key>}: a blob of at least {@link PackOptions#directThreshold()} bytes,
 *       stored alone (large enough to read well alone; it goes up as a multipart upload);
 *   <li>{@code dead/<pack id>/<key>}: a deletion mark for a blob inside a sealed pack.
 * </ul>
 *
 * <p><b>Visibility and durability</b> (this is where the store differs from the {@link
 * BlobStore} contract, on purpose): a small blob is visible to this instance as soon as its
 * output's {@code close()} returns (it is served from the local spool file until its pack is
 * uploaded), but it is <em>durable</em> only once its pack is sealed, which happens when the pack
 * reaches {@link PackOptions#packSize()} (in the background) or at {@link #flush()}. A caller
 * must call {@link #flush()} before it commits anything (a manifest, a ref) that refers to
 * blobs it wrote; a crash before that loses those blobs, and nothing refers to them. Large blobs
 * are durable when their {@code close()} returns. {@link #close()} flushes.
 *
 * <p><b>Reads</b> of a packed blob are one ranged GET of exactly its bytes, found through an
 * in-memory index loaded from the pack indexes at {@link #open}; the bytes are checked against
 * the index's CRC32C. Blobs written by other processes become visible after {@link #refresh()}.
 *
 * <p><b>Keys</b>: meant for content-addressed keys (chunk ids), where a key always names the same
 * bytes. Immutability is checked against this instance's index only: two processes may both
 * store a key (in different packs), which is harmless when equal keys mean equal bytes.
 *
 * <p><b>Deletion</b> writes a mark; the pack's bytes stay until {@link #repack} rewrites packs
 * whose dead fraction is high. {@link #repack} also merges small packs: every flush seals the open
 * pack, so many small commits leave a pack and an index each.
 *
 * <p>Thread safe.
 */
public final class PackedBlobStore implements BlobStore, SupportsListing, Flushable {
  private static final int INDEX_MAGIC = 0x44504B31; // "DPK1"
  private static final String PACKS = "packs/";
  private static final String BLOBS = "blobs/";
  private static final String DEAD = "dead/";
  private static final SecureRandom RANDOM = new SecureRandom();
  /**
   * A spool file is created under this suffix, locked, and only then renamed to {@code .spool}:
   * every {@code .spool} file a live writer has is locked, so another process's {@link
   * #removeDeadSpools} cannot take a new one for dead. Its name holds its writer's process (see
   * {@link #SPOOL_OWNER}), which tells whether the writer of one not locked yet is alive.
   */
  private static final String UNLOCKED_SPOOL = ".new";
  /** Files named so by versions that did not name the writer: only their age can tell. */
  private static final long LEGACY_SPOOL_LOCK_GRACE_MILLIS = 60_000;
  /**
   * This process, as written into spool file names: its pid and start time (a pid alone may be
   * reused by a later process).
   */
  private static final String SPOOL_OWNER = spoolOwner(ProcessHandle.current());
  private static final java.util.regex.Pattern OWNER_IN_NAME = java.util.regex.Pattern.compile("-w(\\d+)_(\\d+)-");
  /**
   * Spool files of this process's stores, which {@link #removeDeadSpools} must not open: closing a
   * channel on a file drops every lock this process holds on it (POSIX record locks), after which
   * another process would take a live spool for a dead writer's.
   */
  private static final java.util.Set<Path> LIVE_SPOOLS = ConcurrentHashMap.newKeySet();

  private final BlobStore objects;
  private final SupportsListing listing;
  private final PackOptions options;
  private final Clock clock;
  /**
   * Every blob this instance knows. A hash map, not a sorted one: a read looks up one key per
   * chunk, and a skip list's pointer chase over keys sharing a long prefix cost more than the
   * sort that the rare {@link #list} does instead.
   */
  private final ConcurrentHashMap<String, Entry> index = new ConcurrentHashMap<>(1 << 16);
  private final Map<String, Pack> packs = new ConcurrentHashMap<>();
  /**
   * Blobs found in a second pack while the index names another: where to read them once that
   * pack is gone. Another process's repack seals the new packs before it deletes the old ones,
   * one by one, so a refresh in between sees each such blob twice. Only duplicates are kept.
   */
  private final ConcurrentHashMap<String, Packed> alternates = new ConcurrentHashMap<>();
  private final Map<Pack, Future<?>> sealing = new ConcurrentHashMap<>();
  private final ExecutorService sealer;
  private final Object appendLock = new Object();
  private final Object refreshLock = new Object();
  private final Object repackLock = new Object(); // one repack or merge at a time
  /** Keys of marks of deleted blobs not written yet; see {@link #markDead}. */
  private final List<String> pendingMarks = new ArrayList<>();
  /**
   * Marks written at once when that many wait (~8 MB of keys): a gc deleting fewer chunks writes
   * none for the packs it then deletes whole.
   */
  private static final int MARK_BATCH = 1 << 16;
  private final AtomicBoolean closed = new AtomicBoolean();
  private Pack openPack; // guarded by appendLock

  private PackedBlobStore(BlobStore objects, PackOptions options, Clock clock) {
    this.objects = objects;
    this.listing = (SupportsListing) objects;
    this.options = options;
    this.clock = clock;
    this.sealer = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "dharmana-pack-sealer");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Opens the packed store kept in {@code objects} (which must also list), loading every pack
   * index. Takes ownership of {@code objects}: closing this store closes it.
   */
  public static PackedBlobStore open(BlobStore objects, PackOptions options) {
    Objects.requireNonNull(objects, "objects");
    Objects.requireNonNull(options, "options");
    if (!(objects instanceof SupportsListing)) {
      throw new IllegalArgumentException("Invalid store " + objects + " for packing: it must support listing");
    }
    Path spoolDirectory;
    try {
      // its real path: a spool's name in LIVE_SPOOLS must be one, however each store spells the directory
      spoolDirectory = Files.createDirectories(options.spoolDirectory()).toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create spool directory " + options.spoolDirectory() + ": " + e.getMessage(), e);
    }
    removeDeadSpools(spoolDirectory);
    PackedBlobStore store = new PackedBlobStore(objects,
        new PackOptions(options.packSize(), options.directThreshold(), spoolDirectory, options.indexCacheDirectory()),
        Clock.systemUTC());
    try {
      store.refresh();
      store.pruneIndexCache();
    } catch (RuntimeException e) {
      // an object store that cannot be listed now: its client must not outlive the failed open,
      // since a tiered store tries the open again later
      store.close();
      throw e;
    }
    return store;
  }

  /**
   * Deletes spool files whose writer died (kill -9 before its pack was sealed): their blobs were
   * never durable, so nothing refers to them. A live writer holds a lock on its {@code .spool}
   * file, so a file nobody holds is dead; a {@code .new} file (created, not locked yet) is dead
   * when the process its name records is gone. Never by age: a writer stopped for an hour keeps
   * its spool.
   */
  private static void removeDeadSpools(Path spoolDirectory) {
    long legacyGrace = System.currentTimeMillis() - LEGACY_SPOOL_LOCK_GRACE_MILLIS;
    try (Stream<Path> files = Files.list(spoolDirectory)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        String name = file.getFileName().toString();
        boolean unlocked = name.endsWith(UNLOCKED_SPOOL);
        if (!unlocked && !name.endsWith(".spool") || LIVE_SPOOLS.contains(file.toAbsolutePath().normalize())) {
          continue;
        }
        if (unlocked) {
          java.util.regex.Matcher owner = OWNER_IN_NAME.matcher(name);
          try {
            if (owner.find() ? writerAlive(Long.parseLong(owner.group(1)), Long.parseLong(owner.group(2)))
                : Files.getLastModifiedTime(file).toMillis() >= legacyGrace) {
              continue; // a writer between creating its spool and locking it, however slow
            }
          } catch (IOException | NumberFormatException gone) {
            continue; // removed meanwhile, or not ours to judge
          }
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
          java.nio.channels.FileLock lock = channel.tryLock();
          if (lock != null) {
            Files.deleteIfExists(file);
          }
        } catch (IOException | java.nio.channels.OverlappingFileLockException held) {
          // held by this process or unreadable: leave it
        }
      }
    } catch (IOException e) {
      // a spool directory we cannot list only wastes space
    }
  }

  private static String spoolOwner(ProcessHandle process) {
    return "w" + process.pid() + "_" + process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
  }

  /** Whether process {@code pid}, started at {@code startMillis} (0: unknown), still runs. */
  private static boolean writerAlive(long pid, long startMillis) {
    return ProcessHandle.of(pid)
        .map(p -> startMillis == 0 || p.info().startInstant().map(Instant::toEpochMilli).orElse(startMillis) == startMillis)
        .orElse(false);
  }

  // ---------------------------------------------------------------- entries and packs

  /** Where one blob's bytes are. */
  private sealed interface Entry permits Packed, Direct {
    long size();

    Instant written();
  }

  private record Packed(Pack pack, long offset, int length, int crc, Instant written) implements Entry {
    @Override
    public long size() {
      return length;
    }
  }

  private record Direct(long size, Instant written) implements Entry {}

  private enum PackState {
    OPEN,
    SEALING,
    SEALED
  }

  /** The smallest page a mapping is faulted in by. */
  private static final int PAGE = 4096;

  /** One pack: a local spool file while open or sealing, an object once sealed. */
  private final class Pack {
    final String id;
    final List<Map.Entry<String, Packed>> appended = new ArrayList<>(); // guarded by appendLock
    final AtomicLong deadBytes = new AtomicLong();
    volatile PackState state;
    volatile FileChannel spool;
    volatile Path spoolFile;
    volatile BlobInput remote;
    private volatile ByteBuffer mapped;
    private volatile boolean unmappable;
    // the pack file's length for reads through the mapping; set before the mapping is published
    private volatile MappedLength mappedLength;
    private int lastTouched;
    long size; // guarded by appendLock while open; fixed after
    // deleted by another process's repack: its blobs are now in the packs that process sealed
    volatile boolean vanished;
    // its index is written (or it was loaded from one): from here on a listing without the index
    // means the pack was deleted; before, that the index is not written yet
    volatile boolean indexed;
    // a seal was attempted, which may have stored the pack or its index; guarded by the pack
    private boolean sealAttempted;

    Pack(String id, PackState state) {
      this.id = id;
      this.state = state;
    }

    String packKey() {
      return PACKS + id + ".pack";
    }

    String indexKey() {
      return PACKS + id + ".idx";
    }

    BlobInput remote() {
      BlobInput r = remote;
      if (r == null) {
        synchronized (this) {
          if (vanished) {
            // never opened again: the handle would hold the deleted file (or, while another
            // process's repack is between deleting the index and the pack, the file about to be)
            throw new NotFoundException("Cannot read pack " + id + ": it was repacked (its blobs are in other packs now)");
          }
          if (remote == null) {
            remote = objects.open(packKey());
          }
          r = remote;
        }
      }
      return r;
    }

    /**
     * After a repack (by this store or another process) deleted the pack and moved its blobs:
     * closes its handle and lets go of its mapping, either of which would otherwise hold the
     * deleted file's disk space until the garbage collector found it. A read racing this finds
     * the pack gone and reads where the blob was moved.
     *
     * @return whether the pack was mapped (its mapping is freed only when collected)
     */
    boolean deleted() {
      vanished = true; // first: a read failing on the closed handle from here on looks again
      BlobInput r;
      boolean wasMapped;
      synchronized (this) {
        r = remote;
        remote = null;
        wasMapped = mapped != null;
        mapped = null; // reads in flight keep their own reference to it
        unmappable = true;
      }
      if (r != null) {
        try {
          r.close();
        } catch (IOException e) {
          // nothing is lost: the pack is deleted, its blobs are elsewhere
        }
      }
      return wasMapped;
    }

    /**
     * Reads blob {@code key}'s {@code length} bytes at {@code offset}: from the spool while local,
     * else from the mapping or with one ranged read.
     *
     * @throws CorruptDataException if the pack file ends before the blob (cut short outside Dharmana)
     */
    byte[] read(String key, long offset, int length) throws IOException {
      FileChannel local = spool;
      if (local != null) {
        try {
          ByteBuffer dst = ByteBuffer.allocate(length);
          while (dst.hasRemaining()) {
            if (local.read(dst, offset + dst.position()) < 0) {
              throw new java.io.EOFException("Cannot read pack " + id + ": spool file ends early");
            }
          }
          return dst.array();
        } catch (java.nio.channels.ClosedChannelException sealedMeanwhile) {
          // the pack was uploaded and its spool dropped while we read: read the object
        }
      }
      ByteBuffer view = mapped();
      if (view != null && offset >= 0 && offset + length <= view.capacity()) {
        checkInFile(key, offset, length);
        byte[] bytes = new byte[length];
        try {
          view.get((int) offset, bytes);
        } catch (InternalError fault) {
          throw mappingFault(key, offset, length, fault);
        }
        return bytes;
      }
      try {
        return remote().readFully(offset, length);
      } catch (java.io.EOFException endsEarly) {
        throw cutShort(key, offset, length, remote() instanceof SupportsMapping m ? m.currentLength() : -1, endsEarly);
      } catch (java.nio.channels.ClosedChannelException closed) {
        if (vanished) {
          throw new NotFoundException("Cannot read " + key + " from pack " + id + ": this store repacked it meanwhile", closed);
        }
        throw closed;
      }
    }

    /**
     * Bytes {@code [offset, offset + length)} of the sealed pack as a read-only slice of its
     * mapping, or null while the pack is still a spool file or where it cannot be mapped. The
     * file's length is checked first ({@link #checkInFile}): a page past the end of a file cut
     * short underneath faults, and the CRC and zstd code that reads the slice next would crash
     * the JVM on it rather than throw. Every page of the slice is touched here too, through an access
     * that reports a fault as an error, which narrows what a cut during this read can do.
     *
     * @throws CorruptDataException if the pack file ends before the blob
     */
    ByteBuffer view(String key, long offset, int length) {
      if (spool != null) {
        return null;
      }
      ByteBuffer view = mapped();
      if (view == null || offset < 0 || offset + length > view.capacity()) {
        return null;
      }
      try {
        checkInFile(key, offset, length);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + key + " from pack file " + packKey() + ": " + e.getMessage(), e);
      }
      ByteBuffer slice = view.slice((int) offset, length).asReadOnlyBuffer();
      int touched = 0;
      try {
        for (int i = 0; i < length; i += PAGE) {
          touched |= slice.get(i);
        }
        if (length > 0) {
          touched |= slice.get(length - 1);
        }
      } catch (InternalError fault) {
        throw mappingFault(key, offset, length, fault);
      }
      lastTouched = touched; // kept so that the loads above are not dropped as unused
      return slice;
    }

    /**
     * Throws unless the pack file still holds bytes {@code [offset, offset + length)}, by a length
     * learnt recently ({@link MappedLength}): an fstat per read cost a quarter of a 64 KiB read.
     */
    private void checkInFile(String key, long offset, int length) throws IOException {
      long known = mappedLength.covering(offset + length);
      if (offset + length > known) {
        throw cutShort(key, offset, length, known, null);
      }
    }

    /** A fault reading the mapping: the file was cut short (most likely) or the disk under it failed. */
    RuntimeException mappingFault(String key, long offset, int length, InternalError fault) {
      long now;
      try {
        now = ((SupportsMapping) remote()).currentLength();
      } catch (IOException e) {
        now = -1;
      }
      if (now >= 0 && offset + length <= now) {
        return new UncheckedIOException("Cannot read " + key + " from pack file " + packKey() + " in " + objects
            + ": reading its mapping faulted (" + fault.getMessage() + ")", new IOException(fault));
      }
      return cutShort(key, offset, length, now, fault);
    }

    CorruptDataException cutShort(String key, long offset, int length, long fileLength, Throwable cause) {
      return new CorruptDataException("Cannot read " + key + " (" + length + " bytes at " + offset + ") from pack file " + packKey()
          + " in " + objects + ": the file " + (fileLength >= 0 ? "has " + fileLength + " bytes" : "ends before it")
          + ", its index records " + size + " (cut short outside Dharmana?)", cause);
    }

    /**
     * The sealed pack mapped read-only, or null where its store cannot map: on a local disk a
     * chunk read is then one copy out of the page cache instead of a read call, a copy into a
     * native buffer and a copy out of it. Packs are immutable once sealed, and a mapping stays
     * valid after the pack is deleted by a repack.
     */
    private ByteBuffer mapped() {
      ByteBuffer m = mapped;
      if (m == null && !unmappable) {
        synchronized (this) {
          if (mapped == null && !unmappable) {
            BlobInput r = remote();
            try {
              // never map a file shorter than its index says (its missing pages would fault):
              // ranged reads of it find its end instead
              // nor a small one: the next merge deletes it, and a mapping would hold the deleted
              // file's space until the garbage collector freed it (a read call costs little here)
              if (r instanceof SupportsMapping mapping && r.length() <= Integer.MAX_VALUE && r.length() >= size
                  && size >= options.packSize() / MERGED_IN_BACKGROUND_FRACTION) {
                mappedLength = new MappedLength(mapping);
                mapped = mapping.map(0, r.length());
              } else {
                unmappable = true;
              }
            } catch (IOException | IllegalArgumentException e) {
              unmappable = true;
            }
          }
          m = mapped;
        }
      }
      return m;
    }
  }

  private static String newPackId(Instant now) {
    return String.format("%013x-%016x", now.toEpochMilli(), RANDOM.nextLong());
  }

  // ---------------------------------------------------------------- BlobStore

  @Override
  public BlobInput open(String key) {
    Entry entry = entryOf(key, "open");
    if (entry instanceof Direct) {
      return objects.open(BLOBS + key);
    }
    return InMemoryInput.owning(readPacked(key, (Packed) entry));
  }

  /**
   * A packed blob of a sealed pack that this store maps comes back as a read-only slice of the
   * mapping, its CRC32C checked as {@link #open} checks it; every other blob as {@link #read}
   * returns it.
   */
  @Override
  public ByteBuffer readBuffer(String key) {
    Entry entry = entryOf(key, "read");
    if (entry instanceof Direct) {
      return ByteBuffer.wrap(read(key));
    }
    Packed packed = (Packed) entry;
    ByteBuffer view;
    try {
      view = packed.pack().view(key, packed.offset(), packed.length());
    } catch (NotFoundException gone) {
      view = null; // repacked elsewhere: readPacked finds where the blob went
    }
    if (view == null) {
      return ByteBuffer.wrap(readPacked(key, packed));
    }
    CRC32C crc = new CRC32C();
    try {
      crc.update(view.duplicate());
    } catch (InternalError fault) {
      // the fault of a page touched in view() is reported some time after it: here at the latest, mostly
      throw packed.pack().mappingFault(key, packed.offset(), packed.length(), fault);
    }
    checkCrc(key, packed, crc);
    return view;
  }

  private Entry entryOf(String key, String action) {
    Keys.check(key);
    checkOpen();
    Entry entry = index.get(key);
    if (entry == null) {
      // another process may have sealed packs since this instance loaded the indexes
      refreshIfStale();
      entry = index.get(key);
    }
    if (entry == null) {
      throw new NotFoundException("Cannot " + action + " " + key + ": no such blob in the packed store");
    }
    return entry;
  }

  /**
   * Reads a packed blob, checked. If its pack is gone, another process repacked it (garbage
   * collection runs while a gateway serves): the blob is read from where the packs listed now
   * put it.
   */
  private byte[] readPacked(String key, Packed packed) {
    try {
      return readPackedAt(key, packed);
    } catch (NotFoundException gone) {
      Entry now = index.get(key);
      if (!(now instanceof Packed moved && moved.pack() != packed.pack())) {
        // unless a refresh by another reader of the same gone pack has already moved it
        refresh();
        now = index.get(key);
      }
      if (now instanceof Packed moved && moved.pack() != packed.pack()) {
        return readPackedAt(key, moved);
      }
      throw new NotFoundException("Cannot open " + key + ": its pack " + packed.pack().id + " is gone"
          + (now == null ? " and no pack listed now holds it (deleted?)" : ""), gone);
    }
  }

  private static byte[] readPackedAt(String key, Packed packed) {
    byte[] bytes;
    try {
      bytes = packed.pack().read(key, packed.offset(), packed.length());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open " + key + " from pack " + packed.pack().id + ": " + e.getMessage(), e);
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    checkCrc(key, packed, crc);
    return bytes;
  }

  private static void checkCrc(String key, Packed packed, CRC32C crc) {
    if ((int) crc.getValue() != packed.crc()) {
      throw new CorruptDataException(
          "Cannot read " + key + " from pack " + packed.pack().id + " at " + packed.offset() + ": CRC32C mismatch");
    }
  }

  @Override
  public BlobOutput create(String key) {
    Keys.check(key);
    checkOpen();
    return new PackedOutput(key);
  }

  /**
   * Appends {@code bytes} to the open pack straight from the array (it is not kept), without the
   * buffered copy an output makes; large blobs are stored alone as {@link #create} stores them.
   */
  @Override
  public void write(String key, byte[] bytes) {
    if (bytes.length >= options.directThreshold()) {
      BlobStore.super.write(key, bytes);
      return;
    }
    Keys.check(key);
    checkOpen();
    try {
      append(key, bytes, bytes.length, null);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean delete(String key) {
    Keys.check(key);
    checkOpen();
    Entry entry = index.remove(key);
    if (entry == null) {
      return false;
    }
    Packed other = alternates.remove(key);
    if (other != null) {
      markDead(other.pack(), key); // else its pack would bring it back when the known one goes
    }
    if (entry instanceof Direct) {
      objects.delete(BLOBS + key);
      return true;
    }
    Packed packed = (Packed) entry;
    Pack pack = packed.pack();
    synchronized (appendLock) {
      pack.deadBytes.addAndGet(packed.length());
      if (pack.state == PackState.OPEN) {
        return true; // the pack's index, written at sealing, will leave the key out
      }
    }
    // the pack's index holds the key (or will): mark it dead so a reload leaves it out
    markDead(pack, key);
    return true;
  }

  /**
   * Marks a blob of a sealed pack dead, so that a reload leaves it out. Marks are written in
   * batches, at the latest by the next {@link #flush}, and a repack drops those of the packs it
   * deletes: a gc deletes thousands of chunks, and written one by one each mark cost two syncs. A
   * mark lost in a crash before its batch brings back a blob that was deleted as garbage (the next
   * gc deletes it again) or after a lower tier took a copy (the two copies are equal).
   */
  private void markDead(Pack pack, String key) {
    List<String> batch = null;
    synchronized (pendingMarks) {
      pendingMarks.add(DEAD + pack.id + "/" + key);
      if (pendingMarks.size() >= MARK_BATCH) {
        batch = takePendingMarks();
      }
    }
    if (batch != null) {
      writeMarks(batch);
    }
  }

  private List<String> takePendingMarks() {
    synchronized (pendingMarks) {
      List<String> batch = List.copyOf(pendingMarks);
      pendingMarks.clear();
      return batch;
    }
  }

  private void writeMarks(List<String> batch) {
    if (batch.isEmpty()) {
      return;
    }
    try {
      objects.writeMarkers(batch);
    } catch (RuntimeException e) {
      synchronized (pendingMarks) {
        pendingMarks.addAll(0, batch); // the next flush tries again
      }
      throw e;
    }
  }

  @Override
  public boolean exists(String key) {
    Keys.check(key);
    checkOpen();
    return index.containsKey(key);
  }

  /** Blobs this instance knows, sorted by key; unflushed ones included. */
  @Override
  public Stream<BlobInfo> list(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    checkOpen();
    List<BlobInfo> infos = new ArrayList<>();
    index.forEach((k, e) -> {
      if (k.startsWith(prefix)) {
        infos.add(new BlobInfo(k, e.size(), e.written()));
      }
    });
    infos.sort(java.util.Comparator.comparing(BlobInfo::key));
    return infos.stream();
  }

  /** The underlying store is durable; blobs in it are durable once {@link #flush()} returned. */
  @Override
  public boolean durable() {
    return objects.durable();
  }

  /**
   * Seals the open pack and waits until every pack written so far is uploaded with its index:
   * when this returns, every blob whose output was closed before the call is durable.
   *
   * <p>Concurrent callers share the work (group commit): a caller that arrives while a flush is
   * running waits for it to end and then for one more flush, which one of the waiters runs for
   * all of them. So writers that finish together pay for one pack and one round of syncs rather
   * than one each, and a flush never returns before a round that started after its call ended.
   *
   * @throws IOException if a pack could not be uploaded (every caller that waited for that round
   *     gets it); its blobs stay readable here and a later flush tries again
   */
  @Override
  public void flush() throws IOException {
    checkOpen();
    writeMarks(takePendingMarks());
    flushes.flush(this::flushOnce, "flush");
  }

  private final GroupFlush flushes = new GroupFlush();

  private void flushOnce() throws IOException {
    Pack rotated;
    synchronized (appendLock) {
      rotated = rotateOpenPack();
    }
    if (rotated != null) {
      scheduleSeal(rotated);
    }
    IOException failure = null;
    for (Pack pack : List.copyOf(sealing.keySet())) {
      try {
        awaitSeal(pack);
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private final AtomicLong lastRefresh = new AtomicLong();

  /** Refreshes at most once every 200 ms, so a burst of misses costs one listing. */
  private void refreshIfStale() {
    long now = System.nanoTime();
    long last = lastRefresh.get();
    if (now - last > 200_000_000L && lastRefresh.compareAndSet(last, now)) {
      refresh();
    }
  }

  /**
   * Loads the indexes of packs, large blobs and deletion marks written since this store was
   * opened (by other processes); what this instance already knows is kept.
   */
  public void refresh() {
    checkOpen();
    synchronized (refreshLock) {
      refreshLocked();
    }
  }

  /**
   * Lets go of the packs that another process's repack deleted (a gc run beside a long-running
   * reader such as a gateway) and that this store holds as files: an open descriptor or a mapping
   * of a deleted file keeps its disk space. A refresh, but only while this store holds a pack
   * file open: an object store's packs are read by ranged requests and hold nothing, and listing
   * them every few seconds would cost requests.
   */
  public void releaseDeletedPacks() {
    checkOpen();
    if (packs.values().stream().anyMatch(p -> p.remote instanceof SupportsMapping)) {
      refresh();
    }
  }

  private void refreshLocked() {
    // indexed before the listing below, so each is listed unless another process deleted it (a
    // pack sealed but not yet indexed is not listed either, and must not be taken for deleted)
    List<Pack> sealedBefore = packs.values().stream().filter(p -> p.state == PackState.SEALED && p.indexed).toList();
    Map<String, List<String>> deadByPack = new HashMap<>();
    try (Stream<BlobInfo> marks = listing.list(DEAD)) {
      marks.forEach(m -> {
        String rest = m.key().substring(DEAD.length());
        int slash = rest.indexOf('/');
        deadByPack.computeIfAbsent(rest.substring(0, slash), id -> new ArrayList<>()).add(rest.substring(slash + 1));
      });
    }
    List<BlobInfo> indexes;
    try (Stream<BlobInfo> listed = listing.list(PACKS)) {
      List<BlobInfo> all = listed.toList();
      java.util.Set<String> packFiles = new java.util.HashSet<>();
      all.forEach(b -> packFiles.add(b.key()));
      // an index whose pack is not listed is one a crash left without the pack's name, or one this
      // listing saw before the pack's: its blobs were never durable, or a later refresh finds them
      indexes = all.stream().filter(b -> b.key().endsWith(".idx")
          && packFiles.contains(b.key().substring(0, b.key().length() - ".idx".length()) + ".pack")).toList();
    }
    java.util.Set<String> listed = new java.util.HashSet<>();
    for (BlobInfo info : indexes) {
      listed.add(info.key().substring(PACKS.length(), info.key().length() - ".idx".length()));
    }
    boolean anyVanished = false;
    boolean anyMapped = false;
    for (Pack pack : sealedBefore) {
      if (!listed.contains(pack.id)) {
        // another process's repack deleted it: its blobs' entries give way to the packs that
        // hold them now (readIndex), and its file's space is let go here
        anyMapped |= pack.deleted();
        packs.remove(pack.id);
        anyVanished = true;
      }
    }
    if (anyMapped) {
      collectMappings();
    }
    List<BlobInfo> unknown = indexes.stream()
        .filter(info -> !packs.containsKey(info.key().substring(PACKS.length(), info.key().length() - ".idx".length())))
        .toList();
    // one GET per index: in parallel, since a large store has thousands of packs
    ExecutorService loaders = Executors.newFixedThreadPool(Math.max(1, Math.min(8, unknown.size())));
    try {
      List<Future<?>> loads = new ArrayList<>();
      for (BlobInfo info : unknown) {
        loads.add(loaders.submit(() -> {
          String id = info.key().substring(PACKS.length(), info.key().length() - ".idx".length());
          Pack pack = new Pack(id, PackState.SEALED);
          pack.indexed = true;
          readIndex(pack, indexBytes(pack, info), new java.util.HashSet<>(deadByPack.getOrDefault(id, List.of())));
          packs.put(id, pack);
        }));
      }
      for (Future<?> load : loads) {
        load.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Cannot load pack indexes: interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new UncheckedIOException(new IOException(e.getCause()));
    } finally {
      // after a failed load, the loads not started are dropped and the running ones waited for:
      // one ending after this threw would write its index's copy into a cache the caller may be
      // deleting, and put a pack into a store its caller has closed
      loaders.shutdownNow();
      ExecutorTermination.await(loaders);
    }
    if (anyVanished) {
      // a blob of a vanished pack is read from its other pack; a blob without one the repack
      // dropped as dead
      alternates.values().removeIf(p -> p.pack().vanished);
      for (Map.Entry<String, Entry> e : index.entrySet()) {
        if (e.getValue() instanceof Packed p && p.pack().vanished) {
          Packed other = alternates.remove(e.getKey());
          if (other == null) {
            index.remove(e.getKey(), p);
          } else if (index.replace(e.getKey(), p, other)) {
            other.pack().deadBytes.addAndGet(-other.length()); // live again
          }
        }
      }
    }
    try (Stream<BlobInfo> direct = listing.list(BLOBS)) {
      direct.forEach(b -> index.putIfAbsent(b.key().substring(BLOBS.length()), new Direct(b.size(), b.lastModified())));
    }
  }

  /**
   * Sealed packs smaller than {@link PackOptions#packSize()} / this are small: a flush seals the
   * open pack however little it holds, so a store written by many small commits (one object per
   * put, a sync of many small files) holds about one pack and one index per commit, and every
   * open loads each index (one GET each on an object store).
   */
  static final int SMALL_PACK_FRACTION = 4;

  /** Packs smaller than a full one / this (1 MiB of 64) are what {@link #mergeSmallPacks} merges. */
  static final int MERGED_IN_BACKGROUND_FRACTION = 64;

  /** Small packs are merged once there are this many, so a merge always removes most of them. */
  public static final int SMALL_PACKS_TO_MERGE = 8;

  /**
   * What a {@link #repack} did.
   *
   * @param smallPacksMerged of {@code packsRewritten}, the small packs merged into full ones
   */
  public record RepackResult(int packsRewritten, int blobsMoved, long bytesReclaimed, int smallPacksMerged) {
    static final RepackResult NONE = new RepackResult(0, 0, 0, 0);

    /** What this and {@code other} did together (repacks of several tiers). */
    RepackResult plus(RepackResult other) {
      return new RepackResult(packsRewritten + other.packsRewritten, blobsMoved + other.blobsMoved,
          bytesReclaimed + other.bytesReclaimed, smallPacksMerged + other.smallPacksMerged);
    }
  }

  /**
   * Rewrites sealed packs of which at least {@code minDeadFraction} of the bytes belong to
   * deleted blobs, and merges small packs once there are {@link #SMALL_PACKS_TO_MERGE} of them
   * (all of them, so a repack leaves at most one small pack): see {@link #rewrite}.
   */
  public RepackResult repack(double minDeadFraction) throws IOException {
    if (!(minDeadFraction > 0 && minDeadFraction <= 1)) {
      throw new IllegalArgumentException("Invalid minDeadFraction " + minDeadFraction + ": allowed is (0, 1]");
    }
    checkOpen();
    synchronized (repackLock) {
      // sealed, but the marks wait: those of the packs chosen below are dropped, not written
      flushes.flush(this::flushOnce, "flush");
      java.util.Set<Pack> victims = new java.util.HashSet<>();
      for (Pack pack : packs.values()) {
        if (pack.state == PackState.SEALED && pack.size > 0 && pack.deadBytes.get() >= minDeadFraction * pack.size) {
          victims.add(pack);
        }
      }
      List<Pack> small = smallPacks(SMALL_PACK_FRACTION);
      small.removeAll(victims);
      if (small.size() < SMALL_PACKS_TO_MERGE) {
        small.clear();
      }
      victims.addAll(small);
      return rewrite(victims, new java.util.HashSet<>(small));
    }
  }

  /** How many small packs a {@link #repack} would merge now (0 below {@link #SMALL_PACKS_TO_MERGE}). */
  public int smallPacksToMerge() {
    checkOpen();
    int small = smallPacks(SMALL_PACK_FRACTION).size();
    return small >= SMALL_PACKS_TO_MERGE ? small : 0;
  }

  /**
   * Merges small packs the way a long-running writer (a gateway) can afford to after every few
   * commits: size-tiered, as log-structured stores compact. Packs smaller than {@link
   * #MERGED_IN_BACKGROUND_FRACTION} of a full one are grouped by size in steps of {@link
   * #SMALL_PACKS_TO_MERGE}×; the smallest group holding that many packs is merged, with every
   * smaller pack, into one about that many times larger, which lands a group up. Each byte is so
   * rewritten once per group it climbs and at most that many packs per group stay, where merging
   * all small packs every time would rewrite the growing merged pack again after every few
   * commits. Packs of a few MiB are left to {@link #repack} (garbage collection): they already
   * read well, and rewriting them as they arrive would cost a busy writer a share of its
   * throughput.
   */
  public RepackResult mergeSmallPacks() throws IOException {
    checkOpen();
    synchronized (repackLock) {
      List<Pack> small = smallPacks(MERGED_IN_BACKGROUND_FRACTION);
      int[] perGroup = new int[64];
      for (Pack pack : small) {
        perGroup[sizeGroup(pack.size)]++;
      }
      int group = 0;
      while (group < perGroup.length && perGroup[group] < SMALL_PACKS_TO_MERGE) {
        group++;
      }
      if (group == perGroup.length) {
        return RepackResult.NONE;
      }
      java.util.Set<Pack> victims = new java.util.HashSet<>();
      for (Pack pack : small) {
        if (sizeGroup(pack.size) <= group) {
          victims.add(pack);
        }
      }
      return rewrite(victims, victims);
    }
  }

  /** A pack's group by size: each group spans a factor of {@link #SMALL_PACKS_TO_MERGE}. */
  private static int sizeGroup(long size) {
    return (63 - Long.numberOfLeadingZeros(Math.max(size, 1))) / Integer.numberOfTrailingZeros(SMALL_PACKS_TO_MERGE);
  }

  /** Sealed packs smaller than {@code 1 / fraction} of a full one. */
  private List<Pack> smallPacks(int fraction) {
    List<Pack> small = new ArrayList<>();
    for (Pack pack : packs.values()) {
      if (pack.state == PackState.SEALED && !pack.vanished && pack.size < options.packSize() / fraction) {
        small.add(pack);
      }
    }
    return small;
  }

  /**
   * Moves the live blobs of {@code victims} into new packs, seals them, and then deletes the
   * victims, their indexes and deletion marks. Other processes reading the old packs find the
   * moved blobs by a {@link #refresh()} when a read finds a pack gone. Packs left without an
   * index by a crash are reaped by {@link #deleteOrphanPacks}; a crash between the new packs'
   * seal and the old packs' deletion leaves blobs in both, which reads tolerate and the next
   * repack removes. A victim another process has repacked meanwhile (it is gone) is skipped:
   * its blobs are where that process put them.
   *
   * @param small those of {@code victims} rewritten because they are small (for the result)
   */
  private RepackResult rewrite(java.util.Set<Pack> victims, java.util.Collection<Pack> small) throws IOException {
    if (victims.isEmpty()) {
      return RepackResult.NONE;
    }
    // one pass over the index finds every victim's live blobs
    Map<Pack, List<Map.Entry<String, Packed>>> live = new HashMap<>();
    for (Map.Entry<String, Entry> e : index.entrySet()) {
      if (e.getValue() instanceof Packed p && victims.contains(p.pack())) {
        live.computeIfAbsent(p.pack(), k -> new ArrayList<>()).add(Map.entry(e.getKey(), p));
      }
    }
    int moved = 0;
    boolean anyGone = false;
    for (java.util.Iterator<Pack> it = victims.iterator(); it.hasNext(); ) {
      Pack pack = it.next();
      if (!live.containsKey(pack)) {
        continue; // all dead (what a gc mostly leaves): nothing to read or move
      }
      byte[] all;
      try {
        all = pack.remote().readAll();
      } catch (NotFoundException gone) {
        it.remove();
        anyGone = true;
        continue;
      }
      for (Map.Entry<String, Packed> e : live.getOrDefault(pack, List.of())) {
        Packed p = e.getValue();
        byte[] bytes = Arrays.copyOfRange(all, (int) p.offset(), (int) p.offset() + p.length());
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        checkCrc(e.getKey(), p, crc); // a damaged blob must fail here, not be sealed again under a fresh CRC
        if (append(e.getKey(), bytes, bytes.length, p)) {
          moved++;
        }
      }
    }
    // marks not written yet of blobs in the victims would only be deleted with them below; a crash
    // before that leaves those blobs live again in a pack no manifest needs, for the next gc
    synchronized (pendingMarks) {
      pendingMarks.removeIf(mark -> victims.contains(packs.get(mark.substring(DEAD.length(), mark.indexOf('/', DEAD.length())))));
    }
    flush();
    long reclaimed = 0;
    int merged = 0;
    boolean anyMapped = false;
    for (Pack pack : victims) {
      merged += small.contains(pack) ? 1 : 0;
      objects.delete(pack.indexKey()); // first: from here on no reload sees the pack
      objects.delete(pack.packKey());
      deleteIndexCopy(pack.id);
      anyMapped |= pack.deleted();
      try (Stream<BlobInfo> marks = listing.list(DEAD + pack.id + "/")) {
        marks.forEach(m -> objects.delete(m.key()));
      }
      packs.remove(pack.id);
      reclaimed += pack.deadBytes.get();
    }
    alternates.values().removeIf(p -> victims.contains(p.pack()));
    if (anyMapped) {
      collectMappings();
    }
    if (anyGone) {
      refresh(); // forgets the gone packs and learns where their blobs are now
    }
    return new RepackResult(victims.size(), moved, reclaimed, merged);
  }

  /**
   * Asks the JVM to collect the mappings of packs just deleted. Java cannot unmap a file (the
   * mapping is freed when its buffer is collected), and a mapping that lived a while sits in the
   * old generation, which a long-running gateway with little live data may not collect for days:
   * until then every repacked pack it had read keeps its disk space, and gc reclaims nothing.
   * Packs are deleted in batches (one repack, one refresh after another process's gc), so this
   * runs once per batch, and only when this process had mapped one of them. The JDK does the same
   * when unreachable direct buffers hold the native memory a new one needs. It must be a full
   * collection: a concurrent cycle ({@code -XX:+ExplicitGCInvokesConcurrent}) left mappings behind
   * in 6 of 20 runs of a gateway beside a gc (a buffer that is young when the cycle begins
   * survives it), a full one in none of 8. A gateway's live data is small (~11 MB): it paused
   * 19-39 ms.
   */
  private static void collectMappings() {
    System.gc();
  }

  /**
   * Deletes pack objects that have no index and were last modified more than {@code grace} ago:
   * uploads that a crash interrupted between the pack and its index. The grace period must be
   * longer than any sealing takes, or a pack another process is sealing right now is deleted.
   *
   * @return how many packs were deleted
   */
  public int deleteOrphanPacks(java.time.Duration grace) {
    Objects.requireNonNull(grace, "grace");
    checkOpen();
    Instant cutoff = clock.instant().minus(grace);
    List<BlobInfo> listed;
    try (Stream<BlobInfo> all = listing.list(PACKS)) {
      listed = all.toList();
    }
    java.util.Set<String> indexed = new java.util.HashSet<>();
    for (BlobInfo info : listed) {
      if (info.key().endsWith(".idx")) {
        indexed.add(info.key().substring(0, info.key().length() - ".idx".length()));
      }
    }
    int deleted = 0;
    for (BlobInfo info : listed) {
      String base = info.key().substring(0, Math.max(0, info.key().length() - ".pack".length()));
      String id = base.substring(PACKS.length());
      if (info.key().endsWith(".pack") && !indexed.contains(base) && !info.lastModified().isAfter(cutoff)
          && !(packs.containsKey(id) && !packs.get(id).indexed)) { // this store's, its index not written yet
        objects.delete(info.key());
        deleted++;
      }
    }
    return deleted;
  }

  @Override
  public void close() {
    if (closed.get()) {
      return;
    }
    try {
      flush();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close packed store: unsealed packs could not be uploaded: " + e.getMessage(), e);
    } finally {
      if (closed.compareAndSet(false, true)) {
        sealer.shutdownNow();
        ExecutorTermination.await(sealer); // no sealing writes to the store or the index cache after close
        for (Pack pack : packs.values()) {
          dropSpool(pack);
        }
        objects.close();
      }
    }
  }

  @Override
  public String toString() {
    return "PackedBlobStore[" + objects + "]";
  }

  // ---------------------------------------------------------------- appending and sealing

  /**
   * Appends a small blob to the open pack and indexes it. With {@code replacing} non-null (a
   * repack), the key must still map to that entry and is moved; returns false if it no longer
   * does.
   */
  private boolean append(String key, byte[] bytes, int length, Packed replacing) throws IOException {
    Pack full = null;
    synchronized (appendLock) {
      Entry current = index.get(key);
      if (replacing == null ? current != null : current != replacing) {
        if (replacing != null) {
          return false;
        }
        throw new AlreadyExistsException("Cannot commit " + key + " in the packed store: it already exists");
      }
      if (openPack == null) {
        openPack = newOpenPack();
      }
      Pack pack = openPack;
      ByteBuffer src = ByteBuffer.wrap(bytes, 0, length);
      long offset = pack.size;
      while (src.hasRemaining()) {
        pack.spool.write(src, offset + src.position());
      }
      CRC32C crc = new CRC32C();
      crc.update(bytes, 0, length);
      Packed entry = new Packed(pack, offset, length, (int) crc.getValue(), clock.instant());
      pack.size += length;
      pack.appended.add(Map.entry(key, entry));
      index.put(key, entry);
      if (pack.size >= options.packSize()) {
        full = rotateOpenPack();
      }
    }
    if (full != null) {
      scheduleSeal(full);
    }
    return true;
  }

  /** Creates a spool file for pack {@code packId}, not locked yet, named for this process. */
  static Path createUnlockedSpool(Path spoolDirectory, String packId) throws IOException {
    return Files.createTempFile(spoolDirectory, "pack-" + packId + "-" + SPOOL_OWNER + "-", UNLOCKED_SPOOL);
  }

  private Pack newOpenPack() throws IOException {
    Pack pack = new Pack(newPackId(clock.instant()), PackState.OPEN);
    Path unlocked = createUnlockedSpool(options.spoolDirectory(), pack.id);
    FileChannel channel = FileChannel.open(unlocked, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      // held until the spool is dropped: tells other processes the file is alive (see removeDeadSpools)
      channel.lock();
      String name = unlocked.getFileName().toString();
      pack.spoolFile = unlocked.resolveSibling(name.substring(0, name.length() - UNLOCKED_SPOOL.length()) + ".spool");
      LIVE_SPOOLS.add(pack.spoolFile.toAbsolutePath().normalize());
      Files.move(unlocked, pack.spoolFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      channel.close();
      Files.deleteIfExists(unlocked);
      if (pack.spoolFile != null) {
        LIVE_SPOOLS.remove(pack.spoolFile.toAbsolutePath().normalize());
      }
      throw e;
    }
    pack.spool = channel;
    packs.put(pack.id, pack);
    return pack;
  }

  /** Takes the open pack out of service for sealing; null if there is none or it is empty. */
  private Pack rotateOpenPack() {
    Pack pack = openPack;
    openPack = null;
    if (pack == null) {
      return null;
    }
    if (pack.size == 0) {
      packs.remove(pack.id);
      dropSpool(pack);
      return null;
    }
    pack.state = PackState.SEALING;
    return pack;
  }

  private void scheduleSeal(Pack pack) {
    sealing.put(pack, sealer.submit(() -> {
      seal(pack);
      return null;
    }));
  }

  /** Waits for a pack's sealing; if it failed, tries once more in this thread. */
  private void awaitSeal(Pack pack) throws IOException {
    Future<?> future = sealing.get(pack);
    if (future == null) {
      return;
    }
    try {
      future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Cannot flush: interrupted while pack " + pack.id + " was sealed");
    } catch (ExecutionException e) {
      seal(pack); // throws if it fails again
    }
  }

  /** Uploads a pack then its index; idempotent, so a failed sealing can be tried again. */
  private void seal(Pack pack) throws IOException {
    try {
      sealOnce(pack);
    } catch (UncheckedIOException e) {
      throw new IOException("Cannot seal pack " + pack.id + ": " + e.getMessage(), e.getCause());
    } catch (AlreadyExistsException | NotFoundException e) {
      throw new IOException("Cannot seal pack " + pack.id + ": " + e.getMessage(), e);
    }
  }

  private void sealOnce(Pack pack) throws IOException {
    synchronized (pack) {
      if (pack.state == PackState.SEALED) {
        sealing.remove(pack);
        return;
      }
      // A first attempt asks nothing (on an object store, two HEADs of each commit's four requests):
      // the pack's id is new and random, so only an earlier attempt of this instance can have stored
      // the pack or its index. A retry asks, as that attempt may have failed after storing either.
      boolean retry = pack.sealAttempted;
      pack.sealAttempted = true;
      if (!retry || !objects.exists(pack.packKey())) {
        upload(pack);
      }
      List<Map.Entry<String, Packed>> live;
      synchronized (appendLock) {
        // blobs deleted while the pack was open are left out; later deletes leave marks
        live = pack.appended.stream().filter(e -> index.get(e.getKey()) == e.getValue()).toList();
        pack.state = PackState.SEALED;
      }
      if (!retry || !objects.exists(pack.indexKey())) {
        try {
          byte[] written = writeIndex(pack, live);
          objects.write(pack.indexKey(), written);
          keepIndexCopy(pack.id, written);
        } catch (RuntimeException e) {
          synchronized (appendLock) {
            pack.state = PackState.SEALING;
          }
          throw new IOException("Cannot seal pack " + pack.id + ": writing its index failed: " + e.getMessage(), e);
        }
      }
      pack.indexed = true;
      dropSpool(pack);
      sealing.remove(pack);
    }
  }

  private void upload(Pack pack) throws IOException {
    if (objects instanceof SupportsFileCommit files) {
      // straight from the spool file: a local store links it, an object store uploads it; the
      // index, committed next into the same folder, makes the pack's name durable with its own
      files.commitFileNamedByNext(pack.packKey(), pack.spoolFile, pack.size);
      return;
    }
    BlobOutput out = objects.create(pack.packKey());
    try (out) {
      ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
      for (long at = 0; at < pack.size; ) {
        buffer.clear().limit((int) Math.min(buffer.capacity(), pack.size - at));
        int n = pack.spool.read(buffer, at);
        out.write(buffer.array(), 0, n);
        at += n;
      }
    } catch (IOException | RuntimeException e) {
      out.abort();
      throw e;
    }
  }

  private void dropSpool(Pack pack) {
    FileChannel channel = pack.spool;
    pack.spool = null;
    if (channel != null) {
      try {
        channel.close();
        Files.deleteIfExists(pack.spoolFile);
      } catch (IOException ignored) {
        // a leftover spool file is garbage, not data
      } finally {
        LIVE_SPOOLS.remove(pack.spoolFile.toAbsolutePath().normalize());
      }
    }
  }

  private byte[] writeIndex(Pack pack, List<Map.Entry<String, Packed>> live) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + live.size() * 100);
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(INDEX_MAGIC);
    out.writeLong(clock.millis());
    out.writeLong(pack.size);
    out.writeInt(live.size());
    for (Map.Entry<String, Packed> e : live) {
      out.writeUTF(e.getKey());
      out.writeLong(e.getValue().offset());
      out.writeInt(e.getValue().length());
      out.writeInt(e.getValue().crc());
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes.toByteArray());
    out.writeInt((int) crc.getValue());
    out.flush();
    return bytes.toByteArray();
  }

  /**
   * The index of {@code pack}, listed as {@code info}, its length and CRC32C checked: its copy in
   * the index cache if that is whole (the listed size, its CRC32C matching), else read from the
   * store and copied there. Pack ids are random and never reused, and an index is written once, so
   * a copy never goes stale.
   *
   * @throws CorruptDataException if the store's index is too short or fails its CRC32C
   */
  private byte[] indexBytes(Pack pack, BlobInfo info) {
    Path copy = indexCopy(pack.id);
    if (copy != null) {
      try {
        byte[] bytes = Files.readAllBytes(copy);
        if (bytes.length == info.size() && indexProblem(bytes) == null) {
          return bytes;
        }
      } catch (IOException e) {
        // no copy, or one that cannot be read: the store's is read below
      }
    }
    byte[] bytes = objects.read(info.key());
    String problem = indexProblem(bytes);
    if (problem != null) {
      throw new CorruptDataException("Cannot load pack index " + pack.indexKey() + ": " + problem);
    }
    keepIndexCopy(pack.id, bytes);
    return bytes;
  }

  private Path indexCopy(String id) {
    Path dir = options.indexCacheDirectory();
    return dir == null ? null : dir.resolve(id + ".idx");
  }

  /**
   * Copies an index into the cache: not forced to disk, as a copy a crash damages fails its
   * CRC32C and is read from the store again. Best effort: a cache that cannot be written costs
   * reads, not correctness.
   */
  private void keepIndexCopy(String id, byte[] bytes) {
    Path copy = indexCopy(id);
    if (copy == null) {
      return;
    }
    Path temporary = copy.resolveSibling(id + ".idx." + SPOOL_OWNER + "-" + Thread.currentThread().getId() + ".tmp");
    try {
      Files.createDirectories(copy.getParent());
      Files.write(temporary, bytes);
      Files.move(temporary, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temporary);
      } catch (IOException ignored) {
        // left for pruneIndexCache
      }
    }
  }

  private void deleteIndexCopy(String id) {
    Path copy = indexCopy(id);
    if (copy != null) {
      try {
        Files.deleteIfExists(copy);
      } catch (IOException e) {
        // pruned at the next open
      }
    }
  }

  /** Deletes the cached copies of indexes of packs that are gone (another process's repack). */
  private void pruneIndexCache() {
    Path dir = options.indexCacheDirectory();
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> copies = Files.list(dir)) {
      for (Path copy : (Iterable<Path>) copies::iterator) {
        String name = copy.getFileName().toString();
        if (!(name.endsWith(".idx") && packs.containsKey(name.substring(0, name.length() - ".idx".length())))) {
          Files.deleteIfExists(copy);
        }
      }
    } catch (IOException e) {
      // best effort, as the cache is
    }
  }

  /** Why {@code bytes} cannot be a pack index (too short, or its last four bytes are not the CRC32C of the rest), or null. */
  private static String indexProblem(byte[] bytes) {
    if (bytes.length < 28) {
      return "it is " + bytes.length + " bytes long";
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    return (int) crc.getValue() == ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt() ? null : "its CRC32C does not match";
  }

  /** Reads an index whose length and CRC32C {@link #indexBytes} has checked. */
  private void readIndex(Pack pack, byte[] bytes, java.util.Set<String> dead) {
    try {
      // parsed by hand rather than through DataInputStream.readUTF: a large store loads a
      // hundred thousand entries at open, and keys are ASCII (Keys.check), where modified
      // UTF-8 is one byte per character
      ByteBuffer in = ByteBuffer.wrap(bytes, 0, bytes.length - 4);
      if (in.getInt() != INDEX_MAGIC) {
        throw new IOException("it does not start with the pack index magic");
      }
      Instant sealedAt = Instant.ofEpochMilli(in.getLong());
      pack.size = in.getLong();
      int count = in.getInt();
      long live = 0;
      for (int i = 0; i < count; i++) {
        String key = readKey(in);
        Packed entry = new Packed(pack, in.getLong(), in.getInt(), in.getInt(), sealedAt);
        if (!dead.contains(key)) {
          live += entry.length();
          index.merge(key, entry, (known, loaded) -> {
            if (known instanceof Packed p && p.pack().vanished) {
              return loaded;
            }
            // a blob in two packs, as a merge leaves them until it deletes the old ones (or for
            // good, if it crashed meanwhile): the copy sealed last is read, as the merge meant, so
            // the old pack holds nothing live and the next merge deletes it without copying the
            // blob yet again (where the merged pack would keep a copy nothing accounts for); the
            // older copy counts as dead, so a repack reclaims a large old pack too
            Packed older = known instanceof Packed p && loaded.written().isAfter(p.written()) ? p : (Packed) loaded;
            alternates.put(key, older);
            older.pack().deadBytes.addAndGet(older.length());
            return older == known ? loaded : known;
          });
        }
      }
      // deleted blobs: marked dead, or deleted while the pack was open and so left out of its
      // index (added, not set: loads of other packs beside this one may have counted its older
      // copies already)
      pack.deadBytes.addAndGet(pack.size - live);
    } catch (IOException | java.nio.BufferUnderflowException e) {
      throw new CorruptDataException("Cannot load pack index " + pack.indexKey() + ": "
          + (e instanceof IOException ? e.getMessage() : "it ends inside an entry"), e);
    }
  }

  /** Reads a key written by {@link DataOutputStream#writeUTF}. */
  private static String readKey(ByteBuffer in) throws IOException {
    int length = in.getShort() & 0xffff;
    if (length > in.remaining()) {
      throw new IOException("it ends inside a key");
    }
    int start = in.position();
    byte[] array = in.array();
    for (int i = start; i < start + length; i++) {
      if (array[i] < 0) { // not ASCII: let the JDK decode modified UTF-8
        in.position(start - 2);
        byte[] rest = new byte[in.remaining()];
        in.get(rest);
        DataInputStream data = new DataInputStream(new java.io.ByteArrayInputStream(rest));
        String key = data.readUTF();
        in.position(start - 2 + rest.length - data.available());
        return key;
      }
    }
    in.position(start + length);
    return new String(array, start, length, java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("Cannot use " + this + ": it is closed");
    }
  }

  // ---------------------------------------------------------------- output and input

  /** Buffers a blob; at close, appends it to the open pack, or past the direct threshold, streams it alone. */
  private final class PackedOutput extends BlobOutput {
    private final String key;
    private Buffer buffer = new Buffer();
    private BlobOutput direct;
    private long written;
    private boolean done;

    PackedOutput(String key) {
      this.key = key;
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
      if (done) {
        throw new IOException("Cannot write to " + key + ": the output is closed or aborted");
      }
      Objects.checkFromIndexSize(off, len, b.length);
      if (direct == null && written + len >= options.directThreshold()) {
        direct = objects.create(BLOBS + key);
        buffer.writeTo(direct);
        buffer = null;
      }
      OutputStream target = direct != null ? direct : buffer;
      target.write(b, off, len);
      written += len;
    }

    @Override
    public void close() throws IOException {
      if (done) {
        return;
      }
      done = true;
      checkOpen();
      if (direct == null) {
        Buffer bytes = buffer;
        buffer = null;
        append(key, bytes.array(), bytes.size(), null); // appended from the buffer itself: no copy
        return;
      }
      if (index.containsKey(key)) {
        direct.abort();
        throw new AlreadyExistsException("Cannot commit " + key + " in the packed store: it already exists");
      }
      direct.close();
      if (index.putIfAbsent(key, new Direct(written, clock.instant())) != null) {
        throw new AlreadyExistsException("Cannot commit " + key + " in the packed store: it already exists");
      }
    }

    @Override
    public void abort() {
      if (!done) {
        done = true;
        buffer = null;
        if (direct != null) {
          direct.abort();
        }
      }
    }
  }

  /** A blob's bytes before it is appended, handed to the pack without a final copy. */
  private static final class Buffer extends ByteArrayOutputStream {
    Buffer() {
      super(4096);
    }

    byte[] array() {
      return buf;
    }
  }
}
