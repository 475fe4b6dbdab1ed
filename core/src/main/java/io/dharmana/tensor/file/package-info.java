/**
 * The {@code .dhz} compressed tensor file: a safetensors file's header kept verbatim, each tensor
 * coded on its own (lossless float coding, zstd, or opt-in int8/fp8 quantization, optionally
 * against a parent checkpoint) and indexed so one tensor can be read without decoding the rest.
 * Entered through {@link io.dharmana.tensor.file.TensorFileWriter#compress} and
 * {@link io.dharmana.tensor.file.TensorFileReader#open}.
 */
package io.dharmana.tensor.file;
