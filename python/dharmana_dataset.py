"""Read datasets packed by ``dharmana dataset pack`` from Python training code.

One file, the standard library and, as the dataset's stages need them, ``zstandard``
(``python3-zstandard``), ``lz4`` (``python3-lz4``) and ``boto3`` for ``s3://`` datasets.
CRC-32C comes from ``crc32c`` (``python3-crc32c``, ~500 MB/s here) or ``crcmod``
(``python3-crcmod``, ~190 MB/s) when installed, else from a slow pure-Python table, with a warning.

    import dharmana_dataset as dd

    ds = dd.Dataset("packed/")                   # or "s3://bucket/prefix", endpoint_url=...
    for sample in ds.samples(shuffle=7, epoch=0, rank=0, world_size=1):
        image = sample.fields["file"]            # bytes; "json" for a JSON Lines line,
        ...                                      # one per extension for WebDataset tars
    sample = ds[12]                              # random access, e.g. for a map-style dataset

An ``s3://`` dataset holds a boto3 client, which must not cross a fork: with worker processes
(PyTorch's ``num_workers`` > 0), open the ``Dataset`` in each worker. A directory is read with a
fresh file handle per read, so a ``Dataset`` of one forks safely.

Every block is checked against its CRC-32C before decoding, every sample's bytes against
theirs; damage raises ``CorruptShardError`` naming the shard and the sample. The shard format
is described in the Java class ``io.dharmana.dataset.internal.ShardFormat``.

Run as a command it checks a dataset and prints what it holds:
``python3 dharmana_dataset.py DATASET [--endpoint-url URL] [--json]``.
"""

import bisect
import hashlib
import json
import os
import random
import struct
import sys
import warnings
from collections import OrderedDict, namedtuple

__all__ = ["Dataset", "Sample", "CorruptShardError", "UnsupportedStageError"]

_MAGIC = b"DHSHARD1"
_END_MAGIC = b"DHSHEND1"
_TRAILER_BYTES = 24
_FORMAT_VERSION = 1


class CorruptShardError(Exception):
    """A shard's bytes fail verification or do not parse."""


class UnsupportedStageError(Exception):
    """The dataset was packed through a stage this reader cannot decode."""


Sample = namedtuple("Sample", ["index", "key", "fields"])
Sample.__doc__ = """One sample: its position in the dataset, its key (a relative path, a tar key,
or ``file.jsonl#line``) and its fields (name to bytes, in stored order)."""


# ---------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), as java.util.zip.CRC32C computes it


def _crc32c_function(choice):
    """CRC-32C from the fastest module installed; ``choice`` (DHARMANA_CRC32C) names one instead."""
    if choice in ("", "crc32c"):
        try:
            import crc32c as _c  # the "crc32c" package

            return _c.crc32c
        except ImportError:
            if choice:
                raise
    if choice in ("", "crcmod"):
        try:
            import crcmod.predefined

            return crcmod.predefined.mkPredefinedCrcFun("crc-32c")
        except ImportError:
            if choice:
                raise
    if choice not in ("", "python"):
        raise ValueError("Invalid DHARMANA_CRC32C %r: use crc32c, crcmod or python" % choice)
    if not choice:
        warnings.warn("dharmana_dataset: no C implementation of CRC-32C (install python3-crc32c);"
                      " checking shards in pure Python is slow")
    return _crc32c_pure


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = None


def _crc32c_pure(data):
    global _TABLE
    if _TABLE is None:
        _TABLE = _crc32c_table()
    table = _TABLE
    crc = 0xFFFFFFFF
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_crc32c = _crc32c_function(os.environ.get("DHARMANA_CRC32C", ""))


# ---------------------------------------------------------------------------------------------
# Stages: each decodes what the Java stage of the same name and version encoded


def _zstd_decoder(params):
    try:
        import zstandard
    except ImportError:
        raise UnsupportedStageError("stage zstd needs the zstandard module (apt-get install python3-zstandard"
                                    " or pip install zstandard)") from None
    decompressor = zstandard.ZstdDecompressor()

    def decode(data):
        try:
            # the Java stage records the content size in every frame, and its checksum
            return decompressor.decompress(data)
        except zstandard.ZstdError as e:
            raise CorruptShardError("zstd frame of %d bytes did not decode: %s" % (len(data), e)) from None

    return decode


