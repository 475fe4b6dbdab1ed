package io.dharmana.stage.builtin;

import io.dharmana.InvalidDescriptorException;
import io.dharmana.stage.StageSpec;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and validates the string parameters of one stage spec, so that every built-in stage
 * reports a bad parameter the same way: the stage, the parameter, the value and what is allowed.
 */
final class StageParameters {
  private final StageSpec spec;
  private final int version;

  private StageParameters(StageSpec spec, int version) {
    this.spec = spec;
    this.version = version;
  }

  /**
   * Starts reading {@code spec}, rejecting any parameter outside {@code allowed} and any format
   * version other than {@code 1..currentVersion} (0 means the current one).
   */
  static StageParameters of(StageSpec spec, Set<String> allowed, int currentVersion) {
    for (String key : spec.params().keySet()) {
      if (!allowed.contains(key)) {
        throw new InvalidDescriptorException(
            "Invalid stage " + spec.name() + ": unknown parameter '" + key + "'; allowed: "
                + (allowed.isEmpty() ? "none" : String.join(", ", new TreeSet<>(allowed))));
      }
    }
    int version = spec.version() == 0 ? currentVersion : spec.version();
    if (version > currentVersion) {
      throw new InvalidDescriptorException(
          "Invalid stage " + spec.name() + ": format version " + spec.version()
              + " is not one this build reads (1 to " + currentVersion + ")");
    }
    return new StageParameters(spec, version);
  }

  /** The format version to read and write: the spec's, or the current one if it left it 0. */
  int version() {
    return version;
  }

  /** An integer parameter within {@code [min, max]}; {@code allowed} describes the range for messages. */
  int integer(String key, int defaultValue, int min, int max, String allowed) {
    String raw = spec.params().get(key);
    if (raw == null) {
      return defaultValue;
    }
    int value;
    try {
      value = Integer.parseInt(raw.trim());
    } catch (NumberFormatException e) {
      throw invalid(key, raw, allowed);
    }
    if (value < min || value > max) {
      throw invalid(key, raw, allowed);
    }
    return value;
  }

  /** One of {@code choices} (case-sensitive, as written in manifests). */
  String choice(String key, String defaultValue, List<String> choices) {
    String raw = spec.params().get(key);
    if (raw == null) {
      return defaultValue;
    }
    if (!choices.contains(raw)) {
      throw invalid(key, raw, "one of " + String.join(", ", choices));
    }
    return raw;
  }

  /** The raw value of an optional parameter, or null. */
  String optional(String key) {
    return spec.params().get(key);
  }

  InvalidDescriptorException invalid(String key, String value, String allowed) {
    return new InvalidDescriptorException(
        "Invalid stage " + spec.name() + ": parameter " + key + " is '" + value + "'; allowed: " + allowed);
  }
}
