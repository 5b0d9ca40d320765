"""Bounded reads of an .npz archive, for every reader of one: the weights file, the .npz
dataset and predict's `--input X.npz`.

numpy's own `np.load` hands back raw bytes for a member that is not a .npy array, takes the
last of two members of one name, and decompresses a member whole before its header is
checked against anything. `NpzArchive` instead:

- lists the members and refuses two of one name (`X` and `X.npy` are one name, as numpy reads them);
- reads nothing but the members asked for (an unused member is never decompressed);
- reads a member's .npy header first (at most 10,000 bytes, numpy's own limit) and checks it:
  a plain numeric or text dtype (never objects: nothing is unpickled), its declared size equal
  to what the zip entry records, only stored or deflated members (what numpy writes), and a
  budget for the whole archive: members expand to at most `expansion_budget(file size)` bytes;
- then decompresses exactly the declared bytes into one preallocated array (zipfile stops at
  the recorded size and checks the CRC at the end).

Every problem is a UserError naming the file and the member.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntrain.errors import UserError

NPY_MAGIC = b"\x93NUMPY"
#: numpy's limit on a .npy header (np.load's max_header_size).
MAX_HEADER_BYTES = 10_000
#: Bytes any archive may expand to, whatever its size.
FREE_BYTES = 64 * 2**20
#: Beyond FREE_BYTES, how many times its own size an archive may expand to. Real arrays
#: deflate 1-10x (MNIST's pixels 5x); a decompression bomb, about 1000x.
MAX_EXPANSION = 32
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_STEP = 1 << 20  # bytes decompressed per read


def expansion_budget(compressed_bytes: int) -> int:
    """The most bytes a compressed file of `compressed_bytes` is allowed to expand to."""
    return max(FREE_BYTES, MAX_EXPANSION * compressed_bytes)


@dataclass(frozen=True)
class MemberHeader:
    """A member's .npy header, checked: what reading it will allocate."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int  # bytes of .npy header before the data
    nbytes: int  # bytes of data the header declares


