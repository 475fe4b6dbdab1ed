package io.dharmana.stage;

import io.dharmana.InvalidDescriptorException;
import java.util.Map;
import java.util.TreeMap;

/**
 * A stage's name, format version and parameters: what a descriptor asks for and what a manifest
 * records beside the data the stage wrote. Parameters are strings so that they print, diff and
 * round-trip through YAML and JSON unchanged; each stage parses and validates its own.
 */
public record StageSpec(String name, int version, Map<String, String> params) {
  public StageSpec {
    if (name == null || name.isBlank()) {
      throw new InvalidDescriptorException("Invalid stage: name is empty");
    }
    if (version < 0) {
      throw new InvalidDescriptorException("Invalid stage " + name + ": version " + version + " is negative");
    }
    params = params == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(params));
  }

  public static StageSpec of(String name) {
    return new StageSpec(name, 0, Map.of());
  }

  public static StageSpec of(String name, Map<String, String> params) {
    return new StageSpec(name, 0, params);
  }

  /** The same spec with a version filled in (descriptors usually leave it 0, meaning "current"). */
  public StageSpec withVersion(int newVersion) {
    return new StageSpec(name, newVersion, params);
  }

  public String param(String key, String defaultValue) {
    return params.getOrDefault(key, defaultValue);
  }

  @Override
  public String toString() {
    return params.isEmpty() ? name : name + params;
  }
}
