package io.dharmana.s3;
import io.dharmana.store.PackedBlobStore;
import io.dharmana.store.PackOptions;

import io.dharmana.store.BlobStore;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One short measurement of PUT/GET throughput against the in-process S3Proxy: 64 MiB pack-sized
 * objects vs 4 KiB single objects. Not a test (nothing is asserted on speed); it runs only with
 * {@code -Ddharmana.measure=true} and prints its numbers.
 */
class S3ThroughputMeasurement {
  @TempDir Path dir;

  @Test
  void measure() throws Exception {
    Assumptions.assumeTrue(Boolean.getBoolean("dharmana.measure"), "run with -Ddharmana.measure=true");
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("measure");
    try (S3Store store = S3Stores.create("s3://measure/m", server.options().tempDirectory(dir).build())) {
      byte[] big = new byte[64 << 20];
      new Random(1).nextBytes(big);
      byte[] small = new byte[4096];
      new Random(2).nextBytes(small);
      // warm up
      store.write("warm/big", big);
      store.read("warm/big");
      for (int i = 0; i < 50; i++) {
        store.write("warm/s" + i, small);
        store.read("warm/s" + i);
      }
      int bigCount = 4;
      long t0 = System.nanoTime();
      for (int i = 0; i < bigCount; i++) {
        store.write("big/" + i, big);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < bigCount; i++) {
        store.read("big/" + i);
      }
      long t2 = System.nanoTime();
      int smallCount = 500;
      for (int i = 0; i < smallCount; i++) {
        store.write("small/" + i, small);
      }
      long t3 = System.nanoTime();
      for (int i = 0; i < smallCount; i++) {
        store.read("small/" + i);
      }
      long t4 = System.nanoTime();
      report("64 MiB objects PUT", bigCount, (long) bigCount * big.length, t1 - t0);
      report("64 MiB objects GET", bigCount, (long) bigCount * big.length, t2 - t1);
      report("4 KiB objects PUT (1 thread)", smallCount, (long) smallCount * small.length, t3 - t2);
      report("4 KiB objects GET (1 thread)", smallCount, (long) smallCount * small.length, t4 - t3);

      try (BlobStore packed = PackedBlobStore.open(
          S3Stores.create("s3://measure/p", server.options().tempDirectory(dir).build()),
          PackOptions.defaults(dir.resolve("spool")))) {
        int n = 16384; // 64 MiB of 4 KiB chunks
        long p0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          small[0] = (byte) i;
          small[1] = (byte) (i >> 8);
          packed.write("c/" + i, small);
        }
        ((PackedBlobStore) packed).flush();
        long p1 = System.nanoTime();
        for (int i = 0; i < 500; i++) {
          packed.read("c/" + (i * 31 % n));
        }
        long p2 = System.nanoTime();
        report("4 KiB chunks into a 64 MiB pack, write+flush", n, (long) n * small.length, p1 - p0);
        report("4 KiB chunks read from packs (1 ranged GET each)", 500, 500L * small.length, p2 - p1);
      }
    }
  }

  private static void report(String what, int count, long bytes, long nanos) {
    double seconds = nanos / 1e9;
    System.out.printf("MEASURE %-52s %6d ops %9.1f MB/s %9.0f ops/s %8.2f ms/op%n",
        what, count, bytes / seconds / 1e6, count / seconds, seconds * 1000 / count);
  }
}
