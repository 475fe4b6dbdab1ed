package io.dharmana.cost;

import io.dharmana.descriptor.ComputationDescriptor;
import java.util.List;
import java.util.Optional;

/**
 * What a computation asks of its storage: bandwidths, sizes and capacity, each with the
 * arithmetic that produced it, and per ML stage the recommended storage class with its reason and
 * the monthly cost of every option considered. Made by {@link Planner}.
 *
 * @param computation what was planned for
 * @param assumptions every assumption the figures rest on, as sentences
 * @param figures the figures that could be computed from what the computation states
 * @param stages one recommendation per ML stage: prepare, train, serve, archive
 */
public record StoragePlan(
    ComputationDescriptor computation, List<String> assumptions, List<Figure> figures, List<StageAdvice> stages) {

  /** Figure keys. */
  public static final String READ_BANDWIDTH = "read-bandwidth";
  public static final String CHECKPOINT_SIZE = "checkpoint-size";
  public static final String CHECKPOINT_WRITE_SYNC = "checkpoint-write-sync";
  public static final String CHECKPOINT_WRITE_ASYNC = "checkpoint-write-async";
  public static final String RUN_DURATION = "run-duration";
  public static final String CHECKPOINTS_WRITTEN = "checkpoints-written";
  public static final String CAPACITY = "capacity";

  public StoragePlan {
    assumptions = List.copyOf(assumptions);
    figures = List.copyOf(figures);
    stages = List.copyOf(stages);
  }

  /**
   * One computed quantity.
   *
   * @param key a stable key, one of the constants of {@link StoragePlan}
   * @param label what it is, for people
   * @param value the number in {@code unit}
   * @param unit {@code B/s}, {@code B} or {@code s}
   * @param arithmetic how it was computed, e.g. {@code 1000 × 32 × 115 KB / 10 ms = 368 GB/s}
   */
  public record Figure(String key, String label, double value, String unit, String arithmetic) {}

  /**
   * One option for a stage.
   *
   * @param arithmetic e.g. {@code 2,800 GB × $0.023/GB-month = $64.40}
   * @param note a limit of the option worth knowing, or empty
   */
  public record Option(String priceClass, double monthly, String arithmetic, String note) {}

  /** The recommendation for one ML stage. */
  public record StageAdvice(String stage, String what, long bytes, String recommended, String reason, List<Option> options) {
    public StageAdvice {
      options = List.copyOf(options);
    }
  }

  public Optional<Figure> figure(String key) {
    return figures.stream().filter(f -> f.key().equals(key)).findFirst();
  }

  public Optional<StageAdvice> stage(String name) {
    return stages.stream().filter(s -> s.stage().equals(name)).findFirst();
  }

  /** The plan as text, every figure with its arithmetic. */
  public String toText() {
    StringBuilder out = new StringBuilder();
    out.append("what the storage must deliver\n");
    if (figures.isEmpty()) {
      out.append("  nothing: the computation states no sizes, times or counts to work from\n");
    }
    int width = figures.stream().mapToInt(f -> f.label().length()).max().orElse(0);
    for (Figure f : figures) {
      out.append("  ").append(pad(f.label(), width)).append("  ").append(f.arithmetic()).append('\n');
    }
    out.append("\nstorage per ML stage (monthly list prices, GB = 10^9 bytes)\n");
    for (StageAdvice s : stages) {
      out.append("  ").append(s.stage()).append(": ").append(s.what()).append(" → ").append(s.recommended()).append('\n');
      wrap(out, "    why: ", "         ", s.reason());
      for (Option o : s.options()) {
        String line = "    " + (o.priceClass().equals(s.recommended()) ? "* " : "  ") + pad(o.priceClass(), 16) + o.arithmetic();
        out.append(line);
        if (!o.note().isEmpty()) {
          String note = "(" + o.note() + ")";
          out.append(line.length() + 2 + note.length() <= 100 ? "  " : "\n" + " ".repeat(22)).append(note);
        }
        out.append('\n');
      }
    }
    out.append("\nassumptions\n");
    for (String a : assumptions) {
      wrap(out, "  - ", "    ", a);
    }
    return out.toString();
  }

  /** Appends {@code text} in lines of at most 100 columns, breaking at spaces. */
  private static void wrap(StringBuilder out, String first, String rest, String text) {
    StringBuilder line = new StringBuilder(first);
    int start = line.length();
    for (String word : text.split(" ")) {
      if (line.length() > start && line.length() + 1 + word.length() > 100) {
        out.append(line).append('\n');
        line.setLength(0);
        line.append(rest);
        start = line.length();
      }
      if (line.length() > start) {
        line.append(' ');
      }
      line.append(word);
    }
    out.append(line).append('\n');
  }

  private static String pad(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
