package io.dharmana.descriptor;

import io.dharmana.InvalidDescriptorException;

/**
 * How data moves between tiers.
 *
 * @param writeTier the tier new data lands on
 * @param writeMode {@code through}: a write commits only when the next lower tier holds it too;
 *     {@code back}: the write commits on the write tier and is copied down in the background
 * @param promoteOnRead copy data read from a lower tier into the write tier
 */
public record PlacementPolicy(String writeTier, String writeMode, boolean promoteOnRead) {
  public PlacementPolicy {
    writeMode = writeMode == null ? "back" : writeMode;
    if (!writeMode.equals("through") && !writeMode.equals("back")) {
      throw new InvalidDescriptorException(
          "Invalid storage.placement.writeMode '" + writeMode + "': allowed are through, back");
    }
    if (writeTier == null || writeTier.isBlank()) {
      throw new InvalidDescriptorException("Invalid storage.placement.writeTier: empty");
    }
  }

  public static PlacementPolicy defaults(String writeTier) {
    return new PlacementPolicy(writeTier, "back", true);
  }

  public boolean writeThrough() {
    return writeMode.equals("through");
  }
}
