/**
 * Opt-in lossy coding with measured error: blockwise int8 and fp8 E4M3 quantization
 * ({@link io.dharmana.tensor.lossy.BlockQuantizer}, the {@code quantize} stage), sparsified
 * gradients ({@link io.dharmana.tensor.lossy.GradientCodec}) and
 * {@link io.dharmana.tensor.lossy.ErrorReport}s that say how far the result is from the original.
 */
package io.dharmana.tensor.lossy;
