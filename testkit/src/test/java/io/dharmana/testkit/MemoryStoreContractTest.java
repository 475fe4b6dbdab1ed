package io.dharmana.testkit;

import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;

class MemoryStoreContractTest extends BlobStoreContractTest {
  @Override
  protected BlobStore newStore() {
    return Stores.memory();
  }
}
