package io.dharmana;

/** A compare-and-set commit lost: the base it was made against is stale. Files written for the failed commit may be deleted; retrying against a fresh base is safe. */
public class CommitFailedException extends DharmanaException {
  public CommitFailedException(String message) {
    super(message);
  }

  public CommitFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
