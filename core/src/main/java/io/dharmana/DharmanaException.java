package io.dharmana;

/**
 * Root of the small unchecked hierarchy that Dharmana's public API throws.
 *
 * <p>Messages say what could not be done and why, with the offending value, and start with
 * "Cannot" or "Invalid".
 */
public class DharmanaException extends RuntimeException {
  public DharmanaException(String message) {
    super(message);
  }

  public DharmanaException(String message, Throwable cause) {
    super(message, cause);
  }
}
