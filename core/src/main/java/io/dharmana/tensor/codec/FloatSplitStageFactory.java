package io.dharmana.tensor.codec;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageFactory;
import io.dharmana.stage.StageSpec;
import java.util.Set;

/**
 * The {@code float-split} stage: {@link FloatCodec} without a parent, on a block of little-endian
 * elements of one dtype. Parameter {@code dtype} is {@code f32}, {@code bf16}, {@code f16},
 * {@code f64} or {@code auto} (default), for blocks of any content.
 *
 * <p>Version 1 wrote the {@link FloatCodec} stream alone; with {@code auto} it coded every block
 * as plain bytes and in each float layout and kept the smallest. Version 2 (current) writes a form
 * byte first: a float coding (whose stream starts with that very byte, so it is what version 1
 * wrote), a zstd frame, or the bytes as they are. With {@code auto} a block that no float layout
 * clearly shrinks better than plain bytes (text, JSON, pickles, compressed or random bytes) goes to
 * zstd, which finds the repeats the plane coder cannot, and is stored as it is when zstd cannot
 * shrink it; a block of floats is coded once, in the layout that codes a sample of it smallest
 * (see {@code FloatSplitStage#encodeAuto}). An explicit dtype writes the float coding, as version
 * 1 did. Version 3 (current) is version 2 with the float coding of {@link FloatCodec} format 2,
 * whose Huffman-coded planes decode faster; its form byte is that format's first byte, 2. Each
 * version reads what the earlier ones wrote, and writes what it always wrote.
 *
 * <p>Deltas against a parent checkpoint are not a stage: the stage SPI has no way to hand a stage
 * the parent, so the tensor file format and the checkpoint store call {@link FloatCodec#encode}
 * with the parent themselves.
 */
public final class FloatSplitStageFactory implements StageFactory {
  public static final String NAME = "float-split";
  static final int VERSION = 3;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int currentVersion() {
    return VERSION;
  }

  @Override
  public Set<String> parameterNames() {
    return Set.of("dtype");
  }

  @Override
  public String description() {
    return "lossless float coding: exponent / sign+mantissa planes, rANS with exponent contexts or Huffman; zstd for blocks that are not floats";
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    for (String key : spec.params().keySet()) {
      if (!key.equals("dtype")) {
        throw new InvalidDescriptorException(
            "Invalid stage " + NAME + ": unknown parameter '" + key + "'; allowed: dtype");
      }
    }
    String dtype = spec.param("dtype", "auto");
    FloatSplitStage.Kind kind =
        switch (dtype) {
          case "f32" -> FloatSplitStage.Kind.F32;
          case "bf16" -> FloatSplitStage.Kind.BF16;
          case "f16" -> FloatSplitStage.Kind.F16;
          case "f64" -> FloatSplitStage.Kind.F64;
          case "auto" -> FloatSplitStage.Kind.AUTO;
          default -> throw new InvalidDescriptorException(
              "Invalid stage " + NAME + " parameter dtype '" + dtype + "': allowed are f32, bf16, f16, f64, auto");
        };
    int version = spec.version() == 0 ? VERSION : spec.version();
    return new FloatSplitStage(kind, new StageSpec(NAME, version, spec.params()));
  }
}
