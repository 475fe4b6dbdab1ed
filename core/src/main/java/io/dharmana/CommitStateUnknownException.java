package io.dharmana;

/**
 * A commit may or may not have taken effect (for example an I/O error after the new pointer was
 * written but before it could be confirmed). Files written for the commit must be kept: they may
 * be referenced.
 */
public class CommitStateUnknownException extends DharmanaException {
  public CommitStateUnknownException(String message, Throwable cause) {
    super(message, cause);
  }
}
