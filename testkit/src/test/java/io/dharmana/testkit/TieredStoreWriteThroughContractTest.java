package io.dharmana.testkit;

import io.dharmana.descriptor.PlacementPolicy;
import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.store.Tier;
import io.dharmana.store.TieredStore;

/** The store contract for three memory tiers, writing through from the middle one. */
class TieredStoreWriteThroughContractTest extends BlobStoreContractTest {
  @Override
  protected BlobStore newStore() {
    return TieredStore.builder()
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("l1", 1 << 20)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("l2", 2 << 20)))
        .addTier(Tier.of(Stores.memory(), TierSpec.memory("l3", 0)))
        .placement(new PlacementPolicy("l2", "through", true))
        .build();
  }
}
