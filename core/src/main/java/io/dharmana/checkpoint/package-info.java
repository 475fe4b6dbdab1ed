/**
 * Checkpoints of training runs on a {@link io.dharmana.repo.Repository}: {@link
 * io.dharmana.checkpoint.CheckpointManager} saves asynchronously from bounded, reused staging
 * memory, commits multi-rank steps atomically by compare-and-set on the repository's refs,
 * deduplicates identical tensors, delta-codes against the previous save with a whole copy every K
 * links, prunes by {@link io.dharmana.checkpoint.RetentionPolicy} and restores with every chunk and
 * tensor verified.
 */
package io.dharmana.checkpoint;
