package io.dharmana.testkit;

import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;

/** With faults off, the decorator must itself pass the store contract. */
class FaultInjectingStoreContractTest extends BlobStoreContractTest {
  @Override
  protected BlobStore newStore() {
    return new FaultInjectingStore(Stores.memory(), seed());
  }
}
