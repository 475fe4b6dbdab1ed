package io.dharmana.s3;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.PackOptions;

import io.dharmana.store.BlobStore;
import io.dharmana.testkit.BlobStoreContractTest;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store contract for the packed store on S3. Durability differs by design (blobs are
 * durable at flush, and close flushes), which the contract's reopen test meets through close.
 */
class PackedBlobStoreContractTest extends BlobStoreContractTest {
  private static final AtomicInteger STORES = new AtomicInteger();
  private static S3ProxyServer server;

  @TempDir Path dir;
  private String lastPrefix;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("packed-contract");
  }

  private PackedBlobStore store(String prefix) {
    lastPrefix = prefix;
    S3Store objects = S3Stores.create(
        new S3Location("packed-contract", prefix),
        server.options().multipartThreshold(5 << 20).partSize(5 << 20).tempDirectory(dir).build());
    return PackedBlobStore.open(objects, new PackOptions(1 << 20, 256 << 10, dir.resolve("spool")));
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
