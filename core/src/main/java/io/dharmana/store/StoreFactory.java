package io.dharmana.store;

import io.dharmana.descriptor.TierSpec;
import java.nio.file.Path;

/**
 * Creates the store for one tier kind ({@code memory}, {@code local}, {@code s3}, ...).
 * Implementations are found through {@link java.util.ServiceLoader}: list them in {@code
 * META-INF/services/io.dharmana.store.StoreFactory}; they must be public with a public no-argument
 * constructor. {@link Stores#forTier} picks the factory by {@link TierSpec#kind()}.
 */
public interface StoreFactory {

  /** The tier kind this factory serves; must be unique among registered factories. */
  String kind();

  /**
   * Creates (or opens) the store a tier describes. Capacity, watermarks and age rules are
   * enforced by the tiered store, not by the store created here.
   *
   * @param spec the tier; its location is relative to {@code repositoryRoot} when it is a path
   * @param repositoryRoot the repository's root directory
   * @param fsync whether commits must be flushed to the device before they are reported
   * @throws io.dharmana.InvalidDescriptorException if the spec's options are invalid for this kind
   */
  BlobStore create(TierSpec spec, Path repositoryRoot, boolean fsync);

  /**
   * Whether reads of this kind's stores go over a network, each paying a round trip: then {@link
   * Stores#forTier} keeps copies of their pack indexes on local disk.
   */
  default boolean remote() {
    return false;
  }
}
