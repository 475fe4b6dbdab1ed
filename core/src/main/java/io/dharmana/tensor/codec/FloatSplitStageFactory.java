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
 * {@code f64} or {@code auto} (default), which tries the float layouts and plain bytes and keeps
 * the smallest. Deltas against a parent checkpoint are not a stage: the stage SPI has no way to
 * hand a stage the parent, so the tensor file format and the checkpoint store call {@link
 * FloatCodec#encode} with the parent themselves.
 */
public final class FloatSplitStageFactory implements StageFactory {
  public static final String NAME = "float-split";
  static final int VERSION = 1;

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
    return "lossless float coding: exponent / sign+mantissa planes, rANS with exponent contexts";
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
