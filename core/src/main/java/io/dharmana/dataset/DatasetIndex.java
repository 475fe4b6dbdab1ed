package io.dharmana.dataset;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.dharmana.CorruptDataException;
import io.dharmana.stage.StageSpec;
import java.io.IOException;
import java.util.List;

/**
 * The dataset index ({@value #KEY} at the dataset root): which shards hold which samples, their
 * sizes and hashes, the stages every shard block went through, and the sources for unpacking.
 * Writing it is the commit point of a pack: a dataset without an index does not exist.
 *
 * @param format always {@value #FORMAT}
 * @param version index format version
 * @param stages the stage chain of every shard (also recorded in each shard's header)
 * @param samples samples in the dataset
 * @param bytes original bytes of all samples
 * @param storedBytes bytes of all shard files
 * @param shards shards in dataset order
 * @param sources inputs in dataset order
 */
public record DatasetIndex(
    String format, int version, List<StageSpec> stages, long samples, long bytes, long storedBytes,
    List<ShardInfo> shards, List<SourceInfo> sources) {
  public static final String KEY = "index.json";
  public static final String FORMAT = "dharmana-dataset";
  public static final int VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public DatasetIndex {
    if (!FORMAT.equals(format)) {
      throw new CorruptDataException("Invalid dataset index: format is '" + format + "', expected '" + FORMAT + "'");
    }
    if (version < 1 || version > VERSION) {
      throw new CorruptDataException("Invalid dataset index: version " + version + " is not readable (this build reads 1.." + VERSION + ")");
    }
    stages = List.copyOf(stages);
    shards = List.copyOf(shards);
    sources = List.copyOf(sources);
    long expected = 0;
    for (ShardInfo shard : shards) {
      if (shard.firstSample() != expected) {
        throw new CorruptDataException("Invalid dataset index: shard " + shard.key() + " starts at sample "
            + shard.firstSample() + ", expected " + expected);
      }
      expected += shard.samples();
    }
    if (expected != samples) {
      throw new CorruptDataException("Invalid dataset index: shards hold " + expected + " samples, index says " + samples);
    }
  }

  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot serialize dataset index", e);
    }
  }

  /** Parses an index; {@code where} names it in errors. */
  public static DatasetIndex parse(byte[] json, String where) {
    try {
      return JSON.readValue(json, DatasetIndex.class);
    } catch (IOException e) {
      throw new CorruptDataException("Cannot read dataset index " + where + ": " + reason(e), e);
    }
  }

  /**
   * Why JSON could not be read, on one line: the parser's own message spans lines, names its
   * input "REDACTED" and may quote all of it.
   */
  static String reason(IOException e) {
    if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException json)) {
      return e.getMessage();
    }
    String what = json.getOriginalMessage() == null ? "not JSON" : json.getOriginalMessage().lines().findFirst().orElse("not JSON");
    var at = json.getLocation();
    return at == null || at.getLineNr() < 0 ? what : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + what;
  }

  /** The shard holding dataset sample {@code sample} (binary search). */
  public int shardOf(long sample) {
    if (sample < 0 || sample >= samples) {
      throw new IndexOutOfBoundsException("Invalid sample " + sample + ": dataset has " + samples);
    }
    int lo = 0;
    int hi = shards.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (shards.get(mid).firstSample() <= sample) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }
}
