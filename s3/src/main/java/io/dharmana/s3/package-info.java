/**
 * Dharmana's object-store tier: {@link io.dharmana.s3.S3Store} keeps each blob as one object
 * on an S3-compatible server (AWS SDK for Java v2) and commits by conditional writes; {@link
 * io.dharmana.s3.PackedBlobStore} packs small content-addressed chunks into large indexed
 * objects on top of it; {@link io.dharmana.s3.S3StoreFactory} makes tiers of kind {@code s3}.
 * Enter through {@link io.dharmana.s3.S3Stores}.
 */
package io.dharmana.s3;