def _lz4_decoder(params):
    try:
        import lz4.block
    except ImportError:
        raise UnsupportedStageError("stage lz4 needs the lz4 module (apt-get install python3-lz4 or pip install lz4)") from None

    def decode(data):
        # the original length, 4 bytes little-endian, then one LZ4 block
        if len(data) < 5:
            raise CorruptShardError("lz4 block of %d bytes is too short" % len(data))
        (length,) = struct.unpack_from("<I", data, 0)
        if length > 255 * (len(data) - 4):
            raise CorruptShardError("lz4 block of %d bytes claims %d bytes" % (len(data), length))
        try:
            return lz4.block.decompress(bytes(data[4:]), uncompressed_size=length)
        except lz4.block.LZ4BlockError as e:
            raise CorruptShardError("lz4 block of %d bytes did not decode: %s" % (len(data), e)) from None

    return decode


def _checksum_decoder(params):
    algorithm = params.get("algorithm", "crc32c")
    if algorithm not in ("crc32c", "sha256"):
        raise UnsupportedStageError("stage checksum with algorithm %r is not known (crc32c or sha256)" % algorithm)

    def decode(data):
        if algorithm == "sha256":
            body, stored = data[:-32], bytes(data[-32:])
            ok = len(data) >= 32 and hashlib.sha256(body).digest() == stored
        else:
            body = data[:-4]
            crc = _crc32c(body)
            # LevelDB's mask: rotated right by 15 bits, plus a constant
            masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
            ok = len(data) >= 4 and struct.unpack_from("<I", data, len(data) - 4)[0] == masked
        if not ok:
            raise CorruptShardError("a block failed its %s checksum" % algorithm)
        return body

    return decode


def _byte_planes_decoder(params):
    width = int(params.get("width", 4))

    def decode(data):
        # byte i of every value was moved to plane i; a tail shorter than the width follows as is
        n = len(data)
        values = n // width
        out = bytearray(n)
        for i in range(width):
            out[i:values * width:width] = data[i * values:(i + 1) * values]
        out[values * width:] = data[values * width:]
        return bytes(out)

    return decode


_DECODERS = {
    ("zstd", 1): _zstd_decoder,
    ("lz4", 1): _lz4_decoder,
    ("checksum", 1): _checksum_decoder,
    ("byte-planes", 1): _byte_planes_decoder,
}


def _stage_chain(stages):
    """A function decoding a block through ``stages`` (as recorded in a shard header), last first."""
    decoders = []
    for stage in stages:
        key = (stage.get("name"), int(stage.get("version", 1)))
        make = _DECODERS.get(key)
        if make is None:
            raise UnsupportedStageError(
                "stage %s (version %s) cannot be read from Python; readable: %s. Repack with e.g."
                " 'dharmana dataset pack ... --stage zstd:level=3', or read it with the Java DataLoader"
                % (key[0], key[1], ", ".join(sorted(name for name, _ in _DECODERS))))
        decoders.append(make(stage.get("params") or {}))
    decoders.reverse()

    def decode(data):
        for d in decoders:
            data = d(data)
        return data

    return decode


# ---------------------------------------------------------------------------------------------
# Where the bytes are: a directory, or an S3 prefix read with ranged GETs


class _Directory:
    def __init__(self, root):
        self.root = root

    def describe(self, key):
        return os.path.join(self.root, key)

    def read_all(self, key):
        with open(os.path.join(self.root, key), "rb") as f:
            return f.read()

    def length(self, key):
        return os.path.getsize(os.path.join(self.root, key))

    def read(self, key, offset, length):
        with open(os.path.join(self.root, key), "rb") as f:
            data = os.pread(f.fileno(), length, offset)
        if len(data) != length:
            raise CorruptShardError("%s ends before byte %d (truncated?)" % (self.describe(key), offset + length))
        return data


