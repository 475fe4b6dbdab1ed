package io.dharmana.stage.builtin;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code lz4}: LZ4 block compression, for speed over ratio. Parameter {@code mode}: {@code fast}
 * (default) or {@code high} (LZ4 HC). Does not detect corruption: put a {@code checksum} stage
 * after it, or rely on the chunk hash.
 */
public final class Lz4StageFactory extends BuiltinStageFactory {
  static final String NAME = "lz4";
  private static final Set<String> PARAMETERS = Set.of("mode");

  public Lz4StageFactory() {
    super(NAME, PARAMETERS,
        "LZ4 block compression (mode fast or high, default fast)");
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    StageParameters params = StageParameters.of(spec, PARAMETERS, currentVersion());
    String mode = params.choice("mode", "fast", List.of("fast", "high"));
    return new Lz4Stage(Lz4Stage.Mode.valueOf(mode.toUpperCase(Locale.ROOT)), params.version());
  }
}
