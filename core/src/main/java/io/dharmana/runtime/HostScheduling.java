package io.dharmana.runtime;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.time.Duration;
import java.util.Locale;

/**
 * Asks the kernel to wake the calling thread promptly: a latency hint for the one thread of a
 * training process that feeds the accelerator.
 *
 * <p>Why: on Linux 6.6 and later (EEVDF) a thread that wakes from a sleep while other threads keep
 * every core busy may wait for the running thread's whole time slice (about 3 ms) before it runs.
 * The loader's readers are such threads when the accelerator's demand approaches the read
 * bandwidth, so the accelerator's thread ends its compute late and the device idles although its
 * next batch is ready. Since Linux 6.12 a thread may ask for a shorter slice ({@code
 * sched_setattr} with {@code sched_runtime}, unprivileged for {@code SCHED_OTHER}); a thread with
 * a shorter slice than the running one preempts it on wake-up. Measured on this project's 2-core
 * machines: a thread sleeping 1.9 ms beside two threads busy 80% of the time woke on time with a
 * 100 µs slice (99% of its time computing) and lost 15% of its time without it.
 *
 * <p>The request changes no priority or share of the CPU over time: the thread still gets its fair
 * share, in shorter pieces. Where the kernel or platform does not support it the request is a
 * no-op and {@link Slice#granted()} says why.
 */
public final class HostScheduling {

  /** The shortest slice Linux takes (0.1 ms); shorter requests are raised to it. */
  public static final Duration MIN_SLICE = Duration.ofNanos(100_000);

  private static final int SCHED_OTHER = 0;
  private static final int SCHED_IDLE = 5;
  // sched_attr.sched_flags: a child thread starts with the default policy, nice and slice
  private static final long SCHED_FLAG_RESET_ON_FORK = 0x01;
  // the first version of struct sched_attr (without the utilization clamps): 48 bytes
  private static final int SCHED_ATTR_SIZE = 48;

  private HostScheduling() {}

  /**
   * The scheduling slice requested for a thread. Closing it, on the same thread, gives the thread
   * back the kernel's default slice.
   */
  public static final class Slice implements AutoCloseable {
    private final Duration length;
    private final String description;
    private final Runnable restore;
    private final Thread owner = Thread.currentThread();
    private boolean closed;

    private Slice(Duration length, String description, Runnable restore) {
      this.length = length;
      this.description = description;
      this.restore = restore;
    }

    /** Whether the kernel took the request: then the thread runs with {@link #length()}. */
    public boolean granted() {
      return !length.isZero();
    }

    /** The slice the thread runs with, or zero when the request was not granted. */
    public Duration length() {
      return length;
    }

    /** What happened, for reports: the slice, or why the thread keeps the default. */
    public String describe() {
      return description;
    }

    @Override
    public void close() {
      if (closed || !granted()) {
        return;
      }
      if (Thread.currentThread() != owner) {
        throw new IllegalStateException("Cannot give back the slice of thread " + owner.getName() + " from thread "
            + Thread.currentThread().getName() + ": close it on the thread that requested it");
      }
      closed = true;
      restore.run();
    }
  }

  /**
   * Requests a slice of {@code length} (at least {@link #MIN_SLICE}) for the calling thread until
   * the returned slice is closed on the same thread. Threads it starts meanwhile get the kernel's
   * default slice, not this one. Never throws for an unsupported host; the result says whether the
   * request was granted.
   */
  public static Slice shortSlice(Duration length) {
    if (length.isNegative() || length.isZero()) {
      throw new IllegalArgumentException("Invalid slice " + length + ": must be positive");
    }
    long wanted = Math.max(length.toNanos(), MIN_SLICE.toNanos());
    Syscalls calls = Syscalls.forThisPlatform();
    if (calls == null) {
      return notGranted("not Linux on x86-64 or AArch64 (" + System.getProperty("os.name") + ", " + System.getProperty("os.arch") + ")");
    }
    try {
      Attr before = calls.get();
      if (before.policy != SCHED_OTHER) {
        return notGranted("the thread runs under scheduling policy " + before.policy + ", not SCHED_OTHER");
      }
      // threads this one starts from now on (a loader's readers among them) keep the default
      // slice: inherited, the short slice would take back this thread's precedence over them
      calls.set(before.nice, wanted, SCHED_FLAG_RESET_ON_FORK);
      long now = calls.get().runtime;
      if (now != wanted) {
        // kernels before 6.12 accept the call but keep the default slice of fair threads
        calls.set(before.nice, 0, 0);
        return notGranted("kernel " + System.getProperty("os.version") + " does not take custom slices (Linux 6.12 and later do)");
      }
      return new Slice(Duration.ofNanos(wanted), String.format(Locale.ROOT, "%d µs slice (sched_setattr)", wanted / 1000), () -> {
        try {
          calls.set(before.nice, 0, 0); // zero: the kernel's default slice
        } catch (LastErrorException e) {
          // the thread keeps the short slice: harmless, and nothing a caller could do
        }
      });
    } catch (LastErrorException | UnsatisfiedLinkError | NoClassDefFoundError e) {
      return notGranted("sched_setattr failed: " + e.getMessage());
    }
  }

