package io.dharmana.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.CorruptDataException;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard file cut short outside Dharmana while a dataset has it mapped: reading a sample past the
 * new end through the mapping would fault, which crashes the JVM in the CRC code. It must be a
 * CorruptDataException naming the shard and the sample; samples before the cut and other shards
 * still read.
 */
class ShardCutShortTest {
  @TempDir Path tmp;

  @Test
  void aSampleBeyondTheCutIsCorruptDataNamingShardAndSample() throws Exception {
    long seed = 17;
    Path src = tmp.resolve("src");
    DatasetPackTest.writeRandomTree(src, new Random(seed), 120);
    Path ds = tmp.resolve("ds");
    DatasetIndex index = DatasetPackTest.pack(ds, List.of(src), 256 * 1024, 32 * 1024);
    ShardInfo cutShard = index.shards().get(0);
    try (BlobStore store = Stores.local(ds, false); Dataset dataset = Dataset.open(store, "")) {
      List<byte[]> before = new ArrayList<>();
      for (long i = 0; i < index.samples(); i++) { // maps every shard
        before.add(dataset.sample(i).bytes());
      }
      Path file = ds.resolve(cutShard.key());
      file.toFile().setWritable(true);
      long cut;
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        cut = channel.size() / 2;
        channel.truncate(cut);
      }
      Thread.sleep(20); // a length learnt in the last 10 ms is trusted (a cut during reads may fault those)
      int failed = 0;
      for (long i = 0; i < index.samples(); i++) {
        long sample = i;
        if (i < cutShard.firstSample() + cutShard.samples() && i >= cutShard.firstSample()) {
          try {
            assertArrayEquals(before.get((int) i), dataset.sample(i).bytes(), "seed " + seed + ": sample " + i + " before the cut");
          } catch (CorruptDataException e) {
            failed++;
            assertTrue(e.getMessage().contains(cutShard.key()) && e.getMessage().contains("sample " + sample), e.getMessage());
          }
        } else {
          assertArrayEquals(before.get((int) i), dataset.sample(i).bytes(), "seed " + seed + ": sample " + i + " of another shard");
        }
      }
      assertTrue(failed > 0 && failed < cutShard.samples(), "seed " + seed + ": " + failed + " of " + cutShard.samples()
          + " samples lie beyond the cut at " + cut);
      long last = cutShard.firstSample() + cutShard.samples() - 1;
      CorruptDataException e = assertThrows(CorruptDataException.class, () -> dataset.sample(last), "the last sample is gone");
      assertTrue(e.getMessage().contains("cut short"), e.getMessage());
    }
  }
}
