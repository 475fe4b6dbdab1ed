package io.dharmana.testkit;

import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class LocalStoreContractTest extends BlobStoreContractTest {
  @TempDir Path dir;
  private int stores;

  @Override
  protected BlobStore newStore() {
    return Stores.local(dir.resolve("store" + stores++), true);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected BlobStore reopen(BlobStore store) {
    store.close();
    return Stores.local(dir.resolve("store" + (stores - 1)), true);
  }
}
