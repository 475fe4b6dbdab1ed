/**
 * Blob stores: the flat, immutable key/blob namespace every tier provides ({@link
 * io.dharmana.store.BlobStore}), with optional features as extra interfaces ({@link
 * io.dharmana.store.SupportsListing}, {@link io.dharmana.store.SupportsTouch}).
 *
 * <p>Entry points: {@link io.dharmana.store.Stores} for the built-in memory and local-directory
 * stores and for the store of a descriptor's tier; {@link io.dharmana.store.TieredStore} to compose
 * tiers under a placement policy; {@link io.dharmana.store.ForwardingBlobStore} as the base of
 * decorators. Further tier kinds plug in through {@link io.dharmana.store.StoreFactory}. Every
 * store must pass the testkit's {@code BlobStoreContractTest}.
 */
package io.dharmana.store;
