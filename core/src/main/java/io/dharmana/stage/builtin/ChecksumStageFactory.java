package io.dharmana.stage.builtin;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import java.util.List;
import java.util.Set;

/**
 * {@code checksum}: appends a checksum of its input and verifies it on read. Parameter {@code
 * algorithm}: {@code crc32c} (default) or {@code sha256}.
 */
public final class ChecksumStageFactory extends BuiltinStageFactory {
  static final String NAME = "checksum";
  private static final Set<String> PARAMETERS = Set.of("algorithm");

  public ChecksumStageFactory() {
    super(NAME, PARAMETERS,
        "Appends and verifies a checksum (algorithm crc32c or sha256, default crc32c)");
  }

  @Override
  public Stage create(StageSpec spec, StageContext context) {
    StageParameters params = StageParameters.of(spec, PARAMETERS, currentVersion());
    String algorithm = params.choice("algorithm", "crc32c", List.of("crc32c", "sha256"));
    return new ChecksumStage(
        algorithm.equals("crc32c") ? ChecksumStage.Algorithm.CRC32C : ChecksumStage.Algorithm.SHA256, params.version());
  }
}
