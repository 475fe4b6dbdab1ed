package io.dharmana.stage.builtin;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import java.util.Set;

/**
 * {@code zstd}: Zstandard compression. Parameter {@code level}: 1 to 22, or a fast level from -7
 * to -1 (default 3). The level is recorded for the record only; any frame decodes at any level.
 * Detects corruption through the frame's content checksum.
 */
public final class ZstdStageFactory extends BuiltinStageFactory {
  static final String NAME = "zstd";
  private static final Set<String> PARAMETERS = Set.of("level");

  public ZstdStageFactory() {
    super(NAME, PARAMETERS,
        "Zstandard compression with a content checksum (level 1..22 or fast -7..-1, default 3)");
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    StageParameters params = StageParameters.of(spec, PARAMETERS, currentVersion());
    String allowed = "an integer from 1 to 22, or a fast level from -7 to -1";
    int level = params.integer("level", ZstdStage.DEFAULT_LEVEL, ZstdStage.MIN_LEVEL, ZstdStage.MAX_LEVEL, allowed);
    if (level == 0) {
      // zstd reads 0 as "the default level", which would make the recorded level lie
      throw params.invalid("level", spec.params().get("level"), allowed);
    }
    return new ZstdStage(level, params.version());
  }
}
