/**
 * The built-in stages, registered through {@link java.util.ServiceLoader}: {@code zstd}, {@code
 * lz4}, {@code byte-planes}, {@code checksum} and {@code aes-gcm}. Only the factories are public
 * (ServiceLoader needs them so); create stages through {@link io.dharmana.stage.Stages}.
 */
package io.dharmana.stage.builtin;
