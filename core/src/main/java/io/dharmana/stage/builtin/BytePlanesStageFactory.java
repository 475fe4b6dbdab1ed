package io.dharmana.stage.builtin;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import java.util.Set;

/**
 * {@code byte-planes}: splits fixed-width values into one plane per byte position (the base of
 * float coding: put a compressor after it). Parameter {@code width}: 1 to 16 bytes per value
 * (default 4, fp32; 2 for fp16/bf16, 8 for fp64).
 */
public final class BytePlanesStageFactory extends BuiltinStageFactory {
  static final String NAME = "byte-planes";
  private static final Set<String> PARAMETERS = Set.of("width");

  public BytePlanesStageFactory() {
    super(NAME, PARAMETERS,
        "Splits fixed-width values into byte planes (width 1..16, default 4)");
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    StageParameters params = StageParameters.of(spec, PARAMETERS, currentVersion());
    int width = params.integer("width", BytePlanesStage.DEFAULT_WIDTH, 1, BytePlanesStage.MAX_WIDTH, "an integer from 1 to 16");
    return new BytePlanesStage(width, params.version());
  }
}
