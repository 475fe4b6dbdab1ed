/**
 * Dharmana: storage pipelines for machine learning.
 *
 * <p>Packages follow the architecture: {@code descriptor} (what a pipeline is), {@code stage}
 * (the codec plug-ins), {@code chunk} (content-defined chunking and chunk ids), {@code store}
 * (blob stores and tiers), {@code manifest} and {@code repo} (immutable manifests, refs moved by
 * compare-and-set), {@code runtime} (the storage and computation runtimes), {@code metrics}.
 */
package io.dharmana;
