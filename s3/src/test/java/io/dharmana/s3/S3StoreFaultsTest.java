package io.dharmana.s3;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.PackOptions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.s3.FaultInjectingProxy.Fault;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retries with backoff against a real S3 server behind a proxy that injects faults. */
class S3StoreFaultsTest {
  private static final int MIB = 1024 * 1024;

  @TempDir static Path dir;
  private static S3ProxyServer server;
  private static FaultInjectingProxy faults;

  @BeforeAll
  static void start() throws Exception {
    server = S3ProxyServer.shared();
    server.createBucket("faults");
    faults = new FaultInjectingProxy(server.endpoint());
  }

  @AfterAll
  static void stop() throws Exception {
    faults.close();
  }

  private static S3Store store(int maxAttempts, Duration attemptTimeout) {
    return S3Stores.create(
        "s3://faults/retry",
        S3ProxyServer.options(faults.endpoint())
            .maxAttempts(maxAttempts)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
            .attemptTimeout(attemptTimeout)
            .multipartThreshold(5 * MIB)
            .partSize(5 * MIB)
            .parallelism(2)
            .tempDirectory(dir)
            .build());
  }

  /**
   * The proxy decides on faults per new connection, so each phase uses a fresh store (a fresh
   * connection pool) and its first requests meet the faults.
   */
  @Test
  void writesAndReadsSucceedThrough503sWithRetries() {
    byte[] bytes = new byte[12 * MIB];
    new Random(41).nextBytes(bytes);
    int before = faults.faultsInjected();
    try (S3Store store = store(5, Duration.ofSeconds(30))) {
      faults.failNext(3, Fault.SLOW_DOWN_503);
      store.write("retried/big", bytes); // a 3-part upload
    }
    try (S3Store store = store(5, Duration.ofSeconds(30))) {
      faults.failNext(3, Fault.SLOW_DOWN_503);
      assertArrayEquals(bytes, store.read("retried/big"), "seed 41");
    }
    try (S3Store store = store(5, Duration.ofSeconds(30))) {
      faults.failNext(2, Fault.SLOW_DOWN_503);
      store.write("retried/small", new byte[] {1, 2});
      assertArrayEquals(new byte[] {1, 2}, store.read("retried/small"));
    }
    assertEquals(8, faults.faultsInjected() - before);
  }

  /**
   * An endpoint that refuses the first connection is down, not restarting: the store reports it
   * at once instead of after its retries. Once it has answered, a refused connection is retried.
   */
  @Test
  void aRefusedConnectionIsRetriedOnlyOnceTheEndpointHasAnswered() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    S3StoreOptions options = S3ProxyServer.options(URI.create("http://127.0.0.1:" + port))
        .maxAttempts(4)
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .build();
    try (S3Store store = S3Stores.create("s3://refused/r", options)) {
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.list("").count());
      assertTrue(e.getMessage().contains("Connection refused") && e.getMessage().contains("SDK Attempt Count: 1"),
          e.getMessage());
    }
    S3ProxyServer own = S3ProxyServer.start(dir.resolve("refused"), port);
    try (S3Store store = S3Stores.create("s3://refused/r", options)) {
      own.createBucket("refused");
      assertFalse(store.exists("k")); // a 404 is an answer
      own.stop();
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.exists("k"));
      assertTrue(e.getMessage().contains("SDK Attempt Count: 4"), e.getMessage());
    } finally {
      own.stop();
    }
  }

  @Test
  void withoutRetriesA503Fails() {
    try (S3Store store = store(1, Duration.ofSeconds(30))) {
      faults.failNext(1, Fault.SLOW_DOWN_503);
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.write("no-retry/k", new byte[] {1}));
      assertTrue(e.getMessage().contains("503"), e.getMessage());
      faults.failNext(0, Fault.SLOW_DOWN_503);
      assertFalse(store.exists("no-retry/k"));
    }
  }

  @Test
  void aPackThatCannotBeUploadedStaysReadableAndALaterFlushSucceeds() throws Exception {
    byte[] chunk = new byte[3000];
    new Random(42).nextBytes(chunk);
    PackedBlobStore packed = PackedBlobStore.open(store(1, Duration.ofSeconds(30)),
        new PackOptions(1 << 20, 256 << 10, dir.resolve("spool")));
    try {
      packed.write("chunk/a", chunk);
      faults.failNext(1000, Fault.SLOW_DOWN_503);
      assertThrows(java.io.IOException.class, packed::flush);
      assertArrayEquals(chunk, packed.read("chunk/a"), "served from the spool while the upload fails");
      faults.failNext(0, Fault.SLOW_DOWN_503);
      packed.flush();
    } finally {
      faults.failNext(0, Fault.SLOW_DOWN_503);
      packed.close();
    }
    try (PackedBlobStore reopened = PackedBlobStore.open(store(3, Duration.ofSeconds(30)),
        new PackOptions(1 << 20, 256 << 10, dir.resolve("spool")))) {
      assertArrayEquals(chunk, reopened.read("chunk/a"), "seed 42");
    }
  }

  @Test
  void anUnansweredAttemptTimesOutAndIsRetried() {
    try (S3Store store = store(3, Duration.ofMillis(1500))) {
      faults.failNext(1, Fault.NO_ANSWER);
      store.write("timeout/k", new byte[] {9});
      assertArrayEquals(new byte[] {9}, store.read("timeout/k"));
    }
  }
}