class NpzArchive:
    """An .npz file opened for bounded reads (see the module docstring); a context manager.

    `keys` are the member names as numpy gives them (`.npy` dropped); `header(key)` checks a
    member without reading its data; `read(key)` returns its array."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = None
        try:
            self._file = open(self.path, "rb")
            self.size = os.fstat(self._file.fileno()).st_size
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except OSError as err:
            self.close()
            raise UserError(f"{self.path}: cannot be read ({err.strerror or err})") from None
        except Exception as err:  # zipfile's errors for a damaged central directory
            self.close()
            raise self.corrupt(err) from None
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            key = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else info.filename
            if key in self._members:
                self.close()
                raise UserError(
                    f"{self.path}: holds two members named '{key}'; numpy would silently take the last one, "
                    f"so the file has been altered or damaged"
                )
            self._members[key] = info
        self._headers: dict[str, MemberHeader] = {}
        self.budget = expansion_budget(self.size)
        self._spent = 0

    @property
    def keys(self) -> list[str]:
        return list(self._members)

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def corrupt(self, err: Exception) -> UserError:
        return UserError(f"{self.path}: not a complete .npz file (truncated or corrupt: {err})")

    def _where(self, key: str) -> str:
        return f"{self.path}: member '{key}'"

    def header(self, key: str) -> MemberHeader:
        """The checked .npy header of member `key` (read, never its data)."""
        if key not in self._headers:
            self._headers[key] = self._read_header(key)
        return self._headers[key]

    def _read_header(self, key: str) -> MemberHeader:
        info = self._members[key]
        self._check_entry(key, info)
        try:
            with self._zip.open(info) as stream:
                head = _read_npy_header(stream, lambda problem: UserError(f"{self._where(key)} {problem}"))
        except UserError:
            raise
        except (OSError, EOFError, RuntimeError, ValueError, zlib.error, zipfile.BadZipFile) as err:
            raise self.corrupt(err) from None
        shape, fortran, dtype, offset = head
        _check_dtype(self._where(key), dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size != offset + nbytes:
            raise UserError(
                f"{self._where(key)} has a header declaring a {dtype} array of shape {shape} ({nbytes:,} bytes) but the "
                f"archive records {max(info.file_size - offset, 0):,} bytes of data; the file is corrupt"
            )
        return MemberHeader(key, shape, dtype, fortran, offset, nbytes)

    def _check_entry(self, key: str, info: zipfile.ZipInfo) -> None:
        """What the zip entry itself records, before a byte of it is decompressed."""
        if info.flag_bits & 0x1:
            raise UserError(f"{self._where(key)} is encrypted; nntrain reads the plain archives numpy writes")
        if info.compress_type not in _METHODS:
            raise UserError(
                f"{self._where(key)} is compressed with zip method {info.compress_type}; nntrain reads stored "
                f"or deflated members (what numpy.savez and numpy.savez_compressed write)"
            )
        if info.header_offset + info.compress_size > self.size or (
            info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
        ):
            raise UserError(f"{self.path}: not a complete .npz file (member '{key}' is cut short: truncated or corrupt)")

    def read(self, key: str) -> np.ndarray:
        """Member `key`'s array, after its header is checked; decompresses exactly its declared bytes."""
        head = self.header(key)
        if self._spent + head.nbytes > self.budget:
            raise UserError(
                f"{self._where(key)} declares {head.nbytes:,} bytes of data ({head.dtype} {head.shape}); with the "
                f"members read before it that is more than nntrain expands a {self.size:,}-byte archive to "
                f"({self.budget:,} bytes: the larger of {FREE_BYTES // 2**20} MiB and {MAX_EXPANSION} times its size); "
                f"a decompression bomb, or save the arrays uncompressed with numpy.savez"
            )
        self._spent += head.nbytes
        try:
            data = np.empty(head.nbytes, dtype=np.uint8)
        except MemoryError:
            raise UserError(f"{self._where(key)} needs {head.nbytes:,} bytes, which do not fit in this process's memory") from None
        try:
            with self._zip.open(self._members[key]) as stream:
                _read_exactly(stream, head.offset, data, self.corrupt)
        except UserError:
            raise
        except (OSError, EOFError, RuntimeError, ValueError, zlib.error, zipfile.BadZipFile) as err:
            raise self.corrupt(err) from None
        if head.dtype.itemsize == 0:
            return np.zeros(head.shape, dtype=head.dtype)
        return data.view(head.dtype).reshape(head.shape, order="F" if head.fortran else "C")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_npy_header(stream, error) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, header length) of the .npy stream, reading only its header;
    `error(problem)` makes the UserError."""
    preamble = stream.read(len(NPY_MAGIC) + 2)
    if len(preamble) < len(NPY_MAGIC) + 2 or not preamble.startswith(NPY_MAGIC):
        raise error("is not a .npy array; save the arrays with numpy.savez")
    major = preamble[len(NPY_MAGIC)]
    if major not in (1, 2):
        raise error(f"uses .npy format version {major}, which nntrain does not read (numpy writes 1 or 2 for plain arrays)")
    size_bytes = stream.read(2 if major == 1 else 4)
    if len(size_bytes) != (2 if major == 1 else 4):
        raise error("has a .npy header cut short; the file is truncated")
    length = struct.unpack("<H" if major == 1 else "<I", size_bytes)[0]
    if length > MAX_HEADER_BYTES:
        raise error(f"has a .npy header too large to load safely ({length:,} bytes; numpy allows {MAX_HEADER_BYTES:,})")
    header = stream.read(length)
    if len(header) != length:
        raise error("has a .npy header cut short; the file is truncated")
    reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    try:
        shape, fortran, dtype = reader(io.BytesIO(size_bytes + header), max_header_size=MAX_HEADER_BYTES)
    except Exception as err:  # numpy's ValueError, or a descr numpy cannot make a dtype of
        raise error(f"has a .npy header that is not valid ({err})") from None
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise error(f"has a .npy header declaring the shape {shape!r}, which is not an array's shape")
    return tuple(shape), bool(fortran), dtype, len(preamble) + len(size_bytes) + length


def _check_dtype(where: str, dtype: np.dtype) -> None:
    """Plain numbers or text: never Python objects (nothing is unpickled), nor records."""
    if dtype.hasobject:
        raise UserError(f"{where} holds pickled Python objects, which nntrain never loads (unsafe); save plain numeric arrays")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biufcUSmM":
        raise UserError(f"{where} holds {dtype} records; save plain numeric arrays")


def _read_exactly(stream, skip: int, data: np.ndarray, corrupt) -> None:
    """Read past the header, then fill `data` from `stream`; the stream must end there."""
    if len(stream.read(skip)) != skip:
        raise corrupt(EOFError("the member ends inside its header"))
    view = memoryview(data)
    done = 0
    while done < len(data):
        chunk = stream.read(min(_STEP, len(data) - done))
        if not chunk:
            raise corrupt(EOFError(f"the member holds {done:,} of its {len(data):,} bytes"))
        view[done : done + len(chunk)] = chunk
        done += len(chunk)
    if stream.read(1):  # also makes zipfile check the CRC
        raise corrupt(ValueError("the member holds more bytes than its header declares"))
