"""Writing files whole or not at all, and reading saved models with care.

A reader never sees half a model or half a picture: a file is written beside its target
under a temporary name (``.NAME.tmp-PID-XXXX``), flushed, and renamed over it in one
step. A save that was killed leaves only such a temporary, which the next save of the
same target removes. Loading checks a file before it believes it.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np


class ModelFileError(ValueError):
    """A saved model file that cannot be read: not .npz, corrupt, or not holding finite numbers."""


def _temporary_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporaries of ``path`` left by saves whose process is gone (killed mid-write)."""
    folder, prefix = os.path.dirname(path), _temporary_prefix(path)
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*")):
        pid = os.path.basename(tmp)[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def check_writable(path: str | os.PathLike, probe: bool = False) -> tuple[str, int]:
    """Refuse, naming ``path``, what cannot be written: a folder, a path in a missing folder, a read-only file;
    with ``probe=True`` also a folder that refuses new files (no permission, read-only disk, /proc), found by
    creating and removing a temporary there: for checking before long work whose result goes to ``path``.

    Returns the real file to replace (a symlink's target) and the permissions it should get.
    """
    given = os.fspath(path)
    target = os.path.realpath(given)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"cannot write {given!r}: it is a folder")
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise FileNotFoundError(f"cannot write {given!r}: {os.path.dirname(given) or '.'!r} {what}")
    if os.path.exists(target):
        mode = stat.S_IMODE(os.stat(target).st_mode)
        if not mode & 0o222:
            raise PermissionError(f"cannot write {given!r}: the file is read-only (chmod u+w to allow it)")
    else:
        mode = 0o666 & ~_umask()
    if probe:
        fd, tmp = _temporary(given, target)
        os.close(fd)
        os.unlink(tmp)
    return target, mode


def _temporary(given: str, target: str) -> tuple[int, str]:
    """A new temporary file beside ``target``, as (descriptor, path); a folder that refuses it is named."""
    try:
        return tempfile.mkstemp(dir=os.path.dirname(target), prefix=f"{_temporary_prefix(target)}{os.getpid()}-")
    except OSError as e:
        why = f"the folder {os.path.dirname(given) or '.'!r} does not accept new files ({e.strerror})"
        raise type(e)(f"cannot write {given!r}: {why}") from None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file in the same folder as ``path``; when the block ends without error it is
    flushed to disk and renamed over ``path`` (an atomic step), otherwise it is deleted.

    A symlink is written through (its target is replaced); an existing file keeps its permissions;
    a read-only file is refused. The folder must exist and accept new files. Errors name ``path``, never
    the temporary.
    """
    given = os.fspath(path)
    target, mode = check_writable(given)
    _remove_stale_temporaries(target)
    fd, tmp = _temporary(given, target)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.strerror:  # a full disk, a lost mount: say which file it was
            raise type(e)(f"cannot write {given!r}: {e.strerror}") from e
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# What reading a damaged zip raises. A flipped bit can also make a header name a compression method, zip
# version or encryption that zipfile does not support: NotImplementedError, RuntimeError ("... is encrypted").
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, each checked: a zip whose members pass their checksums, each
    member a .npy of real numbers whose header agrees with its size, every number finite.

    Anything else raises ``ModelFileError`` naming the file and what is wrong; a missing file
    raises FileNotFoundError.
    """
    given = os.fspath(path)
    if not os.path.exists(given):
        raise FileNotFoundError(f"no saved model at {given!r}")
    if os.path.isdir(given):
        raise ModelFileError(f"{given!r} is a folder, not a saved model")

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{given!r} is not a readable .npz model file: {what}")

    with open(given, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            raise bad("it is a single .npy array; models are saved as .npz by model.save(path)")
    try:
        with zipfile.ZipFile(given) as z:
            broken = z.testzip()  # reads every member and checks its CRC: flipped bits show here
            if broken is not None:
                raise bad(f"member {broken!r} is corrupt (checksum mismatch)")
            arrays = {}
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    raise bad(f"member {info.filename!r} is not a .npy array")
                with z.open(info) as member:
                    arrays[info.filename[:-4]] = _read_member(member, info, bad)
    except ModelFileError:
        raise
    except _DAMAGED as e:
        raise bad(f"not an .npz (zip) file or a damaged one ({type(e).__name__}: {e})") from None
    return arrays


def _read_member(member, info: zipfile.ZipInfo, bad) -> np.ndarray:
    """One .npy member, its header checked against the bytes that are really there before reading."""
    try:
        version = np.lib.format.read_magic(member)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(member)
    except ValueError as e:
        raise bad(f"member {info.filename!r} has a broken header ({e})") from None
    if dtype.kind not in "biuf":
        raise bad(f"member {info.filename!r} holds {dtype} data, not numbers")
    claimed = math.prod(shape) * dtype.itemsize
    present = info.file_size - member.tell()
    if claimed != present:
        raise bad(f"member {info.filename!r} claims shape {shape} ({claimed:,} bytes) but holds {present:,} bytes")
    data = np.frombuffer(member.read(present), dtype=dtype)
    arr = data.reshape(shape[::-1]).T if fortran else data.reshape(shape)
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise bad(f"{info.filename[:-4]!r} holds nan or inf")
    return arr
