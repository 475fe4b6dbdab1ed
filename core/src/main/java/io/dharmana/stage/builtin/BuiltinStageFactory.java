package io.dharmana.stage.builtin;

import io.dharmana.stage.StageFactory;
import java.util.Set;

/**
 * What every built-in factory shares: a name, the parameters it accepts, a description, and
 * format version 1 (the only version the built-in stages have written so far).
 */
abstract class BuiltinStageFactory implements StageFactory {
  private final String name;
  private final Set<String> parameters;
  private final String description;

  BuiltinStageFactory(String name, Set<String> parameters, String description) {
    this.name = name;
    this.parameters = parameters;
    this.description = description;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final int currentVersion() {
    return 1;
  }

  @Override
  public final Set<String> parameterNames() {
    return parameters;
  }

  @Override
  public final String description() {
    return description;
  }
}
