/**
 * Datasets packed into indexed shards, and a streaming loader for training.
 *
 * <p>Packing ({@link io.dharmana.dataset.DatasetPacker}) turns a directory of files, JSON Lines
 * files or WebDataset {@code .tar} shards into shards of about 64 MiB: a header naming the stage
 * chain, blocks of samples encoded through the stages, and a table giving every sample's place,
 * CRC32C and SHA-256 (format in {@code internal.ShardFormat}). {@code index.json} ({@link
 * io.dharmana.dataset.DatasetIndex}), written last, commits the dataset; {@link
 * io.dharmana.dataset.Dataset#unpack} restores the inputs byte-identical.
 *
 * <p>Reading:
 *
 * <pre>{@code
 * try (BlobStore store = Stores.local(dir, false);
 *     Dataset dataset = Dataset.open(store, "");
 *     DataLoader loader = DataLoader.builder(dataset)
 *         .batchSize(256).shuffle(seed).epoch(epoch)
 *         .rank(rank, worldSize).worker(worker, workers)
 *         .prefetch(4).readers(2)
 *         .build()) {
 *   for (Batch batch : loader) {
 *     train(batch);
 *     if (timeToCheckpoint()) save(loader.state().toJson());  // resume with .resume(LoaderState.parse(json))
 *   }
 * }
 * }</pre>
 *
 * <p>{@link io.dharmana.runtime.EmulatedAccelerator} consumes a loader as an emulated training
 * step would, and reports accelerator utilization.
 */
package io.dharmana.dataset;
