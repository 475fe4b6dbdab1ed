package io.dharmana.dataset.internal;

import java.nio.charset.StandardCharsets;

/**
 * The shard file format, version 1. All integers are big-endian.
 *
 * <pre>
 * header    magic "DHSHARD1" (8 bytes), u32 format version, u32 L, L bytes of UTF-8 JSON
 *           {"stages":[{"name":..,"version":..,"params":{..}}, ..]}: the stage chain of every block
 * blocks    the stored bytes of each block, back to back: the block's samples (their fields
 *           concatenated, samples concatenated) encoded through the stage chain. A sample never
 *           spans two blocks; a sample larger than the block size is a block of its own.
 * table     u32 blockCount, per block: u64 offset, u32 storedLength, u32 rawLength,
 *           u32 CRC32C of the stored bytes;
 *           u32 sampleCount, per sample: u32 block, u32 offset in the decoded block,
 *           u16 key length + UTF-8 key, u16 field count, per field: u16 name length + UTF-8 name,
 *           u32 length; u32 restore length + restore bytes (what unpack needs besides the
 *           fields); u32 CRC32C of the sample's bytes; 32 bytes SHA-256 of the sample's bytes
 * trailer   u64 table offset, u32 table length, u32 CRC32C of the table, magic "DHSHEND1"
 * </pre>
 *
 * <p>Readers read the 24-byte trailer and the table once; afterwards any sample is one
 * positioned read away (of its own bytes when the chain is empty, of its block otherwise). Every
 * read checks a CRC32C (the sample's when read alone, the block's before decoding), so damage is
 * reported naming the shard and the sample; the SHA-256 is checked when unpacking.
 */
public final class ShardFormat {
  static final byte[] MAGIC = "DHSHARD1".getBytes(StandardCharsets.US_ASCII);
  static final byte[] END_MAGIC = "DHSHEND1".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;
  static final int TRAILER_BYTES = 24;
  /** Shard file extension. */
  public static final String EXTENSION = ".dhs";

  private ShardFormat() {}
}
