package io.dharmana;

/** A descriptor or other user input is invalid. The message names the file, the field path, the value and what is allowed. */
public class InvalidDescriptorException extends DharmanaException {
  public InvalidDescriptorException(String message) {
    super(message);
  }

  public InvalidDescriptorException(String message, Throwable cause) {
    super(message, cause);
  }
}
