package io.dharmana.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PipelineDescriptor;
import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.StorageDescriptor;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.runtime.ProgressListener;
import io.dharmana.stage.StageSpec;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * verify reads every copy in every tier and checks it against its id: a flipped bit in one tier's
 * pack is found and named, the object stays readable from the other tier, and a repair writes the
 * good copy in place of the damaged one. A blob damaged in its only tier is reported lost.
 */
class VerifyTest {
  @TempDir Path dir;
  private final long seed = 20_051;

  /** Two local tiers, written through: each holds a copy of every chunk and manifest. */
  private Repository init(boolean writeThrough) {
    StorageDescriptor storage = StorageDescriptor.builder()
        .stage(StageSpec.of("zstd", Map.of()))
        .tier(TierSpec.local("fast", "tiers/fast"))
        .tier(TierSpec.local("slow", "tiers/slow"))
        .placement(new PlacementPolicy("fast", writeThrough ? "through" : "back", true))
        .build();
    return Repository.init(dir.resolve("repo"), PipelineDescriptor.of("two-tiers", storage));
  }

  private List<byte[]> putObjects(Repository repo) {
    Random random = new Random(seed);
    List<byte[]> objects = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      byte[] data = new byte[400_000 + random.nextInt(200_000)];
      for (int j = 0; j < data.length; j++) {
        data[j] = (byte) ('a' + random.nextInt(random.nextBoolean() ? 4 : 26)); // text-like: zstd shrinks it
      }
      repo.put("data/object-" + i, new ByteArrayInputStream(data), PutOptions.defaults());
      objects.add(data);
    }
    repo.flush();
    return objects;
  }

  /** Flips one bit in the middle of the largest pack of {@code tier}. */
  private void flipABit(String tier) throws Exception {
    Path pack;
    try (Stream<Path> all = Files.walk(dir.resolve("repo/tiers").resolve(tier))) {
      pack = all.filter(p -> p.toString().endsWith(".pack")).max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length()))
          .orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(pack);
    bytes[bytes.length / 2] ^= 0x04;
    Files.write(pack, bytes);
  }

  private static byte[] read(Repository repo, String name) throws Exception {
    try (InputStream in = repo.open(name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void aFlippedBitInOneTierIsFoundAndRepairedFromTheOther() throws Exception {
    String why = "seed " + seed;
    List<byte[]> objects;
    try (Repository repo = init(true)) {
      objects = putObjects(repo);
      VerifyResult clean = repo.verify("", false, ProgressListener.NONE);
      assertTrue(clean.sound() && clean.problems().isEmpty(), why + ": " + clean);
      assertEquals(3, clean.objects(), why);
      assertEquals(2 * clean.blobs(), clean.copies(), why + ": both tiers hold every blob");
    }
    flipABit("slow");
    try (Repository repo = init2()) {
      VerifyResult found = repo.verify("", false, ProgressListener.NONE);
      assertEquals(1, found.problems().size(), why + ": " + found.problems());
      VerifyResult.Problem p = found.problems().get(0);
      assertEquals(VerifyResult.Kind.DAMAGED_COPY, p.kind(), why);
      assertEquals("slow", p.tier(), why);
      assertTrue(p.object().startsWith("data/object-"), why + ": " + p);
      assertTrue(found.readable() && !found.sound(), why);
      assertEquals(found, repo.verify("", false, ProgressListener.NONE), why + ": a check changes nothing");

      VerifyResult repaired = repo.verify("", true, ProgressListener.NONE);
      assertTrue(repaired.sound() && repaired.problems().get(0).repaired(), why + ": " + repaired);
    }
    try (Repository repo = init2()) {
      VerifyResult after = repo.verify("", false, ProgressListener.NONE);
      assertTrue(after.sound() && after.problems().isEmpty(), why + ": " + after.problems());
      assertEquals(2 * after.blobs(), after.copies(), why + ": the slow tier holds the blob again");
      for (int i = 0; i < objects.size(); i++) {
        assertArrayEquals(objects.get(i), read(repo, "data/object-" + i), why);
      }
    }
  }

  @Test
  void aBlobDamagedInItsOnlyTierIsLost() throws Exception {
    String why = "seed " + seed;
    try (Repository repo = Repository.init(dir.resolve("repo"), Repository.defaultPipeline())) {
      assertEquals(1, repo.tiers().tierNames().size(), why);
      putObjects(repo);
    }
    String tier;
    try (Repository repo = init2()) {
      tier = repo.tiers().tierNames().get(0);
    }
    flipABit(tier);
    try (Repository repo = init2()) {
      VerifyResult lost = repo.verify("", true, ProgressListener.NONE);
      assertEquals(1, lost.problems().size(), why + ": " + lost.problems());
      VerifyResult.Problem p = lost.problems().get(0);
      assertEquals(VerifyResult.Kind.LOST, p.kind(), why);
      assertFalse(p.repaired() || lost.readable() || lost.sound(), why);
      org.junit.jupiter.api.Assertions.assertThrows(io.dharmana.CorruptDataException.class, () -> read(repo, p.object()),
          why + ": the object verify names cannot be read");
      VerifyResult other = repo.verify("data/none-", false, ProgressListener.NONE);
      assertEquals(0, other.objects(), why);
      assertTrue(other.sound(), why + ": a prefix limits the check");
    }
  }

  private Repository init2() {
    return Repository.open(dir.resolve("repo"));
  }
}
