package io.dharmana.server;

import io.dharmana.runtime.HostScheduling;
import java.time.Duration;

/**
 * Short scheduling slices for the gateway's request threads and its HTTP dispatcher, so a small
 * request is served promptly while large transfers keep both cores busy.
 *
 * <p>Why: on Linux 6.6 and later (EEVDF) a thread that wakes while other threads keep every core
 * busy may wait for a running thread's whole slice (about 3 ms) before it runs, and a 4 KiB GET
 * wakes three threads in turn (dispatcher, request thread, client). A thread that asked for a short
 * slice ({@link HostScheduling}) preempts one with the default slice when it wakes. Its share of
 * the CPU over time stays the same.
 *
 * <p>A request thread holds the short slice while it waits for work and serves small requests, and
 * gives it back for the length of a large transfer ({@link #bulk()}): cut into 0.1 ms pieces, a
 * long CPU-bound transfer would only switch more often. Where the kernel does not grant slices
 * everything here is a no-op. Off unless {@link Gateway.Builder#requestSlice} asks for it.
 */
final class RequestSlices {
  /** Bodies larger than this are bulk transfers: they run with the kernel's default slice. */
  static final long BULK_BYTES = 256 << 10;

  private final Duration length;
  private final ThreadLocal<HostScheduling.Slice> held = new ThreadLocal<>();

  /** {@code length} zero: every thread keeps the kernel's default slice. */
  RequestSlices(Duration length) {
    if (length.isNegative()) {
      throw new IllegalArgumentException("Invalid request slice " + length + ": must be zero (off) or positive");
    }
    this.length = length;
  }

  boolean enabled() {
    return !length.isZero();
  }

  /** Gives the calling thread the short slice unless it holds it already. */
  void shortSlice() {
    if (enabled() && held.get() == null) {
      held.set(HostScheduling.shortSlice(length));
    }
  }

  /** Gives the calling thread the kernel's default slice, until its next {@link #shortSlice()}. */
  void bulk() {
    HostScheduling.Slice slice = held.get();
    if (slice != null) {
      held.remove();
      slice.close();
    }
  }
}
