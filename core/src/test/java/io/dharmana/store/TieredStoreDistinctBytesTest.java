package io.dharmana.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.TierSpec;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distinct bytes the tiers hold, which {@code cost} and {@code report} price the pipelines
 * with, come from the tiers' indexes that {@link TieredStore#stats()} loads: they were a merged
 * listing of every tier, one listing more per tier (on S3, requests) on each run.
 */
class TieredStoreDistinctBytesTest {
  private static final long SEED = 7171L;

  @TempDir Path dir;

  /** A local directory whose listings are counted, as an S3 tier's would be billed. */
  private static final class CountedListings extends ForwardingBlobStore {
    final AtomicInteger listings = new AtomicInteger();

    CountedListings(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public Stream<BlobInfo> list(String prefix) {
      listings.incrementAndGet();
      return super.list(prefix);
    }
  }

  @Test
  void distinctBytesHeldNeedNoListingBeyondTheStatistics() throws Exception {
    Random random = new Random(SEED);
    List<CountedListings> stores = new ArrayList<>();
    for (String name : List.of("fast", "slow")) {
      stores.add(new CountedListings(new LocalStore(dir.resolve(name), false, Clock.systemUTC())));
    }
    long expected = 0;
    try (TieredStore seed = build(stores)) {
      // some blobs on both tiers (write-back copies), some on the fast tier alone
      for (int i = 0; i < 30; i++) {
        byte[] data = new byte[100 + random.nextInt(5000)];
        random.nextBytes(data);
        seed.write("chunks/" + i, data);
        expected += data.length;
      }
      seed.flush();
    }
    try (TieredStore tiers = build(stores)) {
      tiers.stats(); // what cost and report take first: it loads each tier's index by one listing
      int afterStats = stores.stream().mapToInt(s -> s.listings.get()).sum();
      long distinct = tiers.distinctBytesHeld(unlisted -> {
        throw new AssertionError("tier " + unlisted + " is readable");
      });
      assertEquals(afterStats, stores.stream().mapToInt(s -> s.listings.get()).sum(), "seed " + SEED + ": listed again");
      assertEquals(expected, distinct, "seed " + SEED + ": each blob once, however many tiers hold it");
      long held = tiers.stats().stream().mapToLong(TierStats::bytesHeld).sum();
      assertTrue(held > distinct, "seed " + SEED + ": both tiers hold copies (" + held + " held)");
      try (Stream<BlobInfo> merged = tiers.list("")) { // the listing it replaces: the same figure, for a listing per tier
        assertEquals(distinct, merged.mapToLong(BlobInfo::size).sum(), "seed " + SEED);
      }
      assertEquals(afterStats + stores.size(), stores.stream().mapToInt(s -> s.listings.get()).sum());
    }
  }

  private static TieredStore build(List<CountedListings> stores) {
    return TieredStore.builder()
        .addTier(Tier.of(stores.get(0), TierSpec.local("fast", "fast")))
        .addTier(Tier.of(stores.get(1), TierSpec.local("slow", "slow")))
        .placement(PlacementPolicy.defaults("fast"))
        .build();
  }
}
