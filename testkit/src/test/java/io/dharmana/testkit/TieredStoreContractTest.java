package io.dharmana.testkit;

import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.Tier;
import io.dharmana.store.TieredStore;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store contract for a two-tier store: a small memory tier writing back to a local
 * directory, with background maintenance on, so blobs move while the contract is checked.
 */
class TieredStoreContractTest extends BlobStoreContractTest {
  @TempDir Path dir;
  private int stores;

  private TieredStore open(Path local) {
    return TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("hot", 4 << 20)))
        .addTier(Tier.of(Stores.local(local, true), TierSpec.local("disk", null)))
        .placement(new PlacementPolicy("hot", "back", true))
        .maintenanceInterval(Duration.ofMillis(50))
        .build();
  }

  @Override
  protected BlobStore newStore() {
    return open(dir.resolve("disk" + stores++));
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected BlobStore reopen(BlobStore store) {
    store.close();
    return open(dir.resolve("disk" + (stores - 1)));
  }
}
