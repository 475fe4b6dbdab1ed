package io.dharmana.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class HostSchedulingTest {

  /** The calling thread's slice as the kernel reports it in /proc, or -1 where it does not. */
  private static long procSlice() throws IOException {
    return procSched("se.slice");
  }

  /** A field of the calling thread's scheduling state as the kernel reports it in /proc, or -1. */
  private static long procSched(String field) throws IOException {
    Path sched = Path.of("/proc/thread-self/sched");
    if (!Files.isReadable(sched)) {
      return -1;
    }
    return Files.readAllLines(sched).stream().filter(l -> l.startsWith(field + " "))
        .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElse(-1);
  }

  private record Moved(long before, HostScheduling.Outcome outcome, long after) {}

  @Test
  void aThreadMovedToTheBackgroundRunsUnderTheIdlePolicy() throws Exception {
    // on a thread of its own: the move is for the rest of the thread's life
    Moved moved = CompletableFuture.supplyAsync(() -> {
      try {
        long before = procSched("policy");
        HostScheduling.Outcome outcome = HostScheduling.background();
        return new Moved(before, outcome, procSched("policy"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, r -> new Thread(r, "background-test").start()).join();
    assumeTrue(moved.outcome().granted(), moved.outcome()::description);
    assertEquals("background (SCHED_IDLE)", moved.outcome().description());
    if (moved.before() >= 0) {
      assertEquals(0, moved.before(), "an ordinary thread before the move (SCHED_OTHER)");
      assertEquals(5, moved.after(), "the kernel's own account after the move (SCHED_IDLE)");
      assertEquals(0, procSched("policy"), "the calling thread keeps its policy");
    }
  }

  @Test
  void aGrantedSliceIsTheThreadsUntilClosed() throws IOException {
    long before = procSlice();
    try (HostScheduling.Slice slice = HostScheduling.shortSlice(Duration.ofNanos(100_000))) {
      assumeTrue(slice.granted(), () -> "this host does not take custom slices: " + slice.describe());
      assertEquals(Duration.ofNanos(100_000), slice.length());
      assertTrue(slice.describe().contains("100 µs"), slice.describe());
      long during = procSlice();
      if (during >= 0) {
        assertEquals(100_000, during, "the kernel's own account of the thread's slice");
      }
    }
    assertEquals(before, procSlice(), "closing gives the thread back the default slice");
  }

  @Test
  void threadsStartedByAThreadWithAShortSliceGetTheDefault() throws Exception {
    long before = sliceOfANewThread();
    try (HostScheduling.Slice slice = HostScheduling.shortSlice(Duration.ofNanos(100_000))) {
      assumeTrue(slice.granted(), slice::describe);
      assumeTrue(before >= 0, "the kernel does not report slices in /proc/thread-self/sched");
      // a loader's readers are started by the thread that feeds the accelerator: inherited, the
      // short slice would take back that thread's precedence over them
      assertEquals(before, sliceOfANewThread(), "a thread started while the short slice is held");
    }
  }

  /** The slice of a thread the calling thread starts, as the kernel reports it. */
  private static long sliceOfANewThread() {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return procSlice();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, r -> new Thread(r, "child").start()).join();
  }

  @Test
  void aRequestBelowTheKernelsMinimumIsRaisedToIt() {
    try (HostScheduling.Slice slice = HostScheduling.shortSlice(Duration.ofNanos(1))) {
      assumeTrue(slice.granted(), slice::describe);
      assertEquals(HostScheduling.MIN_SLICE, slice.length());
    }
  }

  @Test
  void aRefusedRequestSaysWhyAndClosesQuietly() {
    // whatever this host does, a slice that is not granted has no length and names a reason
    HostScheduling.Slice slice = HostScheduling.shortSlice(Duration.ofMillis(1));
    try (slice) {
      if (!slice.granted()) {
        assertEquals(Duration.ZERO, slice.length());
        assertTrue(slice.describe().startsWith("default slice: "), slice.describe());
      }
    }
  }

  @Test
  void onlyTheRequestingThreadGivesItsSliceBack() throws Exception {
    try (HostScheduling.Slice slice = HostScheduling.shortSlice(Duration.ofNanos(200_000))) {
      assumeTrue(slice.granted(), slice::describe);
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> {
            try {
              CompletableFuture.runAsync(slice::close).join();
            } catch (java.util.concurrent.CompletionException c) {
              throw c.getCause();
            }
          });
      assertTrue(e.getMessage().contains("close it on the thread that requested it"), e.getMessage());
      long still = procSlice();
      if (still >= 0) {
        assertEquals(200_000, still, "the slice is still the requester's");
      }
    }
  }

  @Test
  void rejectsANonPositiveSlice() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostScheduling.shortSlice(Duration.ZERO));
    assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
  }
}
