package io.dharmana.descriptor;

/**
 * Consistency asked of the storage path. Commits are always atomic (a manifest is visible
 * completely or not at all); {@code fsync} chooses whether local tiers flush to the device before
 * a commit is reported, so that it also survives a machine crash.
 */
public record ConsistencySpec(boolean fsync) {
  public static final ConsistencySpec DEFAULT = new ConsistencySpec(true);
}
