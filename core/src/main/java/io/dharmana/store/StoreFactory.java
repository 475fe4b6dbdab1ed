package io.dharmana.store;

import io.dharmana.descriptor.TierSpec;
import java.nio.file.Path;

/**
 * Makes the store of one tier kind ({@code memory}, {@code local}, {@code s3}, ...). Factories
 * are found through {@link java.util.ServiceLoader}, so a kind whose dependencies live outside
 * core (the S3 store) is available once its module is on the class path.
 */
public interface StoreFactory {

  /** The {@link TierSpec#kind()} this factory makes stores for. */
  String kind();

  /**
   * Makes the store a tier describes.
   *
   * @param spec the tier; its kind must be {@link #kind()}
   * @param repositoryRoot directory relative locations resolve against
   * @param fsync whether commits must be fsynced (stores that are durable by nature ignore it)
   * @throws io.dharmana.InvalidDescriptorException naming the tier field that is wrong
   */
  BlobStore create(TierSpec spec, Path repositoryRoot, boolean fsync);
}
