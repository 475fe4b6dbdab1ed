package io.dharmana;

/** A named thing (object, ref, chunk, manifest, tier, stage) does not exist. */
public class NotFoundException extends DharmanaException {
  public NotFoundException(String message) {
    super(message);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
