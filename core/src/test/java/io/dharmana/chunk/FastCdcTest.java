package io.dharmana.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dharmana.descriptor.ChunkingSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FastCdcTest {
  static final ChunkingSpec SPEC = ChunkingSpec.DEFAULT;

  static List<byte[]> chunks(byte[] data, ChunkingSpec spec) throws IOException {
    List<byte[]> out = new ArrayList<>();
    Chunkers.split(new ByteArrayInputStream(data), Chunkers.of(spec), out::add);
    return out;
  }

  static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void chunksConcatenateToTheInputAndRespectBounds(long seed) throws IOException {
    Random r = new Random(seed);
    byte[] data = random(seed, 3 * 1024 * 1024 + r.nextInt(100_000));
    List<byte[]> chunks = chunks(data, SPEC);
    int pos = 0;
    for (int i = 0; i < chunks.size(); i++) {
      byte[] c = chunks.get(i);
      assertTrue(c.length <= SPEC.maxSize(), "seed " + seed + ": chunk above max");
      if (i < chunks.size() - 1) {
        assertTrue(c.length >= SPEC.minSize(), "seed " + seed + ": chunk below min");
      }
      for (byte b : c) {
        assertEquals(data[pos++], b, "seed " + seed);
      }
    }
    assertEquals(data.length, pos);
    double avg = (double) data.length / chunks.size();
    assertTrue(avg > 32 * 1024 && avg < 128 * 1024, "seed " + seed + ": average chunk " + avg + " far from 64 KiB");
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12})
  void anInsertionInTheMiddleChangesOnlyNearbyChunks(long seed) throws IOException {
    byte[] data = random(seed, 8 * 1024 * 1024);
    byte[] edited = new byte[data.length + 100];
    int at = data.length / 2;
    System.arraycopy(data, 0, edited, 0, at);
    System.arraycopy(random(seed + 1, 100), 0, edited, at, 100);
    System.arraycopy(data, at, edited, at + 100, data.length - at);
    Set<ChunkId> before = new HashSet<>();
    for (byte[] c : chunks(data, SPEC)) {
      before.add(ChunkId.of(c));
    }
    long newBytes = 0;
    for (byte[] c : chunks(edited, SPEC)) {
      if (!before.contains(ChunkId.of(c))) {
        newBytes += c.length;
      }
    }
    assertTrue(newBytes <= 2L * SPEC.maxSize(), "seed " + seed + ": " + newBytes + " new bytes after a 100-byte insertion");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 64, 65, 16 * 1024, 300 * 1024})
  void smallAndEdgeSizes(int size) throws IOException {
    byte[] data = random(size, size);
    List<byte[]> chunks = chunks(data, SPEC);
    assertEquals(size, chunks.stream().mapToInt(c -> c.length).sum());
    assertEquals(size == 0, chunks.isEmpty());
    assertTrue(chunks.stream().allMatch(c -> c.length > 0), "no empty chunks");
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 4, 8})
  void alignedCutsFallOnMultiplesOfTheWidth(int align) throws IOException {
    ChunkingSpec spec = new ChunkingSpec("cdc", 16 * 1024, 64 * 1024, 256 * 1024, align);
    byte[] data = random(align, 2 * 1024 * 1024 + 3);
    List<byte[]> chunks = chunks(data, spec);
    for (int i = 0; i < chunks.size() - 1; i++) {
      assertEquals(0, chunks.get(i).length % align, "chunk " + i + " of " + chunks.get(i).length + " bytes");
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {4096, 65536})
  void fixedChunkingCutsEvenly(int size) throws IOException {
    ChunkingSpec spec = new ChunkingSpec("fixed", 64, size, size, 1);
    List<byte[]> chunks = chunks(random(5, size * 3 + 7), spec);
    assertEquals(4, chunks.size());
    assertEquals(7, chunks.get(3).length);
  }

  /**
   * The cuts of a whole array in memory: what {@link Chunkers#split} must give whatever its window
   * size is and however the stream hands out bytes (its window starts small and grows).
   */
  static List<Integer> referenceCuts(byte[] data, Chunker chunker) {
    List<Integer> cuts = new ArrayList<>();
    for (int pos = 0; pos < data.length; ) {
      int cut = chunker.nextBoundary(data, pos, data.length - pos, true);
      cuts.add(cut);
      pos += cut;
    }
    return cuts;
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23, 24})
  void cutsDoNotDependOnTheWindowOrOnHowTheStreamReads(long seed) throws IOException {
    Random r = new Random(seed);
    // sizes around the steps the window grows by (64 KiB .. 1 MiB) and well past them
    int[] sizes = {0, 1, 16 << 10, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 200_000, 262_144, 262_145,
        (1 << 20) - 7, 1 << 20, (1 << 20) + 13, 3 * (1 << 20) + r.nextInt(300_000)};
    for (ChunkingSpec spec : List.of(SPEC, new ChunkingSpec("fixed", 1 << 20, 1 << 20, 1 << 20, 1))) {
      for (int size : sizes) {
        byte[] data = random(seed * 31 + size, size);
        List<Integer> expected = referenceCuts(data, Chunkers.of(spec));
        for (int maxRead : new int[] {Integer.MAX_VALUE, 1 + r.nextInt(9000)}) {
          java.io.InputStream trickle = new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
              return super.read(b, off, Math.min(len, maxRead));
            }
          };
          List<Integer> cuts = new ArrayList<>();
          long total = Chunkers.split(trickle, Chunkers.of(spec), c -> cuts.add(c.length));
          assertEquals(size, total, "seed " + seed + ", size " + size);
          assertEquals(expected, cuts, "seed " + seed + ", " + spec.kind() + ", size " + size + ", reads of at most " + maxRead);
        }
      }
    }
  }
}
