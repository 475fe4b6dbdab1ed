package io.dharmana.store.internal;

import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.StoreFactory;
import io.dharmana.store.Stores;
import java.nio.file.Path;

/** Registers the {@code memory} tier kind; the location is ignored. */
public final class MemoryStoreFactory implements StoreFactory {
  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public BlobStore create(TierSpec spec, Path repositoryRoot, boolean fsync) {
    return Stores.memory();
  }
}
