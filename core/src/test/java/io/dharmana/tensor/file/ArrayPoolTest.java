package io.dharmana.tensor.file;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ArrayPoolTest {
  static LongStream seeds() {
    return LongStream.range(0, 4).map(i -> 0xA77A1L + i * 7877);
  }

  @Test
  void anArrayGivenBackIsTakenAgainAndOneTooSmallIsReplaced() {
    ArrayPool pool = new ArrayPool();
    byte[] a = pool.take(100);
    pool.give(a);
    assertSame(a, pool.take(80), "a kept array that fits is reused");
    pool.give(a);
    byte[] b = pool.take(1000);
    assertNotSame(a, b, "a kept array too small is not returned");
    assertTrue(b.length >= 1000);
    byte[] c = pool.take(10);
    assertTrue(c.length >= 1000, "new arrays fit the largest request so far: " + c.length);
  }

  @Test
  void arraysAboveTheCapAreNotKept() {
    ArrayPool pool = new ArrayPool();
    byte[] big = pool.take(ArrayPool.MAX_KEPT_BYTES + 1);
    pool.give(big);
    byte[] next = pool.take(16);
    assertNotSame(big, next, "a tensor above the cap gets its own array, left to the collector");
    assertTrue(next.length < big.length);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void everyTakeFitsAndNoArrayIsHandedOutTwice(long seed) {
    Random r = new Random(seed);
    ArrayPool pool = new ArrayPool();
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      if (!out.isEmpty() && r.nextBoolean()) {
        pool.give(out.remove(r.nextInt(out.size())));
      } else {
        int want = r.nextInt(1 << (1 + r.nextInt(16)));
        byte[] a = pool.take(want);
        assertTrue(a.length >= want, "seed " + seed + ": " + a.length + " < " + want);
        for (byte[] held : out) {
          assertNotSame(held, a, "seed " + seed + ": an array in use was handed out again");
        }
        out.add(a);
      }
    }
  }
}
