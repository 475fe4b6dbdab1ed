package io.dharmana.repo;

import io.dharmana.CorruptDataException;
import io.dharmana.NotFoundException;
import io.dharmana.chunk.ChunkId;
import io.dharmana.chunk.ChunkStore;
import io.dharmana.manifest.ChunkRef;
import io.dharmana.manifest.ManifestCodec;
import io.dharmana.manifest.ObjectManifest;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.store.TieredStore;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/**
 * Reads every copy of everything the named objects under a prefix need (their manifests, the
 * manifests those include, and their chunks) from each tier that holds it, and checks it against
 * its id, the SHA-256 of its bytes: bit rot on a disk tier is found before a restore needs the
 * data, and while another tier still holds a good copy. A repair replaces a damaged copy with a
 * good one another tier holds.
 */
final class Verifier {
  /** Chunks checked at once. */
  static final int THREADS = Math.max(4, Runtime.getRuntime().availableProcessors());

  private final Repository repo;
  private final TieredStore tiers;
  private final List<VerifyResult.Problem> problems = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Set<String> unreachable = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final LongAdder copies = new LongAdder();
  private final LongAdder bytesRead = new LongAdder();
  private final LongAdder rewritten = new LongAdder();

  Verifier(Repository repo) {
    this.repo = repo;
    this.tiers = repo.tiers();
  }

  VerifyResult run(String prefix, boolean repair, ProgressListener progress) {
    List<Ref> named = repo.refs().list(Repository.OBJECTS + prefix);
    // manifests first, by id, each with the first object that needs it (for the messages)
    Map<String, String> manifests = new LinkedHashMap<>();
    ArrayDeque<String> pending = new ArrayDeque<>();
    for (Ref ref : named) {
      if (manifests.putIfAbsent(ref.target(), ref.name().substring(Repository.OBJECTS.length())) == null) {
        pending.add(ref.target());
      }
    }
    Map<ChunkId, String> chunks = new LinkedHashMap<>();
    long blobs = 0;
    long total = named.size();
    progress.progress(0, total);
    while (!pending.isEmpty()) {
      String id = pending.poll();
      String object = manifests.get(id);
      blobs++;
      byte[] good = check(Repository.manifestKey(id), ChunkId.parse(id), object, repair);
      if (good == null) {
        continue; // reported: its chunks cannot be known
      }
      ObjectManifest m = ManifestCodec.decode(good, id);
      for (ChunkRef c : m.chunks()) {
        chunks.putIfAbsent(c.id(), object);
      }
      for (String included : m.includes()) {
        if (manifests.putIfAbsent(included, object) == null) {
          pending.add(included);
        }
      }
    }
    ProgressListener.Summing checked = ProgressListener.summing(progress, blobs + chunks.size());
    checked.add(blobs);
    checkAll(chunks, repair, checked);
    blobs += chunks.size();
    if (rewritten.sum() > 0) {
      tiers.flush(); // the good copies written in place of damaged ones are durable before this returns
    }
    List<VerifyResult.Problem> found = new ArrayList<>(problems);
    found.sort(java.util.Comparator.comparing(VerifyResult.Problem::blob)
        .thenComparing(p -> p.tier() == null ? "" : p.tier()));
    return new VerifyResult(named.size(), manifests.size(), blobs, copies.sum(), bytesRead.sum(), found,
        unreachable.stream().sorted().toList());
  }

  /**
   * Checks the chunks on {@link #THREADS} threads: a chunk's check waits on its reads (a disk, an
   * object store's round trips) as much as on its hashing, so several at once keep both busy.
   * At most twice that many are under way, each holding one chunk's copies.
   */
  private void checkAll(Map<ChunkId, String> chunks, boolean repair, ProgressListener.Summing checked) {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
      Thread t = new Thread(r, "dharmana-verify");
      t.setDaemon(true);
      return t;
    });
    Semaphore inFlight = new Semaphore(2 * THREADS);
    List<Future<?>> running = new ArrayList<>();
    try {
      for (Map.Entry<ChunkId, String> c : chunks.entrySet()) {
        inFlight.acquire();
        running.add(pool.submit(() -> {
          try {
            check(ChunkStore.key(c.getKey()), c.getKey(), c.getValue(), repair);
            checked.add(1);
          } finally {
            inFlight.release();
          }
        }));
        for (java.util.Iterator<Future<?>> it = running.iterator(); it.hasNext(); ) {
          Future<?> f = it.next();
          if (f.isDone()) {
            f.get(); // a check that failed (a tier that cannot be written while repairing) stops the verify
            it.remove();
          }
        }
      }
      for (Future<?> f : running) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Cannot verify: interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Checks every tier's copy of {@code key}, which must hash to {@code id}; returns a good copy's
   * bytes, or null when there is none (reported).
   */
  private byte[] check(String key, ChunkId id, String object, boolean repair) {
    byte[] good = null;
    String keeper = null; // the tier of the good copy, for the messages
    Map<String, String> damaged = new LinkedHashMap<>();
    // each tier asked by reading: an existence check first would be a second request per copy
    for (String tier : tiers.tierNames()) {
      byte[] bytes;
      try {
        bytes = tiers.readFrom(tier, key);
      } catch (NotFoundException absent) {
        continue; // this tier holds no copy (or a concurrent gc deleted it)
      } catch (CorruptDataException e) {
        damaged.put(tier, e.getMessage()); // a pack's checksum of the copy failed
        continue;
      } catch (UncheckedIOException e) {
        unreachable.add(tier);
        continue;
      }
      copies.increment();
      bytesRead.add(bytes.length);
      ChunkId actual = ChunkId.of(bytes);
      if (actual.equals(id)) {
        if (good == null) {
          good = bytes;
          keeper = tier;
        }
      } else {
        damaged.put(tier, "SHA-256 of its " + bytes.length + " bytes is " + actual.abbrev() + ", not " + id.abbrev());
      }
    }
    if (good == null && damaged.isEmpty()) {
      problems.add(new VerifyResult.Problem(VerifyResult.Kind.MISSING, object, key, null,
          "no tier holds it (tiers " + tiers.tierNames() + (unreachable.isEmpty() ? "" : "; unreachable: " + unreachable) + ")", false));
      return null;
    }
    for (Map.Entry<String, String> d : damaged.entrySet()) {
      if (good == null) {
        problems.add(new VerifyResult.Problem(VerifyResult.Kind.LOST, object, key, d.getKey(), d.getValue() + "; no tier holds a good copy", false));
      } else {
        if (repair) {
          tiers.rewriteIn(d.getKey(), key, good);
          rewritten.increment();
        }
        problems.add(new VerifyResult.Problem(VerifyResult.Kind.DAMAGED_COPY, object, key, d.getKey(),
            d.getValue() + "; tier " + keeper + " holds a good copy", repair));
      }
    }
    return good;
  }
}