  /** What a request for {@link #background()} came to: whether the kernel took it, and a line for reports. */
  public record Outcome(boolean granted, String description) {}

  /**
   * Moves the calling thread to the background for the rest of its life: Linux's {@code
   * SCHED_IDLE} policy, under which the thread runs on whatever CPU time no ordinary thread wants,
   * and an ordinary thread that wakes takes its core at once instead of after its slice.
   *
   * <p>Why: a data loader's readers keep the cores busy exactly when the accelerator's demand
   * approaches the read bandwidth, and then every wake-up of the thread that feeds the accelerator
   * waits behind a reader. In the background the readers still get every idle cycle, so they read
   * as fast as before while that thread sleeps. Measured on this project's 2-core machines: a
   * thread sleeping 1.9 ms beside two threads busy 80% of the time computed 99.3% of its time with
   * the busy threads in the background, 97–98% with its own 100 µs {@linkplain #shortSlice slice},
   * 86% with neither.
   *
   * <p>The cost: background threads get next to no CPU while ordinary threads keep every core
   * busy, so use it only for work whose consumer is the thread that matters (readers ahead of a
   * training loop), on threads that end with that work: an unprivileged thread cannot always
   * return to the ordinary policy. Never throws for an unsupported host; the result says why.
   */
  public static Outcome background() {
    Syscalls calls = Syscalls.forThisPlatform();
    if (calls == null) {
      return new Outcome(false, "not moved to the background: not Linux on x86-64 or AArch64");
    }
    try {
      calls.setPolicy(SCHED_IDLE);
      int now = calls.get().policy;
      return now == SCHED_IDLE
          ? new Outcome(true, "background (SCHED_IDLE)")
          : new Outcome(false, "not moved to the background: the kernel kept policy " + now);
    } catch (LastErrorException | UnsatisfiedLinkError | NoClassDefFoundError e) {
      return new Outcome(false, "not moved to the background: sched_setattr failed: " + e.getMessage());
    }
  }

  private static Slice notGranted(String why) {
    return new Slice(Duration.ZERO, "default slice: " + why, () -> {});
  }

  private static final class Attr {
    int policy;
    int nice;
    long runtime;
  }

  /** The two system calls, by number: glibc has no wrappers for them. */
  private static final class Syscalls {
    interface LibC extends Library {
      // arguments are passed as longs: a variadic int leaves the upper half of its register undefined
      long syscall(long number, Object... args) throws LastErrorException;
    }

    private static volatile LibC libc;
    private final long setattr;
    private final long getattr;

    private Syscalls(long setattr, long getattr) {
      this.setattr = setattr;
      this.getattr = getattr;
    }

    static Syscalls forThisPlatform() {
      if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
        return null;
      }
      switch (System.getProperty("os.arch", "")) {
        case "amd64":
        case "x86_64":
          return new Syscalls(314, 315);
        case "aarch64":
          return new Syscalls(274, 275);
        default:
          return null;
      }
    }

    private static LibC libc() {
      LibC l = libc;
      if (l == null) {
        l = Native.load("c", LibC.class);
        libc = l;
      }
      return l;
    }

    Attr get() {
      try (Memory m = new Memory(SCHED_ATTR_SIZE)) {
        m.clear();
        libc().syscall(getattr, 0L, m, (long) SCHED_ATTR_SIZE, 0L);
        Attr a = new Attr();
        a.policy = m.getInt(4);
        a.nice = m.getInt(16);
        a.runtime = m.getLong(24);
        return a;
      }
    }

    void set(int nice, long runtime, long flags) {
      set(SCHED_OTHER, nice, runtime, flags);
    }

    void setPolicy(int policy) {
      set(policy, 0, 0, 0);
    }

    private void set(int policy, int nice, long runtime, long flags) {
      try (Memory m = new Memory(SCHED_ATTR_SIZE)) {
        m.clear();
        m.setInt(0, SCHED_ATTR_SIZE);
        m.setInt(4, policy);
        m.setLong(8, flags);
        m.setInt(16, nice);
        m.setLong(24, runtime);
        libc().syscall(setattr, 0L, m, 0L);
      }
    }
  }
}
