package io.dharmana.descriptor;

import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws a pipeline descriptor for a terminal: the header, the computation's figures, the write
 * path as boxes in order (input, chunking, every stage with its parameters, the tiers) and the
 * tiers as a stack with their capacity, watermarks, age rule, price class and placement. Lines are
 * at most {@link #MAX_WIDTH} columns; box-drawing characters only, ANSI colours on request.
 */
public final class DescriptorDiagram {
  /** No line of a diagram is wider than this. */
  public static final int MAX_WIDTH = 100;

  private static final int INDENT = 2;
  private static final int MAX_BOX_TEXT = MAX_WIDTH - INDENT - 4; // "│ " + text + " │"

  private static final String BOLD = "\u001b[1m";
  private static final String DIM = "\u001b[2m";
  private static final String CYAN = "\u001b[36m";
  private static final String GREEN = "\u001b[32m";
  private static final String YELLOW = "\u001b[33m";
  private static final String RESET = "\u001b[0m";

  private DescriptorDiagram() {}

  /** Text with a style that is printed only when colour is on; widths count the text alone. */
  private record Span(String text, String style) {}

  private static final class Line {
    final List<Span> spans = new ArrayList<>();

    Line add(String text) {
      return add(text, null);
    }

    Line add(String text, String style) {
      spans.add(new Span(text, style));
      return this;
    }

    int width() {
      return spans.stream().mapToInt(s -> s.text().length()).sum();
    }

    String render(boolean color, int limit) {
      StringBuilder out = new StringBuilder();
      int used = 0;
      for (Span s : spans) {
        String text = s.text();
        if (used + text.length() > limit) {
          text = text.substring(0, Math.max(0, limit - used - 1)) + "…";
        }
        used += text.length();
        if (color && s.style() != null) {
          out.append(s.style()).append(text).append(RESET);
        } else {
          out.append(text);
        }
        if (used >= limit) {
          break;
        }
      }
      return out.toString();
    }
  }

  /** The diagram of {@code descriptor}; with {@code color} the names and marks carry ANSI colours. */
  public static String render(PipelineDescriptor descriptor, boolean color) {
    StringBuilder out = new StringBuilder();
    StorageDescriptor storage = descriptor.storage();

    out.append(new Line().add("pipeline ").add(descriptor.name(), BOLD).render(color, MAX_WIDTH)).append('\n');
    if (!descriptor.description().isEmpty()) {
      for (String text : wrap(descriptor.description(), MAX_WIDTH - INDENT)) {
        out.append(" ".repeat(INDENT)).append(text).append('\n');
      }
    }
    descriptor.computation().ifPresent(c -> {
      out.append('\n').append(new Line().add("computation", BOLD).render(color, MAX_WIDTH)).append('\n');
      for (String text : wrapFacts(computationFacts(c), MAX_WIDTH - INDENT)) {
        out.append(" ".repeat(INDENT)).append(text).append('\n');
      }
    });

    out.append('\n').append(new Line().add("write path", BOLD).render(color, MAX_WIDTH)).append('\n');
    List<List<Line>> boxes = new ArrayList<>();
    boxes.add(List.of(new Line().add("input bytes", BOLD)));
    ChunkingSpec ch = storage.chunking();
    Line chunking = new Line().add("chunking ", CYAN).add(ch.kind());
    if (ch.kind().equals("cdc")) {
      chunking.add("  min " + ByteSize.format(ch.minSize()) + " · avg " + ByteSize.format(ch.avgSize())
          + " · max " + ByteSize.format(ch.maxSize()));
    } else {
      chunking.add("  every " + ByteSize.format(ch.avgSize()));
    }
    if (ch.align() > 1) {
      chunking.add(" · align " + ch.align());
    }
    boxes.add(List.of(chunking));
    int index = 1;
    for (StageSpec stage : storage.stages()) {
      Line line = new Line().add(index++ + ". ").add(stage.name(), CYAN);
      if (stage.version() != 0) {
        line.add("@" + stage.version());
      }
      if (!stage.params().isEmpty()) {
        StringBuilder params = new StringBuilder();
        for (Map.Entry<String, String> e : stage.params().entrySet()) {
          params.append("  ").append(e.getKey()).append('=').append(e.getValue());
        }
        line.add(params.toString());
      }
      StageFactory factory = Stages.exists(stage.name()) ? Stages.factory(stage.name()) : null;
      if (factory != null && factory.lossy()) {
        line.add("  ").add("[LOSSY]", YELLOW);
      }
      if (factory == null && !Stages.names().isEmpty()) {
        line.add("  ").add("[not registered]", YELLOW);
      }
      List<Line> box = new ArrayList<>();
      box.add(line);
      if (factory != null && factory.description() != null && !factory.description().isBlank()) {
        box.add(new Line().add("   " + factory.description(), DIM));
      }
      boxes.add(box);
    }
    PlacementPolicy placement = storage.placement();
    boxes.add(List.of(new Line().add("store chunks (SHA-256 addressed) on tier ")
        .add(placement.writeTier(), GREEN)
        .add(placement.writeThrough() ? ", write-through" : ", write-back")));
    int width = 0;
    for (List<Line> box : boxes) {
      for (Line line : box) {
        width = Math.max(width, line.width());
      }
    }
    List<List<Line>> tierRows = tierRows(storage);
    for (List<Line> row : tierRows) {
      for (Line line : row) {
        width = Math.max(width, line.width());
      }
    }
    width = Math.min(width, MAX_BOX_TEXT);
    for (int i = 0; i < boxes.size(); i++) {
      if (i > 0) {
        out.append(" ".repeat(INDENT + 4)).append("│\n").append(" ".repeat(INDENT + 4)).append("▼\n");
      }
      box(out, List.of(boxes.get(i)), width, color);
    }

    out.append('\n').append(new Line().add("tiers", BOLD)
        .add(" (top first; " + (placement.writeThrough() ? "write-through" : "write-back") + " to " + placement.writeTier()
            + "; " + (placement.promoteOnRead() ? "reads promote to " + placement.writeTier() : "no promotion on read") + ")")
        .render(color, MAX_WIDTH)).append('\n');
    box(out, tierRows, width, color);

    CacheSpec cache = storage.cache();
    out.append('\n').append(new Line().add("read side", BOLD)
        .add("  prefetch " + cache.prefetch() + " · threads " + (cache.threads() == 0 ? "one per core" : cache.threads())
            + " · memory " + ByteSize.format(cache.memoryBytes())
            + " · commits atomic" + (storage.consistency().fsync() ? ", fsync'd" : ", not fsync'd"))
        .render(color, MAX_WIDTH)).append('\n');
    return out.toString();
  }

  private static List<List<Line>> tierRows(StorageDescriptor storage) {
    List<List<Line>> rows = new ArrayList<>();
    for (TierSpec tier : storage.tiers()) {
      boolean write = tier.name().equals(storage.placement().writeTier());
      Line head = new Line().add(write ? "▶ " : "  ").add(tier.name(), write ? GREEN : CYAN).add("  " + tier.kind());
      if (tier.location() != null) {
        head.add("  " + tier.location());
      }
      if (write) {
        head.add("  ").add("[write tier]", GREEN);
      }
      StringBuilder facts = new StringBuilder("  capacity ");
      if (tier.bounded()) {
        facts.append(ByteSize.format(tier.capacityBytes()))
            .append(" · watermarks ").append(percent(tier.highWatermark())).append(" → ").append(percent(tier.lowWatermark()));
      } else {
        facts.append("unbounded");
      }
      if (tier.maxAge() != null) {
        facts.append(" · max age ").append(Durations.format(tier.maxAge()));
      }
      facts.append(" · price ").append(tier.priceClass() == null ? "default for " + tier.kind() : tier.priceClass());
      List<Line> row = new ArrayList<>();
      row.add(head);
      row.add(new Line().add(facts.toString()));
      if (!tier.options().isEmpty()) {
        row.add(new Line().add("  options " + new java.util.TreeMap<>(tier.options()), DIM));
      }
      rows.add(row);
    }
    return rows;
  }

  /** One box; several groups are separated by a rule. */
  private static void box(StringBuilder out, List<List<Line>> groups, int width, boolean color) {
    String pad = " ".repeat(INDENT);
    out.append(pad).append('┌').append("─".repeat(width + 2)).append("┐\n");
    for (int g = 0; g < groups.size(); g++) {
      if (g > 0) {
        out.append(pad).append('├').append("─".repeat(width + 2)).append("┤\n");
      }
      for (Line line : groups.get(g)) {
        int visible = Math.min(line.width(), width);
        out.append(pad).append("│ ").append(line.render(color, width))
            .append(" ".repeat(width - visible)).append(" │\n");
      }
    }
    out.append(pad).append('└').append("─".repeat(width + 2)).append("┘\n");
  }

  private static List<String> computationFacts(ComputationDescriptor c) {
    List<String> facts = new ArrayList<>();
    facts.add(c.modelKind());
    if (c.accelerators() > 0) {
      facts.add(c.accelerators() + " accelerators");
    }
    if (!c.stepTime().isZero()) {
      facts.add("step " + Durations.format(c.stepTime()));
    }
    if (c.batchSize() > 0) {
      facts.add("batch " + c.batchSize() + (c.sampleBytes() > 0 ? " × " + ByteSize.format(c.sampleBytes()) : " samples"));
    } else if (c.sampleBytes() > 0) {
      facts.add("samples of " + ByteSize.format(c.sampleBytes()));
    }
    if (c.datasetBytes() > 0) {
      facts.add("dataset " + ByteSize.format(c.datasetBytes()) + (c.epochs() > 0 ? " × " + c.epochs() + (c.epochs() == 1 ? " epoch" : " epochs") : ""));
    }
    if (c.parameters() > 0) {
      facts.add(count(c.parameters()) + " parameters");
    }
    if (c.checkpointBytes() > 0) {
      facts.add("checkpoint " + ByteSize.format(c.checkpointBytes())
          + (c.checkpointInterval().isZero() ? "" : " every " + Durations.format(c.checkpointInterval())));
    } else if (!c.checkpointInterval().isZero()) {
      facts.add("checkpoint every " + Durations.format(c.checkpointInterval()));
    }
    return facts;
  }

  private static String count(long n) {
    String[] suffix = {"T", "B", "M", "K"};
    long[] scale = {1_000_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L};
    for (int i = 0; i < scale.length; i++) {
      if (n >= scale[i]) {
        double v = (double) n / scale[i];
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v)) + suffix[i];
      }
    }
    return Long.toString(n);
  }

  private static String percent(double fraction) {
    double p = fraction * 100;
    return (p == Math.rint(p) ? Long.toString(Math.round(p)) : String.format(Locale.ROOT, "%.1f", p)) + "%";
  }

  /** Joins facts with " · ", breaking lines between facts rather than inside one. */
  private static List<String> wrapFacts(List<String> facts, int width) {
    List<String> lines = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String fact : facts) {
      if (current.length() > 0 && current.length() + 3 + fact.length() > width) {
        lines.add(current.toString());
        current.setLength(0);
      }
      if (current.length() > 0) {
        current.append(" · ");
      }
      current.append(fact);
    }
    if (current.length() > 0) {
      lines.add(current.toString());
    }
    return lines;
  }

  private static List<String> wrap(String text, int width) {
    List<String> lines = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String word : text.split("\\s+")) {
      if (current.length() > 0 && current.length() + 1 + word.length() > width) {
        lines.add(current.toString());
        current.setLength(0);
      }
      if (current.length() > 0) {
        current.append(' ');
      }
      current.append(word.length() > width ? word.substring(0, width - 1) + "…" : word);
    }
    if (current.length() > 0) {
      lines.add(current.toString());
    }
    return lines;
  }
}
