package io.dharmana.stage;

import java.util.Map;
import java.util.Optional;

/**
 * What a stage may need from its surroundings besides its recorded parameters: secrets that must
 * never be stored beside the data (encryption keys are looked up here by name, from a file or the
 * environment).
 */
public interface StageContext {

  /** The value of environment variable {@code name}, if set. */
  Optional<String> environment(String name);

  /** The context of a normal process: the real environment. */
  static StageContext system() {
    return name -> Optional.ofNullable(System.getenv(name));
  }

  /** A context with the given variables only, for tests. */
  static StageContext of(Map<String, String> environment) {
    return name -> Optional.ofNullable(environment.get(name));
  }
}
