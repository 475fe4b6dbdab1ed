package io.dharmana;

/** Stored bytes failed verification (hash, checksum, authentication tag, format). The data must not be used. */
public class CorruptDataException extends DharmanaException {
  public CorruptDataException(String message) {
    super(message);
  }

  public CorruptDataException(String message, Throwable cause) {
    super(message, cause);
  }
}
