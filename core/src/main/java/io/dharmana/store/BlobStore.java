package io.dharmana.store;

import io.dharmana.AlreadyExistsException;
import io.dharmana.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Collection;

/**
 * A flat namespace of immutable blobs under string keys: the one thing every tier (memory, a
 * local directory, an object store) must be. Listing, touching and ranged reads are optional
 * features expressed by extra interfaces ({@link SupportsListing}, ...).
 *
 * <p>Contract every implementation must keep (checked by the testkit's contract test base):
 *
 * <ul>
 *   <li><b>Keys</b> are relative paths of segments separated by {@code /}; a segment must not be
 *       empty, {@code .} or {@code ..} and a key must not contain NUL or {@code \}. Invalid keys
 *       throw {@link IllegalArgumentException} and change nothing.
 *   <li><b>Visibility</b>: bytes written through {@link #create} must not be visible to {@link
 *       #open}, {@link #exists} or listing before {@link BlobOutput#close()} returns; after it
 *       returns they must be visible completely. {@link BlobOutput#abort()} (or a crash) must
 *       leave nothing visible.
 *   <li><b>Immutability</b>: committing a key that already exists must fail with {@link
 *       AlreadyExistsException} and leave the existing blob unchanged. Of several writers racing
 *       on one key, exactly one must win.
 *   <li><b>Durability</b>: once {@code close()} returns, the blob must survive a crash of the
 *       process and, for stores that say they are durable, of the machine (fsync).
 *   <li><b>Thread safety</b>: all methods must be safe to call from several threads.
 * </ul>
 */
public interface BlobStore extends AutoCloseable {

  /**
   * Opens a committed blob for reading.
   *
   * @throws NotFoundException if no blob is committed under {@code key}
   */
  BlobInput open(String key);

  /**
   * Starts writing a new blob. Nothing is visible until the returned output is closed.
   * Implementations may check for an existing key early, but must check again at commit.
   */
  BlobOutput create(String key);

  /** Deletes a blob; returns whether it existed. Deleting a missing key is not an error. */
  boolean delete(String key);

  /** Whether a blob is committed under {@code key}. */
  boolean exists(String key);

  /** Whether a committed blob survives a machine crash (a fsynced directory, an object store). */
  default boolean durable() {
    return true;
  }

  /** Reads a whole blob. Blobs read this way must fit in one array. */
  default byte[] read(String key) {
    try (BlobInput in = open(key)) {
      return in.readAll();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a whole blob as a buffer from position 0 to its length, for readers that hand bytes on
   * without copying them (a store that maps its files returns a read-only view of the mapping).
   * The caller must not write to the buffer; a heap buffer returned here is the caller's own. A
   * store must check the bytes exactly as {@link #read} does (checksums it keeps) and count the
   * read the same way (hits, misses, promotion).
   */
  default ByteBuffer readBuffer(String key) {
    return ByteBuffer.wrap(read(key));
  }

  /**
   * Writes and commits a whole blob.
   *
   * @throws AlreadyExistsException if {@code key} is already committed
   */
  default void write(String key, byte[] bytes) {
    create(key).writeAndCommit(bytes);
  }

  /**
   * Writes an empty blob under each of {@code keys}, as {@link #write} does; a key already
   * committed is left as it is. All are durable when this returns. For markers whose key is their
   * content (a packed store's marks of deleted blobs, written by the thousand in one gc): a store
   * may make them durable together, which by default it does not.
   */
  default void writeMarkers(Collection<String> keys) {
    for (String key : keys) {
      try {
        write(key, new byte[0]);
      } catch (AlreadyExistsException marked) {
        // written before: a marker's content is its key
      }
    }
  }

  /** Releases resources; must be idempotent. */
  @Override
  void close();
}
