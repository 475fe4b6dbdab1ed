package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SnapshotCopierTest {
  /** Sources of random sizes (some past the parallel threshold and the piece size), heap and direct, not at position 0. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void copiesEveryByteOfEveryTensorIntoItsTarget(long seed) {
    Random random = new Random(seed);
    List<ByteBuffer> sources = new ArrayList<>();
    List<ByteBuffer> targets = new ArrayList<>();
    int count = 1 + random.nextInt(6);
    for (int t = 0; t < count; t++) {
      int size = random.nextInt(4) == 0 ? 20_000_000 + random.nextInt(1 << 20) : random.nextInt(100_000);
      int skip = random.nextInt(16);
      ByteBuffer backing = random.nextBoolean() ? ByteBuffer.allocateDirect(size + skip) : ByteBuffer.allocate(size + skip);
      byte[] fill = new byte[size + skip];
      random.nextBytes(fill);
      backing.put(fill).clear().position(skip);
      sources.add(random.nextBoolean() ? backing.asReadOnlyBuffer() : backing);
      targets.add(ByteBuffer.allocate(size));
    }
    try (SnapshotCopier copier = new SnapshotCopier(1 + random.nextInt(3))) {
      copier.copy(sources, targets);
    }
    for (int t = 0; t < count; t++) {
      assertEquals(0, targets.get(t).position(), "seed " + seed + " tensor " + t + ": target position moved");
      assertEquals(sources.get(t), targets.get(t), "seed " + seed + " tensor " + t + ": bytes differ");
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void rejectsATargetOfTheWrongSize(int threads) {
    try (SnapshotCopier copier = new SnapshotCopier(threads)) {
      assertThrows(IllegalArgumentException.class,
          () -> copier.copy(List.of(ByteBuffer.allocate(10)), List.of(ByteBuffer.allocate(9))));
    }
  }
}
