package io.dharmana.tensor.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sends a file's bytes to the disk while the rest is still being produced, so that the final
 * {@link FileChannel#force} finds little left to write.
 *
 * <p>Why: the kernel starts writing dirty pages back on its own only once they reach a share of
 * memory (10% by default, gigabytes) or after 30 seconds. A command writing a few hundred
 * megabytes would otherwise coast until its final force and then wait for all of them at once:
 * a third of a second for a 510 MB file on this project's machines, a tenth of the whole run.
 * Here every {@link #STEP_BYTES} written, a background thread forces what was written so far
 * (when the previous force has finished), overlapping the disk with the coding.
 *
 * <p>It changes nothing about durability: the caller still forces the file at the end. A failed
 * early force fails {@link #close}: after a write-back error Linux may drop the pages it could not
 * write and report success to a later force, so the final force cannot be trusted to say so. Not
 * thread-safe: one writing thread calls {@link #written} and {@link #close}.
 */
final class EarlyWriteback implements AutoCloseable {
  /** Bytes between two forces: large enough that each force's fixed cost (a journal commit) stays small. */
  static final long STEP_BYTES = 48L << 20;

  private final FileChannel channel;
  private final long step;
  private ExecutorService thread;
  private Future<?> pending;
  private volatile IOException failure; // the first early force's failure
  private long next;

  EarlyWriteback(FileChannel channel) {
    this(channel, STEP_BYTES);
  }

  EarlyWriteback(FileChannel channel, long stepBytes) {
    this.channel = channel;
    this.step = stepBytes;
    this.next = stepBytes;
  }

  /** Tells that the file now holds {@code position} bytes. */
  void written(long position) {
    if (position < next || (pending != null && !pending.isDone())) {
      return;
    }
    next = position + step;
    if (thread == null) {
      thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "dharmana-writeback");
        t.setDaemon(true);
        return t;
      });
    }
    pending = thread.submit(() -> {
      try {
        channel.force(false);
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    });
  }

  /**
   * Waits for a force under way (the final one would wait for the same pages) and stops the thread.
   *
   * @throws IOException if an early force failed: bytes written so far may not be on the disk
   */
  @Override
  public void close() throws IOException {
    if (thread == null) {
      return;
    }
    try {
      if (pending != null) {
        pending.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException("Cannot write back the file early: " + e.getCause(), e.getCause());
    } finally {
      thread.shutdownNow();
    }
    if (failure != null) {
      throw new IOException("Cannot write the file to disk: an early force failed (" + failure.getMessage() + ")", failure);
    }
  }
}
