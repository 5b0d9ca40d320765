"""Decompression bombs for the tests: small files that expand to gigabytes.

A deflate stream of zeros is built from one compressed 1 MiB block repeated (each block
ends with a full flush, so every copy decodes alike): a 2 GiB member costs a few MB and a
fraction of a second. The CRCs are not those of the data: a reader that checks headers first
never gets that far, and one that decompresses first has already spent the memory.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

BLOCK = 1 << 20


def deflated(prefix: bytes, zeros: int) -> bytes:
    """Raw deflate data of `prefix` followed by `zeros` zero bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)]
    blocks, rest = divmod(zeros, BLOCK)
    if blocks:
        out.append((packer.compress(bytes(BLOCK)) + packer.flush(zlib.Z_FULL_FLUSH)) * blocks)
    out.append(packer.compress(bytes(rest)) + packer.flush())
    return b"".join(out)


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A version 1.0 .npy header for an array of `shape` and `descr`."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def zip_archive(members: list[tuple]) -> bytes:
    """A zip of (name, deflated data, uncompressed size[, crc]) members, each DEFLATED (sizes < 4 GiB)."""
    local, central = [], []
    offset = 0
    for name, data, size, *crc in members:
        raw = name.encode()
        fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0, (crc or [0])[0], len(data), size, len(raw), 0)
        record = b"PK\x03\x04" + fields + raw + data
        central.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, offset) + raw)
        local.append(record)
        offset += len(record)
    directory = b"".join(central)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end


def npy_member(name: str, array: np.ndarray) -> tuple[str, bytes, int]:
    """A real (small) array as a deflated zip member."""
    buf = npy_header(array.shape, array.dtype.str) + np.ascontiguousarray(array).tobytes()
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return f"{name}.npy", packer.compress(buf) + packer.flush(), len(buf), zlib.crc32(buf)


def zeros_member(name: str, shape: tuple[int, ...], descr: str = "<f8") -> tuple[str, bytes, int]:
    """A member declaring `shape`, all zeros, deflated: 8 bytes per element expand from about 1/1000 of that."""
    header = npy_header(shape, descr)
    n = int(np.prod(shape)) * np.dtype(descr).itemsize
    return f"{name}.npy", deflated(header, n), len(header) + n


def gzip_file(data_prefix: bytes, zeros: int) -> bytes:
    """A gzip file of `data_prefix` then `zeros` zero bytes."""
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return head + deflated(data_prefix, zeros) + struct.pack("<II", 0, (len(data_prefix) + zeros) % 2**32)


def idx_header(dims: tuple[int, ...], code: int = 0x08) -> bytes:
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
