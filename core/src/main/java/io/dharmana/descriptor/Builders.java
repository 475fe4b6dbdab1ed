package io.dharmana.descriptor;

/** The set-once rule the descriptor builders share. */
final class Builders {
  private Builders() {}

  static void requireUnset(String setting, Object current) {
    if (current != null) {
      throw new IllegalStateException("Cannot set " + setting + " twice: it is already " + current);
    }
  }
}
