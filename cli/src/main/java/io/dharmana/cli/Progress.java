package io.dharmana.cli;

import io.dharmana.runtime.ProgressListener;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr for long reads and writes: shown when asked, or by default when
 * stderr is a terminal and the work is large enough to wait for.
 */
final class Progress implements ProgressListener, AutoCloseable {
  private static final long WORTH_SHOWING = 64L << 20;
  private final ProgressBar bar;

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  static Progress start(String task, long total, Boolean requested) {
    boolean show = requested != null ? requested : System.console() != null && (total < 0 || total >= WORTH_SHOWING);
    if (!show) {
      return new Progress(null);
    }
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(Math.max(total, 0))
        .setUnit(" MiB", 1 << 20)
        .setStyle(ProgressBarStyle.ASCII)
        .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
        .showSpeed()
        .build();
    return new Progress(bar);
  }

  @Override
  public void progress(long done, long total) {
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
    }
  }
}
