/**
 * Lossless coding of tensor data that knows floating point: {@link
 * io.dharmana.tensor.codec.FloatCodec} (entered through {@code FloatCodec.create(FloatCodecOptions)})
 * and the {@code float-split} pipeline stage.
 *
 * <h2>Encoded form (format versions 1 and 2)</h2>
 *
 * <pre>
 * byte    format version (1, or 2: Huffman planes and the four-back context exist)
 * byte    layout: 0 byte planes, 1 fp32, 2 bf16, 3 fp16
 * byte    element size in bytes (1..8)
 * varint  data length in bytes
 * varint  chunk size in bytes (a multiple of the element size)
 * per chunk of whole elements:
 *   varint  coded length, then
 *   byte    mode: 0 raw, 1 plane split of the values, 2 byte planes of (value XOR parent),
 *           3 byte planes of zigzag(value - parent) as integers of the element width
 *   planes  (modes 1-3) one after another, each:
 *           byte 0 raw (n bytes follow) | 1 constant (1 byte) | 2 rANS:
 *             byte    context: 0 none, 1 previous symbol of this plane, 2 + j plane j's symbol,
 *                     255 the symbol four back in this plane (format 2)
 *             [varint tables - 1, then one context value per table after the first]
 *             bit-packed frequency tables (12-bit, runs of present symbols, Exp-Golomb deltas)
 *             4 x int32 final rANS states, varint word count, 16-bit words
 *           | 3 Huffman (format 2):
 *             byte    first and last symbol coded, then per symbol between them its code
 *                     length in 4 bits (at most 11; after a 0, Exp-Golomb: how many more are 0)
 *             4 x varint byte lengths of four streams, each coding a quarter of the plane
 *             the streams: canonical codes LSB-first, bit-reversed, zero-padded to a byte
 * bytes   the length % element size trailing bytes, raw
 * </pre>
 *
 * <p>The float split puts, per element: the exponent (8 bits for fp32 and bf16, 5 for fp16); the
 * sign with the top seven mantissa bits; the remaining mantissa bits (fp32: two bytes; fp16: three
 * bits). Byte planes (other dtypes and deltas) are most significant first. Context candidates: the
 * exponent plane may be conditioned on the previous exponent (format 2: the one four back), the
 * other float planes on the element's exponent, each byte plane on the more significant byte of
 * the same element, the first byte plane on the previous byte.
 */
package io.dharmana.tensor.codec;
