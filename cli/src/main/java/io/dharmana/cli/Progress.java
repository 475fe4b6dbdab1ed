package io.dharmana.cli;

import io.dharmana.runtime.ProgressListener;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr for long reads and writes: shown when asked, or by default when
 * stderr is a terminal and the work is large enough to wait for. Whether to show it is decided at
 * the first report, so work whose size only the engine learns (a restore's tensor table, a gc's
 * manifests) is not sized twice.
 */
final class Progress implements ProgressListener, AutoCloseable {
  private static final long WORTH_SHOWING = 64L << 20;
  private final String task;
  private final String unit;
  private final long unitSize;
  private final long worthShowing;
  private final Boolean requested;
  private boolean decided;
  private ProgressBar bar;

  private Progress(String task, String unit, long unitSize, long worthShowing, Boolean requested) {
    this.task = task;
    this.unit = unit;
    this.unitSize = unitSize;
    this.worthShowing = worthShowing;
    this.requested = requested;
  }

  /** A bar of {@code total} bytes, shown (or not) right away. */
  static Progress start(String task, long total, Boolean requested) {
    Progress p = whenTold(task, requested);
    p.progress(0, total);
    return p;
  }

  /** A bar of bytes whose total the first report gives. */
  static Progress whenTold(String task, Boolean requested) {
    return new Progress(task, " MiB", 1 << 20, WORTH_SHOWING, requested);
  }

  /**
   * A bar of things counted ({@code unit}, e.g. " manifests") whose total the first report gives;
   * by default shown on a terminal from {@code worthShowing} of them.
   */
  static Progress counting(String task, String unit, long worthShowing, Boolean requested) {
    return new Progress(task, unit, 1, worthShowing, requested);
  }

  @Override
  public void progress(long done, long total) {
    if (!decided) {
      decided = true;
      boolean show = requested != null ? requested : System.console() != null && (total < 0 || total >= worthShowing);
      if (show) {
        bar = new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(Math.max(total, 0))
            .setUnit(unit, unitSize)
            .setStyle(ProgressBarStyle.ASCII)
            .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
            .showSpeed()
            .build();
      }
    }
    if (bar != null) {
      if (total >= 0 && total != bar.getMax()) {
        bar.maxHint(total); // the work's own total (compress counts tensor data, not the whole file)
      }
      bar.stepTo(done);
    }
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }
}
