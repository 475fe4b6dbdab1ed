package io.dharmana.dataset.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class BufferPoolTest {

  @Test
  void givenBuffersAreReusedWithTheAskedLimit() {
    BufferPool pool = new BufferPool(1 << 20);
    ByteBuffer a = pool.take(100_000);
    assertTrue(a.isDirect());
    assertEquals(0, a.position());
    assertEquals(100_000, a.limit());
    assertEquals(128 * 1024, a.capacity(), "power-of-two size class");
    pool.give(a);
    ByteBuffer b = pool.take(70_000);
    assertSame(a, b, "a returned buffer of the same class is reused");
    assertEquals(70_000, b.limit());
  }

  @Test
  void callersThatNeverGiveBackGetHeapBuffersBeyondTheLimit() {
    BufferPool pool = new BufferPool(256 * 1024);
    assertTrue(pool.take(200_000).isDirect());
    ByteBuffer over = pool.take(200_000);
    assertFalse(over.isDirect(), "beyond the limit of outstanding direct memory, reads get heap buffers");
    assertEquals(200_000, over.remaining());
    pool.give(over);
  }
}
