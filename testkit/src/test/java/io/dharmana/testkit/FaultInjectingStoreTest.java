package io.dharmana.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.store.BlobOutput;
import io.dharmana.store.BlobStore;
import io.dharmana.store.Stores;
import io.dharmana.testkit.FaultInjectingStore.Operation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class FaultInjectingStoreTest {

  @Test
  void crashAbortsEveryUncommittedOutputAndKeepsCommittedBlobs() throws IOException {
    FaultInjectingStore store = new FaultInjectingStore(Stores.memory(), 1);
    store.write("committed", new byte[] {1});
    BlobOutput a = store.create("a");
    BlobOutput b = store.create("b");
    a.write(new byte[100]);
    store.crash();
    assertThrows(IOException.class, () -> b.write(1));
    assertThrows(IOException.class, a::close);
    assertFalse(store.exists("a"));
    assertFalse(store.exists("b"));
    assertArrayEquals(new byte[] {1}, store.read("committed"));
    BlobOutput later = store.create("c");
    later.write(2);
    later.close();
    assertTrue(store.exists("c"));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42})
  void injectedFailuresFollowTheSeedAndNeverCommitHalfABlob(long seed) {
    List<Boolean> first = run(seed);
    assertEquals(first, run(seed), "seed " + seed + ": the same seed must inject the same faults");
  }

  private static List<Boolean> run(long seed) {
    BlobStore memory = Stores.memory();
    FaultInjectingStore store = new FaultInjectingStore(memory, seed).failureProbability(0.3);
    Random random = new Random(seed);
    List<Boolean> outcomes = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      byte[] bytes = new byte[1 + random.nextInt(1000)];
      random.nextBytes(bytes);
      String key = "k" + i;
      boolean ok;
      try {
        store.write(key, bytes);
        ok = true;
      } catch (UncheckedIOException e) {
        ok = false;
      }
      outcomes.add(ok);
      // A failed write leaves nothing; a successful one the exact bytes.
      assertEquals(ok, memory.exists(key), "seed " + seed + " key " + key);
      if (ok) {
        assertArrayEquals(bytes, memory.read(key), "seed " + seed + " key " + key);
      }
    }
    assertTrue(outcomes.contains(true) && outcomes.contains(false), "seed " + seed + ": " + outcomes);
    assertEquals(outcomes.stream().filter(o -> !o).count(), store.injectedFailures(), "seed " + seed);
    return outcomes;
  }

  @Test
  void failOnRestrictsTheFailingOperations() {
    FaultInjectingStore store =
        new FaultInjectingStore(Stores.memory(), 7).failureProbability(1).failOn(Operation.OPEN);
    store.write("k", new byte[] {1, 2, 3});
    assertThrows(UncheckedIOException.class, () -> store.open("k"));
    store.failureProbability(0);
    assertArrayEquals(new byte[] {1, 2, 3}, store.read("k"));
    assertThrows(IllegalArgumentException.class, () -> store.failureProbability(1.5));
  }

  @ParameterizedTest
  @ValueSource(longs = {5, 6, 7})
  void flipBitOnReadChangesExactlyOneBitOfMatchingKeys(long seed) {
    Random random = new Random(seed);
    BlobStore memory = Stores.memory();
    FaultInjectingStore store = new FaultInjectingStore(memory, seed).flipBitOnRead(k -> k.startsWith("bad/"));
    byte[] bytes = new byte[10_000];
    random.nextBytes(bytes);
    store.write("bad/x", bytes);
    store.write("good/x", bytes);
    assertArrayEquals(bytes, store.read("good/x"), "seed " + seed);
    byte[] read = store.read("bad/x");
    int differingBits = 0;
    for (int i = 0; i < bytes.length; i++) {
      differingBits += Integer.bitCount((bytes[i] ^ read[i]) & 0xff);
    }
    assertEquals(1, differingBits, "seed " + seed);
    assertArrayEquals(read, store.read("bad/x"), "seed " + seed + ": every read must see the same flip");
    assertArrayEquals(bytes, memory.read("bad/x"), "seed " + seed + ": the stored bytes stay intact");
  }
}
