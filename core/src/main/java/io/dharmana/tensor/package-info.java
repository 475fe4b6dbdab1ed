/**
 * Tensors and the safetensors format.
 *
 * <p>{@link io.dharmana.tensor.Safetensors#open} validates a file as strictly as the Python/Rust
 * {@code safetensors} library and maps its data in windows; {@link io.dharmana.tensor.SafetensorsWriter}
 * writes the bytes the library writes. {@link io.dharmana.tensor.Tensor} and
 * {@link io.dharmana.tensor.DType} are the types the codecs ({@code tensor.codec},
 * {@code tensor.lossy}) and the compressed file format ({@code tensor.file}) share.
 */
package io.dharmana.tensor;
