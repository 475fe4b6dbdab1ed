package io.dharmana.descriptor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class DescriptorDiagramTest {

  @Test
  void showsStagesInOrderAndTiersWithCapacities() {
    PipelineDescriptor d = Descriptors.parse(DescriptorsTest.FULL, "full.yaml");
    String diagram = DescriptorDiagram.render(d, false);
    System.out.println(diagram);
    assertTrue(diagram.contains("pipeline llm-checkpoints"), diagram);
    assertTrue(diagram.contains("Checkpoints of a 7B LLM pre-training run"), diagram);
    assertTrue(diagram.contains("llm · 64 accelerators · step 850ms · batch 8 × 8 KiB · dataset 2 TB × 1 epoch"), diagram);
    assertTrue(diagram.contains("checkpoint 84 GB every 30m"), diagram);
    assertTrue(diagram.contains("chunking cdc  min 16 KiB · avg 64 KiB · max 256 KiB · align 4"), diagram);
    int input = diagram.indexOf("input bytes");
    int chunking = diagram.indexOf("chunking cdc");
    int first = diagram.indexOf("1. test-identity  width=4");
    int second = diagram.indexOf("2. test-lossy  bits=8  [LOSSY]");
    int third = diagram.indexOf("3. test-identity");
    int store = diagram.indexOf("store chunks");
    assertTrue(input >= 0 && input < chunking && chunking < first && first < second && second < third && third < store, diagram);
    assertTrue(diagram.contains("▶ nvme  local  tiers/nvme  [write tier]"), diagram);
    assertTrue(diagram.contains("capacity 2 TiB · watermarks 90% → 70% · max age 7d · price local-nvme"), diagram);
    assertTrue(diagram.contains("archive  local  tiers/archive"), diagram);
    assertTrue(diagram.contains("capacity unbounded"), diagram);
    assertTrue(diagram.contains("write-back to nvme; reads promote to nvme"), diagram);
    assertTrue(diagram.contains("memory 256 MiB"), diagram);
    assertFalse(diagram.contains("\u001b["), "no ANSI codes without colour");
    assertTrue(diagram.indexOf("nvme  local") < diagram.indexOf("archive  local"), "tiers top first");
    diagram.lines().forEach(l -> assertTrue(l.length() <= DescriptorDiagram.MAX_WIDTH, "too wide: " + l));
  }

  @Test
  void colourAddsOnlyEscapes() {
    PipelineDescriptor d = Descriptors.parse(DescriptorsTest.FULL, "full.yaml");
    String coloured = DescriptorDiagram.render(d, true);
    assertTrue(coloured.contains("\u001b["), coloured);
    String stripped = coloured.replaceAll("\u001b\\[[0-9;]*m", "");
    assertTrue(stripped.equals(DescriptorDiagram.render(d, false)), stripped);
  }

  static java.util.stream.LongStream seeds() {
    return DescriptorsTest.seeds();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void neverWiderThanTheLimit(long seed) {
    PipelineDescriptor d = DescriptorsTest.randomDescriptor(new Random(seed));
    String diagram = DescriptorDiagram.render(d, false);
    diagram.lines().forEach(l -> assertTrue(l.length() <= DescriptorDiagram.MAX_WIDTH, "seed " + seed + ": too wide: " + l));
    for (var stage : d.storage().stages()) {
      assertTrue(diagram.contains(stage.name()), "seed " + seed + ": stage " + stage.name() + " missing\n" + diagram);
    }
    for (var tier : d.storage().tiers()) {
      assertTrue(diagram.contains(tier.name() + "  " + tier.kind()), "seed " + seed + ": tier " + tier.name() + " missing\n" + diagram);
    }
  }
}
