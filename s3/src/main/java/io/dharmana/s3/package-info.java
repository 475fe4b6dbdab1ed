/**
 * Dharmana's object-store tier: {@link io.dharmana.s3.S3Store} keeps each blob as one object
 * on an S3-compatible server (AWS SDK for Java v2) and commits by conditional writes; core's
 * {@link io.dharmana.store.PackedBlobStore} packs small content-addressed chunks into large
 * indexed objects on top of it; {@link io.dharmana.s3.S3StoreFactory} makes tiers of kind {@code
 * s3}, found through {@link java.util.ServiceLoader} once this module is on the class path, so a
 * pipeline descriptor's {@code s3} tier needs no code. Enter through {@link
 * io.dharmana.s3.S3Stores} for a store of one's own (a dataset's shards, for instance).
 */
package io.dharmana.s3;
