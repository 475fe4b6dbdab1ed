package io.dharmana.repo;

import java.time.Instant;

/**
 * A named pointer at a manifest, at one version. Versions count up from 1 with every move; a
 * deleted ref is a version whose target is null.
 */
public record Ref(String name, long version, String target, Instant updated) {
  public boolean deleted() {
    return target == null;
  }
}