class _S3Prefix:
    def __init__(self, url, endpoint_url, client):
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError("Invalid dataset location %r: s3://BUCKET/PREFIX expected" % url)
        self.bucket = bucket
        self.prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client

    def describe(self, key):
        return "s3://%s/%s%s" % (self.bucket, self.prefix, key)

    def read_all(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def length(self, key):
        return self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)["ContentLength"]

    def read(self, key, offset, length):
        if length == 0:
            return b""
        r = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key,
                                   Range="bytes=%d-%d" % (offset, offset + length - 1))
        data = r["Body"].read()
        if len(data) != length:
            raise CorruptShardError("%s ends before byte %d (truncated?)" % (self.describe(key), offset + length))
        return data


# ---------------------------------------------------------------------------------------------
# Shards


class _Shard:
    """One shard's table, read once; samples are read by position."""

    def __init__(self, source, key, first_sample):
        self.source = source
        self.key = key
        self.name = source.describe(key)
        self.first_sample = first_sample
        length = source.length(key)
        if length < _TRAILER_BYTES + 16:
            raise self._corrupt("%d bytes is too short to be a shard" % length)
        table_offset, table_length, table_crc, end = struct.unpack(">qII8s", source.read(key, length - _TRAILER_BYTES, _TRAILER_BYTES))
        if end != _END_MAGIC:
            raise self._corrupt("no end marker (truncated or not a shard)")
        if table_offset < 0 or table_length < 8 or table_offset + table_length != length - _TRAILER_BYTES:
            raise self._corrupt("table at %d of %d bytes is out of bounds" % (table_offset, table_length))
        table = source.read(key, table_offset, table_length)
        if _crc32c(table) != table_crc:
            raise self._corrupt("its sample table failed CRC32C verification")
        magic, version, header_length = struct.unpack(">8sII", source.read(key, 0, 16))
        if magic != _MAGIC:
            raise self._corrupt("bad magic (not a Dharmana shard)")
        if version != _FORMAT_VERSION:
            raise self._corrupt("format version %d is not readable (this reader reads %d)" % (version, _FORMAT_VERSION))
        if header_length > table_offset:
            raise self._corrupt("header length %d is out of bounds" % header_length)
        try:
            header = json.loads(source.read(key, 16, header_length))
        except ValueError as e:
            raise self._corrupt("its header is not JSON: %s" % e) from None
        self.stages = header.get("stages") or []
        self.decode = _stage_chain(self.stages)
        try:
            self._parse_table(table, length)
        except struct.error:
            raise self._corrupt("its sample table ends early") from None
        self._blocks = OrderedDict()  # the last few decoded blocks

    def _parse_table(self, table, length):
        pos = 0

        def take(fmt):
            nonlocal pos
            values = struct.unpack_from(fmt, table, pos)
            pos += struct.calcsize(fmt)
            return values

        def text():
            nonlocal pos
            (n,) = take(">H")
            if pos + n > len(table):
                raise struct.error("short")
            s = table[pos:pos + n].decode("utf-8")
            pos += n
            return s

        (blocks,) = take(">I")
        self.blocks = []
        for b in range(blocks):
            offset, stored, raw, crc = take(">qIII")
            if offset < 0 or offset + stored > length:
                raise self._corrupt("block %d lies outside the file" % b)
            self.blocks.append((offset, stored, raw, crc))
        (count,) = take(">I")
        self.samples = []
        for s in range(count):
            block, offset = take(">II")
            key = text()
            (nfields,) = take(">H")
            fields = []
            for _ in range(nfields):
                name = text()
                (flen,) = take(">I")
                fields.append((name, flen))
            (restore,) = take(">I")
            pos += restore  # what unpacking needs besides the fields (a line terminator, tar headers)
            crc, sha = take(">I32s")
            total = sum(f[1] for f in fields)
            if block >= blocks or offset + total > self.blocks[block][2]:
                raise self._corrupt("sample %d (%s) lies outside its block" % (s, key))
            self.samples.append((block, offset, key, fields, crc, sha))

    def _corrupt(self, what):
        return CorruptShardError("Cannot read shard %s: %s" % (self.name, what))

    def __len__(self):
        return len(self.samples)

    def _block(self, b, sample_name):
        cached = self._blocks.get(b)
        if cached is not None:
            self._blocks.move_to_end(b)
            return cached
        offset, stored, raw, crc = self.blocks[b]
        data = self.source.read(self.key, offset, stored)
        if _crc32c(data) != crc:
            raise self._corrupt("%s: block %d failed CRC32C verification" % (sample_name, b))
        if self.stages:
            try:
                data = self.decode(data)
            except CorruptShardError as e:
                raise self._corrupt("%s: block %d did not decode: %s" % (sample_name, b, e)) from None
        if len(data) != raw:
            raise self._corrupt("%s: block %d decoded to %d bytes, expected %d" % (sample_name, b, len(data), raw))
        self._blocks[b] = data
        if len(self._blocks) > 4:
            self._blocks.popitem(last=False)
        return data

    def sample(self, s):
        block, offset, key, fields, crc, _ = self.samples[s]
        index = self.first_sample + s
        sample_name = "sample %d (%s)" % (index, key)
        total = sum(f[1] for f in fields)
        if self.stages:
            data = memoryview(self._block(block, sample_name))[offset:offset + total]
        else:
            data = memoryview(self.source.read(self.key, self.blocks[block][0] + offset, total))
        if _crc32c(data) != crc:
            raise self._corrupt("%s: its bytes failed CRC32C verification" % sample_name)
        out = OrderedDict()
        pos = 0
        for name, flen in fields:
            out[name] = bytes(data[pos:pos + flen])
            pos += flen
        return Sample(index, key, out)

    def sha256(self, s):
        return self.samples[s][5].hex()


