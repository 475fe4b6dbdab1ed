package io.dharmana.s3;

import io.dharmana.store.BlobStore;
import io.dharmana.testkit.BlobStoreContractTest;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The store contract, against a real S3 server (S3Proxy on loopback). */
class S3StoreContractTest extends BlobStoreContractTest {
  private static final AtomicInteger STORES = new AtomicInteger();
  private static S3ProxyServer server;

  @TempDir Path dir;
  private String lastPrefix;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("contract");
  }

  private S3Store store(String prefix) {
    lastPrefix = prefix;
    return S3Stores.create(
        new S3Location("contract", prefix),
        // small thresholds, so the contract's 8 MiB blob goes up in parts and spills to disk
        server.options().spillThreshold(1 << 20).multipartThreshold(5 << 20).partSize(5 << 20)
            .readPartSize(1 << 20).tempDirectory(dir).build());
  }

  @Override
  protected BlobStore newStore() {
    return store("store-" + STORES.incrementAndGet());
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected BlobStore reopen(BlobStore store) {
    store.close();
    return store(lastPrefix);
  }
}
