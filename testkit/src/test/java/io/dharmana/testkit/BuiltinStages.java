package io.dharmana.testkit;

import io.dharmana.stage.Stage;
import io.dharmana.stage.StageContext;
import io.dharmana.stage.StageSpec;
import io.dharmana.stage.Stages;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

/** Built-in stages as the tests create them: through the registry, from a spec. */
final class BuiltinStages {
  /** A fixed test key (never a real one), and the environment variable the tests keep it in. */
  static final String KEY_ENV = "DHARMANA_TEST_KEY";
  static final String KEY_HEX = HexFormat.of().formatHex(keyBytes(42));
  static final StageContext CONTEXT = StageContext.of(Map.of(KEY_ENV, KEY_HEX));

  private BuiltinStages() {}

  static Stage create(String name, Map<String, String> params) {
    return Stages.create(StageSpec.of(name, params), CONTEXT);
  }

  static Stage create(String name) {
    return create(name, Map.of());
  }

  static byte[] keyBytes(long seed) {
    byte[] key = new byte[32];
    new Random(seed).nextBytes(key);
    return key;
  }
}