# ---------------------------------------------------------------------------------------------
# Datasets


class Dataset:
    """A packed dataset: ``index.json`` and its shards, in a directory or under an S3 prefix.

    ``location`` is a directory or ``s3://bucket/prefix``; for S3, ``endpoint_url`` names an
    S3-compatible endpoint (e.g. ``dharmana serve``), or pass a configured boto3 ``s3_client``.
    Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``, ``~/.aws``, ...).
    """

    def __init__(self, location, endpoint_url=None, s3_client=None, open_shards=8):
        location = os.fspath(location)
        self.location = location
        self.source = _S3Prefix(location, endpoint_url, s3_client) if location.startswith("s3://") else _Directory(location)
        try:
            raw = self.source.read_all("index.json")
        except (OSError, IOError) as e:
            raise FileNotFoundError("Cannot open dataset %s: no index.json there (%s); pack one with"
                                    " 'dharmana dataset pack'" % (location, e)) from None
        except Exception as e:  # botocore's ClientError, without importing botocore for a directory
            raise FileNotFoundError("Cannot open dataset %s: cannot read index.json: %s" % (location, e)) from None
        try:
            index = json.loads(raw)
        except ValueError as e:
            raise CorruptShardError("Cannot open dataset %s: index.json is not JSON: %s" % (location, e)) from None
        if index.get("format") != "dharmana-dataset":
            raise CorruptShardError("Cannot open dataset %s: index.json is not a Dharmana dataset index" % location)
        if index.get("version") != 1:
            raise CorruptShardError("Cannot open dataset %s: index version %r is not readable (this reader reads 1)"
                                    % (location, index.get("version")))
        self.index = index
        self.stages = index.get("stages") or []
        _stage_chain(self.stages)  # fail now, not at the first sample, on a stage Python cannot decode
        self.shard_infos = index["shards"]
        self._firsts = [s["firstSample"] for s in self.shard_infos]
        self._open = OrderedDict()
        self._open_shards = max(1, open_shards)

    def __len__(self):
        return int(self.index["samples"])

    def __repr__(self):
        return "Dataset(%r: %d samples in %d shards)" % (self.location, len(self), len(self.shard_infos))

    def _shard(self, i):
        shard = self._open.get(i)
        if shard is None:
            info = self.shard_infos[i]
            shard = _Shard(self.source, info["key"], info["firstSample"])
            if len(shard) != info["samples"]:
                raise CorruptShardError("Cannot read shard %s: it holds %d samples, index.json says %d"
                                        % (shard.name, len(shard), info["samples"]))
            self._open[i] = shard
            if len(self._open) > self._open_shards:
                self._open.popitem(last=False)
        else:
            self._open.move_to_end(i)
        return shard

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("sample %d is out of range: the dataset has %d" % (index, len(self)))
        i = bisect.bisect_right(self._firsts, index) - 1
        return self._shard(i).sample(index - self._firsts[i])

    def __iter__(self):
        return self.samples()

    def samples(self, shuffle=None, epoch=0, rank=0, world_size=1):
        """Iterates over samples: in stored order, or shuffled by ``shuffle`` (a seed) and ``epoch``.

        With ``world_size`` > 1, rank ``rank`` reads every ``world_size``-th shard, as WebDataset
        splits by node. Shuffling permutes the shards and the samples within each shard, so reads
        stay sequential within a shard; it is repeatable but not the Java ``DataLoader``'s order.
        """
        if not 0 <= rank < world_size:
            raise ValueError("Invalid rank %d of %d: must be in 0..%d" % (rank, world_size, world_size - 1))
        order = list(range(len(self.shard_infos)))
        rng = None
        if shuffle is not None:
            rng = random.Random("%s/%s" % (shuffle, epoch))
            rng.shuffle(order)
        for i in order[rank::world_size]:
            shard = self._shard(i)
            positions = list(range(len(shard)))
            if rng is not None:
                rng.shuffle(positions)
            for s in positions:
                yield shard.sample(s)

    def verify(self, each=None):
        """Reads every sample and checks its SHA-256 as well as its CRC-32C; returns the count.

        ``each(sample, sha256_hex)``, when given, sees every sample once it has passed.
        """
        n = 0
        for i in range(len(self.shard_infos)):
            shard = self._shard(i)
            for s in range(len(shard)):
                sample = shard.sample(s)
                digest = hashlib.sha256(b"".join(sample.fields.values())).hexdigest()
                if digest != shard.sha256(s):
                    raise shard._corrupt("sample %d (%s): its bytes failed SHA-256 verification" % (sample.index, sample.key))
                if each is not None:
                    each(sample, digest)
                n += 1
        return n


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser(
        prog="dharmana_dataset.py",
        description="Check a dataset packed by 'dharmana dataset pack' (every sample's CRC-32C and SHA-256)"
                    " and print what it holds.")
    parser.add_argument("dataset", help="a directory or s3://bucket/prefix holding index.json")
    parser.add_argument("--endpoint-url", help="an S3-compatible endpoint, e.g. http://127.0.0.1:9000")
    parser.add_argument("--json", action="store_true", help="print JSON: samples, bytes, shards, stages, and per sample key and SHA-256")
    args = parser.parse_args(argv)
    try:
        ds = Dataset(args.dataset, endpoint_url=args.endpoint_url)
        if args.json:
            samples = []
            count = ds.verify(lambda sample, digest: samples.append(
                {"index": sample.index, "key": sample.key, "fields": list(sample.fields), "sha256": digest}))
            print(json.dumps({"samples": count, "bytes": ds.index["bytes"], "shards": len(ds.shard_infos),
                              "stages": [s["name"] for s in ds.stages], "verified": True, "items": samples}))
        else:
            count = ds.verify()
            print("%s: %d samples, %d bytes in %d shards, stages %s: every sample verified"
                  % (args.dataset, count, ds.index["bytes"], len(ds.shard_infos),
                     ", ".join(s["name"] for s in ds.stages) or "none"))
    except FileNotFoundError as e:
        print("dharmana_dataset: %s" % e, file=sys.stderr)
        return 3
    except UnsupportedStageError as e:
        print("dharmana_dataset: %s" % e, file=sys.stderr)
        return 2
    except CorruptShardError as e:
        print("dharmana_dataset: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
