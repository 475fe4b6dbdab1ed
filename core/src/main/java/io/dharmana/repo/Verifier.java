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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads every copy of everything the named objects under a prefix need (their manifests, the
 * manifests those include, and their chunks) from each tier that holds it, and checks it against
 * its id, the SHA-256 of its bytes: bit rot on a disk tier is found before a restore needs the
 * data, and while another tier still holds a good copy. A repair replaces a damaged copy with a
 * good one another tier holds.
 */
final class Verifier {
  private final Repository repo;
  private final TieredStore tiers;
  private final List<VerifyResult.Problem> problems = new ArrayList<>();
  private final Set<String> unreachable = new LinkedHashSet<>();
  private long copies;
  private long bytesRead;
  private long rewritten;

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
    total = blobs + chunks.size();
    long done = blobs;
    progress.progress(done, total);
    for (Map.Entry<ChunkId, String> c : chunks.entrySet()) {
      check(ChunkStore.key(c.getKey()), c.getKey(), c.getValue(), repair);
      progress.progress(++done, total);
      blobs++;
    }
    if (rewritten > 0) {
      tiers.flush(); // the good copies written in place of damaged ones are durable before this returns
    }
    return new VerifyResult(named.size(), manifests.size(), blobs, copies, bytesRead, problems, List.copyOf(unreachable));
  }

  /**
   * Checks every tier's copy of {@code key}, which must hash to {@code id}; returns a good copy's
   * bytes, or null when there is none (reported).
   */
  private byte[] check(String key, ChunkId id, String object, boolean repair) {
    byte[] good = null;
    String keeper = null; // the tier of the good copy, for the messages
    Map<String, String> damaged = new LinkedHashMap<>();
    List<String> holding = tiers.tiersHolding(key);
    for (String tier : holding) {
      byte[] bytes;
      try {
        bytes = tiers.readFrom(tier, key);
      } catch (NotFoundException gone) {
        continue; // deleted since (a concurrent gc): not this check's concern
      } catch (CorruptDataException e) {
        damaged.put(tier, e.getMessage()); // a pack's checksum of the copy failed
        continue;
      } catch (UncheckedIOException e) {
        unreachable.add(tier);
        continue;
      }
      copies++;
      bytesRead += bytes.length;
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
    if (holding.isEmpty() || good == null && damaged.isEmpty() && unreachable.isEmpty()) {
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
          rewritten++;
        }
        problems.add(new VerifyResult.Problem(VerifyResult.Kind.DAMAGED_COPY, object, key, d.getKey(),
            d.getValue() + "; tier " + keeper + " holds a good copy", repair));
      }
    }
    return good;
  }
}
