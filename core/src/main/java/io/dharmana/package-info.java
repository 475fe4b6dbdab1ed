/**
 * Dharmana: storage pipelines for machine learning.
 *
 * <p>Packages follow the architecture: {@code descriptor} (what a pipeline is), {@code stage}
 * (the codec plug-ins), {@code chunk} (content-defined chunking and chunk ids), {@code store}
 * (blob stores and tiers), {@code manifest} and {@code repo} (immutable manifests, refs moved by
 * compare-and-set), {@code runtime} (the storage and computation runtimes), {@code metrics}.
 *
 * <p>A program that embeds Dharmana enters through a few types, each {@link AutoCloseable} where
 * it holds files or threads:
 *
 * <ul>
 *   <li>{@link io.dharmana.descriptor.Descriptors#load} or {@link
 *       io.dharmana.descriptor.PipelineDescriptor#builder}: a pipeline, from YAML or in code;
 *   <li>{@link io.dharmana.repo.Repository#init} and {@link io.dharmana.repo.Repository#open(java.nio.file.Path)}:
 *       put, open, get, list and remove objects, and the repository's stats;
 *   <li>{@link io.dharmana.checkpoint.CheckpointManager#open(io.dharmana.repo.Repository, String)}:
 *       asynchronous checkpoint saves and verified restores of {@link io.dharmana.tensor.Tensor}s;
 *   <li>{@link io.dharmana.dataset.DatasetPacker#builder}, {@link io.dharmana.dataset.Dataset#open}
 *       and {@link io.dharmana.dataset.DataLoader#builder}: packed datasets and their loader;
 *   <li>{@link io.dharmana.tensor.Safetensors#open} and {@link
 *       io.dharmana.tensor.codec.FloatCodec#create}: safetensors files and the lossless float codec.
 * </ul>
 *
 * <p>Errors are unchecked: {@link io.dharmana.DharmanaException}'s subclasses (not found, already
 * exists, corrupt data, commit failed, invalid descriptor) say what could not be done and why;
 * {@link java.io.UncheckedIOException} carries a failed read or write of the file system or an
 * object store; {@link IllegalArgumentException} a bad argument such as an invalid object name.
 */
package io.dharmana;
