package io.dharmana.manifest;

import io.dharmana.stage.StageSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The immutable record of one stored object version: which chunks hold its bytes in which order,
 * the stage chain (with parameters) that encoded every chunk, the SHA-256 of the original bytes,
 * and where it came from. Stored content-addressed; a ref points at it. Everything needed to
 * decode is here, so data written long ago still decodes.
 *
 * @param format manifest format version
 * @param pipeline name of the pipeline that wrote it
 * @param size size in bytes of the object's content as the pipeline received it (see {@link
 *     #logicalSize} for content its writer had already encoded)
 * @param sha256 hex SHA-256 of the original bytes, or empty when the writer identified the content
 *     by its chunk ids instead ({@link io.dharmana.repo.PutOptions#withoutOriginalHash})
 * @param stages the chain applied to each chunk, in encode order
 * @param lossy whether decoding yields only an approximation (a lossy stage was applied)
 * @param chunks the chunks in object order
 * @param parents manifest ids this version derives from (the previous version); informational
 * @param includes manifest ids whose data this object's content refers to (a checkpoint step
 *     lists its tensors' manifests; a delta names its base): garbage collection keeps them alive
 *     as long as this manifest is
 * @param created commit time
 * @param attributes free-form metadata (content type, ETag, user metadata)
 */
public record ObjectManifest(
    int format,
    String pipeline,
    long size,
    String sha256,
    List<StageSpec> stages,
    boolean lossy,
    List<ChunkRef> chunks,
    List<String> parents,
    List<String> includes,
    Instant created,
    Map<String, String> attributes) {

  public static final int FORMAT = 1;

  /**
   * Attribute a writer that encodes data before the pipeline (a checkpoint's float-coded or
   * quantized tensor) sets to the size of the data it encoded, in decimal: what the object stands
   * for, where {@link #size} is the encoded form.
   */
  public static final String ENCODED_FROM_SIZE = "encoded-from.size";

  /**
   * Attribute of an object stored as a tensor file rather than as the file put (a {@code
   * .safetensors} object that {@code io.dharmana.checkpoint.TensorObjects} float-coded and
   * delta-coded): its coding, {@code dhz}. Reads by name refuse such an object.
   */
  public static final String TENSOR_FILE_CODING = "tensor-file.coding";

  /**
   * Attribute of an object stored through another pipeline than the one it was put to (a
   * tensor-coded object, float-coded before the checkpoint pipeline stores it): the pipeline it was
   * put to, which listings and costs name as its own.
   */
  public static final String PUT_TO_PIPELINE = "put.pipeline";

  /** The pipeline the object was put to: {@link #PUT_TO_PIPELINE} where a writer recorded it, else the one it was stored through. */
  public String putPipeline() {
    return attributes.getOrDefault(PUT_TO_PIPELINE, pipeline);
  }

  public ObjectManifest {
    Objects.requireNonNull(pipeline, "pipeline");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(created, "created");
    stages = List.copyOf(stages);
    chunks = List.copyOf(chunks);
    parents = parents == null ? List.of() : List.copyOf(parents);
    includes = includes == null ? List.of() : List.copyOf(includes);
    attributes = attributes == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(attributes));
    long sum = 0;
    for (ChunkRef chunk : chunks) {
      sum += chunk.length();
    }
    if (sum != size) {
      throw new IllegalArgumentException(
          "Invalid manifest: chunks hold " + sum + " bytes but the object size is " + size);
    }
  }

  /**
   * The bytes this object stands for, to compare what is stored against: {@link #size}, or the
   * size its writer recorded under {@link #ENCODED_FROM_SIZE} when it encoded the data first.
   */
  public long logicalSize() {
    String encodedFrom = attributes.get(ENCODED_FROM_SIZE);
    if (encodedFrom != null) {
      try {
        long original = Long.parseLong(encodedFrom);
        if (original >= 0) {
          return original;
        }
      } catch (NumberFormatException garbled) {
        // a figure, not data: the stored size is the next best
      }
    }
    return size;
  }

  /** Bytes this version occupies in the store, counting a chunk each time it is referenced. */
  public long storedBytes() {
    long sum = 0;
    for (ChunkRef chunk : chunks) {
      sum += chunk.storedLength();
    }
    return sum;
  }

  /** Start offset of every chunk within the object, plus the size as a final entry. */
  public long[] chunkOffsets() {
    long[] offsets = new long[chunks.size() + 1];
    for (int i = 0; i < chunks.size(); i++) {
      offsets[i + 1] = offsets[i] + chunks.get(i).length();
    }
    return offsets;
  }

  /** The same manifest with extra attributes merged in. */
  public ObjectManifest withAttributes(Map<String, String> extra) {
    Map<String, String> merged = new TreeMap<>(attributes);
    merged.putAll(extra);
    return new ObjectManifest(format, pipeline, size, sha256, stages, lossy, chunks, parents, includes, created, merged);
  }

  static List<ChunkRef> copy(List<ChunkRef> chunks) {
    return new ArrayList<>(chunks);
  }
}
