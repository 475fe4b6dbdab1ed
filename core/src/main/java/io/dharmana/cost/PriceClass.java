package io.dharmana.cost;

import io.dharmana.InvalidDescriptorException;

/**
 * What one kind of storage costs, in US dollars, with GB = 10^9 bytes as cloud bills count.
 *
 * @param name the name tiers refer to through {@code priceClass}, e.g. {@code s3-standard}
 * @param description where the figures come from, or the assumption behind an amortized price
 * @param storagePerGbMonth price of keeping one GB for one month
 * @param retrievalPerGb price of reading one GB back (0 for classes without retrieval fees)
 * @param putPer1000 price of 1,000 write requests (PUT, COPY, POST, LIST for S3 classes)
 * @param getPer1000 price of 1,000 read requests (GET, SELECT and others for S3 classes)
 * @param minimumDays minimum storage duration billed for every object (0 for none)
 */
public record PriceClass(
    String name,
    String description,
    double storagePerGbMonth,
    double retrievalPerGb,
    double putPer1000,
    double getPer1000,
    int minimumDays) {

  public PriceClass {
    if (name == null || !name.matches("[a-z0-9][a-z0-9._-]{0,63}")) {
      throw new InvalidDescriptorException(
          "Invalid price class name '" + name + "': use 1-64 lower-case letters, digits, '.', '_' or '-'");
    }
    description = description == null ? "" : description;
    requirePrice(name, "storage", storagePerGbMonth);
    requirePrice(name, "retrieval", retrievalPerGb);
    requirePrice(name, "put", putPer1000);
    requirePrice(name, "get", getPer1000);
    if (minimumDays < 0) {
      throw new InvalidDescriptorException("Invalid price class " + name + ": minimumDays " + minimumDays + " must be >= 0");
    }
  }

  private static void requirePrice(String name, String field, double value) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new InvalidDescriptorException("Invalid price class " + name + ": " + field + " " + value + " must be a finite number >= 0");
    }
  }

  /** A class billed for storage only (block and file storage, amortized local disks). */
  public static PriceClass storageOnly(String name, String description, double storagePerGbMonth) {
    return new PriceClass(name, description, storagePerGbMonth, 0, 0, 0, 0);
  }
}
