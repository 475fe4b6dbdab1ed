package io.dharmana.s3;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gc's marks of deleted chunks on an S3 tier, against the in-process S3Proxy: written one at a
 * time (the store SPI's default {@code writeMarkers}) against {@link S3Store#writeMarkers}, in
 * alternating rounds. Not a test (nothing is asserted on speed); it runs only with {@code
 * -Ddharmana.measure=true} and prints the times and their ratio.
 */
class S3MarkerMeasurement {
  @TempDir Path dir;

  @Test
  void measure() throws Exception {
    Assumptions.assumeTrue(Boolean.getBoolean("dharmana.measure"), "run with -Ddharmana.measure=true");
    S3ProxyServer server = S3ProxyServer.shared();
    server.createBucket("marks");
    int count = 1000;
    try (S3Store store = S3Stores.create("s3://marks/m", server.options().tempDirectory(dir).build())) {
      for (int round = 0; round < 4; round++) { // round 0 warms up
        List<String> one = keys("one/" + round, count);
        List<String> batch = keys("batch/" + round, count);
        long t0 = System.nanoTime();
        for (String key : one) {
          store.write(key, new byte[0]); // what BlobStore.writeMarkers does by default
        }
        long t1 = System.nanoTime();
        store.writeMarkers(batch);
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "round %d: %d markers one at a time %.2f s, writeMarkers %.2f s: %.1fx%n",
            round, count, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (double) (t1 - t0) / (t2 - t1));
      }
    }
  }

  private static List<String> keys(String prefix, int count) {
    List<String> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      keys.add("dead/" + prefix + "/chunks/" + String.format(Locale.ROOT, "%02x", i % 256) + "/c" + i);
    }
    return keys;
  }
}
