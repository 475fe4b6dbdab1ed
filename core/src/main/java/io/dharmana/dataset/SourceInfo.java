package io.dharmana.dataset;

import java.util.Objects;

/**
 * One input a dataset was packed from, with what unpacking needs to restore it byte-identical.
 *
 * @param kind {@code dir}, {@code jsonl} or {@code tar}
 * @param name the directory, file or archive name (no path)
 * @param firstSample dataset index of the source's first sample
 * @param samples samples that came from the source
 * @param bytes size of the original source in bytes (sum of file sizes for a directory)
 * @param trailer for tar: base64 of the bytes after the last member (end-of-archive blocks and
 *     record padding), unless they are all zero; otherwise null
 * @param trailerZeros for tar: length of an all-zero trailer
 */
public record SourceInfo(String kind, String name, long firstSample, long samples, long bytes, String trailer, long trailerZeros) {
  public static final String DIR = "dir";
  public static final String JSONL = "jsonl";
  public static final String TAR = "tar";

  public SourceInfo {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    if (!kind.equals(DIR) && !kind.equals(JSONL) && !kind.equals(TAR)) {
      throw new IllegalArgumentException("Invalid source kind '" + kind + "': allowed are dir, jsonl, tar");
    }
  }
}
