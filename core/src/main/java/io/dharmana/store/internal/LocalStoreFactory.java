package io.dharmana.store.internal;

import io.dharmana.descriptor.TierSpec;
import io.dharmana.store.BlobStore;
import io.dharmana.store.StoreFactory;
import io.dharmana.store.Stores;
import java.nio.file.Path;

/** Registers the {@code local} tier kind: a directory, by default {@code tiers/<name>} in the repository. */
public final class LocalStoreFactory implements StoreFactory {
  @Override
  public String kind() {
    return "local";
  }

  @Override
  public BlobStore create(TierSpec spec, Path repositoryRoot, boolean fsync) {
    return Stores.local(Stores.tierDirectory(spec, repositoryRoot), fsync);
  }
}
