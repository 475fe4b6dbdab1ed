/**
 * The built-in stages, registered through {@link java.util.ServiceLoader} and created through
 * {@link io.dharmana.stage.Stages} from a {@link io.dharmana.stage.StageSpec}. Only the factories
 * are public, because ServiceLoader needs them so.
 *
 * <table>
 *   <caption>Built-in stages, format version 1</caption>
 *   <tr><th>name</th><th>parameters (default)</th><th>encoded format</th><th>detects corruption</th></tr>
 *   <tr><td>{@code zstd}</td><td>{@code level}: 1..22 or -7..-1 (3)</td>
 *       <td>one standard zstd frame with content size and content checksum</td><td>yes</td></tr>
 *   <tr><td>{@code lz4}</td><td>{@code mode}: fast, high (fast)</td>
 *       <td>original length (4 bytes LE), one LZ4 block</td><td>no</td></tr>
 *   <tr><td>{@code byte-planes}</td><td>{@code width}: 1..16 (4)</td>
 *       <td>plane i = byte i of every value, planes in order, then the tail of {@code length % width}
 *       bytes; same length as the input</td><td>no</td></tr>
 *   <tr><td>{@code checksum}</td><td>{@code algorithm}: crc32c, sha256 (crc32c)</td>
 *       <td>the input, then its masked CRC-32C (4 bytes LE) or SHA-256 (32 bytes)</td><td>yes</td></tr>
 *   <tr><td>{@code aes-gcm}</td><td>exactly one of {@code key-env}, {@code key-file}; {@code key-id}
 *       (recorded by the stage)</td>
 *       <td>version byte 1, 12-byte synthetic IV, then 16 KiB GCM segments each followed by its
 *       16-byte tag</td><td>yes</td></tr>
 * </table>
 *
 * <p>Every stage records all its parameters in {@link io.dharmana.stage.Stage#spec()}, defaults
 * included, so that a change of default never changes how old data is read. None is lossy. Every
 * stage is safe for concurrent use; per-thread state (zstd contexts, ciphers, MACs, scratch
 * arrays) lives in thread locals. Decoding never allocates more than the encoded bytes could
 * hold (and never more than 1 GiB), so a damaged length field fails fast with {@link
 * io.dharmana.CorruptDataException}.
 *
 * <p>A typical float pipeline is {@code byte-planes → zstd → checksum → aes-gcm}; put {@code
 * checksum} after {@code lz4} or {@code byte-planes} when corruption must be detected at the
 * stage level rather than by the chunk hash alone.
 */
package io.dharmana.stage.builtin;
