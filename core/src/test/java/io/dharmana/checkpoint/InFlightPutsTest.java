package io.dharmana.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Puts of one pattern line up in the order they entered; a wait for one that never finishes ends. */
class InFlightPutsTest {
  @Test
  void eachPutWaitsForTheOneOfItsPatternThatEnteredBefore() throws Exception {
    InFlightPuts puts = new InFlightPuts(Duration.ofMinutes(1));
    CompletableFuture<Void> first = new CompletableFuture<>();
    CompletableFuture<Void> second = new CompletableFuture<>();
    CompletableFuture<Void> other = new CompletableFuture<>();
    assertNull(puts.enter("b/step-#.safetensors", "b/step-1.safetensors", first));
    assertNull(puts.enter("b/run-#/model.safetensors", "b/run-1/model.safetensors", other), "another pattern waits for nothing");
    InFlightPuts.Put before = puts.enter("b/step-#.safetensors", "b/step-2.safetensors", second);
    assertEquals("b/step-1.safetensors", before.name());

    CountDownLatch waited = new CountDownLatch(1);
    Thread waiter = new Thread(() -> {
      if (puts.await(before)) {
        waited.countDown();
      }
    });
    waiter.start();
    assertFalse(waited.await(200, TimeUnit.MILLISECONDS), "must wait while the first put runs");
    puts.finished("b/step-#.safetensors", first);
    assertTrue(waited.await(30, TimeUnit.SECONDS), "must go on once the first put finished");
    waiter.join();

    // the first put's end leaves the second as the last of its pattern: a third waits for the second
    CompletableFuture<Void> third = new CompletableFuture<>();
    assertEquals("b/step-2.safetensors", puts.enter("b/step-#.safetensors", "b/step-3.safetensors", third).name());
    puts.finished("b/step-#.safetensors", second);
    puts.finished("b/step-#.safetensors", third);
    assertNull(puts.enter("b/step-#.safetensors", "b/step-4.safetensors", new CompletableFuture<>()),
        "every put of the pattern has finished: nothing to wait for");
  }

  @Test
  void aWaitForAPutThatNeverFinishesEndsAfterTheBound() {
    InFlightPuts puts = new InFlightPuts(Duration.ofMillis(50));
    puts.enter("b/step-#", "b/step-1", new CompletableFuture<>()); // stuck: never finished
    InFlightPuts.Put before = puts.enter("b/step-#", "b/step-2", new CompletableFuture<>());
    boolean finished = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> puts.await(before));
    assertFalse(finished, "the predecessor did not finish");
  }

  @Test
  void anInterruptedWaitEndsAndKeepsTheInterrupt() {
    InFlightPuts puts = new InFlightPuts(Duration.ofMinutes(10));
    puts.enter("b/step-#", "b/step-1", new CompletableFuture<>());
    InFlightPuts.Put before = puts.enter("b/step-#", "b/step-2", new CompletableFuture<>());
    Thread.currentThread().interrupt();
    try {
      assertFalse(puts.await(before)); // on this thread: an interrupted wait returns at once
      assertTrue(Thread.currentThread().isInterrupted(), "the interrupt must be kept for the caller");
    } finally {
      Thread.interrupted();
    }
  }
}
