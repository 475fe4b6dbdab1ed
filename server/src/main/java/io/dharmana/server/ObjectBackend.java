package io.dharmana.server;

import java.io.InputStream;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where the gateway keeps objects: a flat namespace of names ({@code bucket/key}, escaped by the
 * gateway) whose content goes through a named pipeline. A Dharmana repository implements it (see
 * {@link RepositoryBackend}).
 *
 * <p>Implementations must be thread safe. {@link #put} must make the object visible only once
 * {@code data} has been read to its end, and atomically: a reader sees the old object or the new
 * one in full, never a mix; if reading {@code data} throws, nothing must become visible. Reads must
 * return exactly the bytes that were put (implementations verify while reading and throw
 * {@link io.dharmana.CorruptDataException} rather than return other bytes).
 */
public interface ObjectBackend {

  /**
   * Stores {@code data} under {@code name}.
   *
   * @throws io.dharmana.AlreadyExistsException or {@link io.dharmana.CommitFailedException} when the
   *     request's precondition does not hold
   */
  StoredObject put(String name, InputStream data, PutRequest request);

  /**
   * Opens {@code length} bytes from {@code offset} of exactly the version {@code object} describes
   * (as returned by {@link #stat} or {@link #list}), even if its name has been overwritten since,
   * so a response's bytes always match the size and ETag sent before them. A range reaching past
   * the end is cut at the end. {@link io.dharmana.NotFoundException} if that version's content is
   * gone.
   */
  InputStream open(StoredObject object, long offset, long length);

  Optional<StoredObject> stat(String name);

  /** Objects whose name starts with {@code prefix}, sorted by name; the caller must close the stream. */
  Stream<StoredObject> list(String prefix);

  /** Removes the object; returns whether it existed. */
  boolean remove(String name);

  /** Whether a pipeline of this name is configured, so a bucket can be bound to it. */
  boolean hasPipeline(String pipeline);

  /** The pipeline objects go through when a put names none. */
  String defaultPipeline();
}
