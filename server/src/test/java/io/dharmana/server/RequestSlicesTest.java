package io.dharmana.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RequestSlicesTest {
  @Test
  void zeroIsOffAndNegativeIsRefused() {
    assertFalse(new RequestSlices(Duration.ZERO).enabled());
    assertTrue(new RequestSlices(Duration.ofNanos(100_000)).enabled());
    assertThrows(IllegalArgumentException.class, () -> new RequestSlices(Duration.ofNanos(-1)));
  }

  /** A thread switches between the short slice and the default as requests come, on any kernel (a no-op where not granted). */
  @Test
  void aThreadTakesGivesBackAndRetakesItsSlice() throws Exception {
    RequestSlices slices = new RequestSlices(Duration.ofNanos(100_000));
    Thread t = new Thread(() -> {
      slices.shortSlice();
      slices.shortSlice();
      slices.bulk();
      slices.bulk();
      slices.shortSlice();
      slices.bulk();
    });
    Throwable[] failure = new Throwable[1];
    t.setUncaughtExceptionHandler((thread, e) -> failure[0] = e);
    t.start();
    t.join();
    assertTrue(failure[0] == null, () -> "" + failure[0]);
  }
}
