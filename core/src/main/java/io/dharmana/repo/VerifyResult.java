package io.dharmana.repo;

import java.util.List;

/**
 * What {@link Repository#verify} found: every copy of every manifest and chunk the objects need,
 * in every tier that holds one, checked against its SHA-256 id.
 *
 * @param objects named objects checked
 * @param manifests manifests checked (the objects' and those they include)
 * @param blobs distinct manifests and chunks whose copies were checked
 * @param copies copies read (a blob held by two tiers has two)
 * @param bytesRead bytes of those copies
 * @param problems what is wrong, each once per copy
 * @param unreachableTiers tiers that could not be read (an S3 endpoint down): their copies are
 *     unchecked
 */
public record VerifyResult(long objects, long manifests, long blobs, long copies, long bytesRead, List<Problem> problems,
    List<String> unreachableTiers) {

  public VerifyResult {
    problems = List.copyOf(problems);
    unreachableTiers = List.copyOf(unreachableTiers);
  }

  /**
   * One thing wrong.
   *
   * @param kind {@link Kind}
   * @param object a named object that needs the blob (the first found)
   * @param blob the manifest or chunk key, e.g. {@code chunks/ab/ab12...}
   * @param tier the tier whose copy is wrong, or null where no tier holds one
   * @param detail why, in words
   * @param repaired whether the damaged copy was replaced by the good one another tier holds
   */
  public record Problem(Kind kind, String object, String blob, String tier, String detail, boolean repaired) {}

  public enum Kind {
    /** A tier's copy does not hash to its id, or its pack's checksum fails; another tier holds a good copy. */
    DAMAGED_COPY,
    /** Every copy is damaged: the object cannot be read. */
    LOST,
    /** No tier holds it: the object cannot be read. */
    MISSING
  }

  /** Whether every object can be read: nothing lost or missing (damaged copies have good ones elsewhere). */
  public boolean readable() {
    return problems.stream().allMatch(p -> p.kind() == Kind.DAMAGED_COPY);
  }

  /** Whether nothing is wrong any more: readable, and every damaged copy repaired. */
  public boolean sound() {
    return problems.stream().allMatch(Problem::repaired);
  }
}
