package io.dharmana;

/** A create found the key already committed; nothing was changed. */
public class AlreadyExistsException extends DharmanaException {
  public AlreadyExistsException(String message) {
    super(message);
  }

  public AlreadyExistsException(String message, Throwable cause) {
    super(message, cause);
  }
}
