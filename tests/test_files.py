"""Saving never loses what the user had, and loading never believes a broken file."""

import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from tinygrad_edu import nn
from tinygrad_edu.files import ModelFileError


def _model(seed=0):
    return nn.MLP(2, [3, 1], seed=seed)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _temporaries(folder, name):
    return [f for f in os.listdir(folder) if f.startswith(f".{name}.tmp-")]


def test_a_killed_save_leaves_the_old_file_and_a_temporary_the_next_save_removes(tmp_path):
    path = tmp_path / "model.npz"
    _model(0).save(path)
    old = _model(0).state_dict()
    child = textwrap.dedent(f"""
        import os, signal
        from tinygrad_edu.files import atomic_write
        with atomic_write({str(path)!r}) as f:
            f.write(b"half a model")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    assert len(_temporaries(tmp_path, "model.npz")) == 1  # recognisable by name
    fresh = _model(1)
    fresh.load(path)
    assert _same(fresh.state_dict(), old)  # the file the user had is intact
    _model(2).save(path)
    assert _temporaries(tmp_path, "model.npz") == []
    fresh.load(path)
    assert _same(fresh.state_dict(), _model(2).state_dict())


def test_a_temporary_of_a_running_save_is_left_alone(tmp_path):
    path = tmp_path / "model.npz"
    ours = tmp_path / f".model.npz.tmp-{os.getpid()}-abcd"  # this process is alive
    other = tmp_path / ".other.npz.tmp-999999999-abcd"  # another target's: not ours to touch
    ours.write_bytes(b"x")
    other.write_bytes(b"x")
    _model().save(path)
    assert ours.exists() and other.exists()


def test_saving_over_a_private_file_keeps_its_mode(tmp_path):
    path = tmp_path / "model.npz"
    _model(0).save(path)
    os.chmod(path, 0o600)
    _model(1).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_saving_through_a_symlink_replaces_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    _model(0).save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    _model(1).save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    loaded = _model(5)
    loaded.load(target)
    assert _same(loaded.state_dict(), _model(1).state_dict())


def test_saving_over_a_read_only_file_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "model.npz"
    _model(0).save(path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(PermissionError, match=r"model\.npz.*read-only"):
        _model(1).save(path)
    assert path.read_bytes() == before and _temporaries(tmp_path, "model.npz") == []


def test_saving_into_a_missing_folder_names_the_path_given(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere/model\.npz.*does not exist"):
        _model().save(tmp_path / "nowhere" / "model.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        _model().save(tmp_path)


# ---------------------------------------------------------------- broken files


def _npz_bytes(arrays: dict, compressed=False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _load_fails(path, words):
    m = _model(3)
    before = m.state_dict()
    with pytest.raises(ModelFileError, match=words) as err:
        m.load(path)
    assert str(path) in str(err.value)
    assert _same(m.state_dict(), before)  # the model is as it was


def test_every_flipped_bit_is_caught_or_harmless(tmp_path):
    good = tmp_path / "good.npz"
    _model(0).save(good)
    data, saved = good.read_bytes(), _model(0).state_dict()
    rng = np.random.default_rng(0)
    caught = 0
    for k, pos in enumerate(rng.choice(len(data), size=120, replace=False)):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(8))
        path = tmp_path / f"flip{k}.npz"
        path.write_bytes(bytes(flipped))
        m = _model(3)
        try:
            m.load(path)
        except ModelFileError:
            caught += 1
            assert _same(m.state_dict(), _model(3).state_dict())
        else:  # a flip in a field nothing reads (a timestamp): the numbers must be exactly right
            assert _same(m.state_dict(), saved)
    assert caught > 60


def test_an_npy_file_is_named_as_such(tmp_path):
    path = tmp_path / "weights.npz"
    np.save(path.with_suffix(".npy"), np.ones(3))
    os.replace(path.with_suffix(".npy"), path)
    _load_fails(path, r"single \.npy array")


def test_a_header_claiming_terabytes_is_refused_before_reading(tmp_path):
    state = _model(0).state_dict()
    raw = _npz_bytes(state)
    name = next(iter(state)) + ".npy"
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({10**12}, 2), }}".encode()
    header += b" " * (118 - len(header)) + b"\n"
    members[name] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as z:
        for n, content in members.items():
            z.writestr(n, content)
    _load_fails(path, r"claims shape \(1000000000000, 2\)")


def test_a_corrupt_compressed_member(tmp_path):
    raw = bytearray(_npz_bytes(_model(0).state_dict(), compressed=True))
    start = raw.index(b"PK\x03\x04") + 30 + len(next(iter(_model().state_dict()))) + 4 + 20  # inside the first data
    for i in range(start, start + 8):
        raw[i] ^= 0xFF
    path = tmp_path / "zipped.npz"
    path.write_bytes(bytes(raw))
    _load_fails(path, "not a readable .npz model file")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_parameters_holding_nan_or_inf(tmp_path, bad):
    state = _model(0).state_dict()
    key = next(iter(state))
    state[key] = state[key].copy()
    state[key].flat[0] = bad
    path = tmp_path / "nan.npz"
    path.write_bytes(_npz_bytes(state))
    _load_fails(path, "nan or inf")


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "not an .npz"),
        (b"hello world", "not an .npz"),
        (b"PK\x05\x06" + b"\0" * 18, "missing keys"),  # an empty zip
    ],
)
def test_other_garbage(tmp_path, content, words):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    _load_fails(path, words)


def test_a_member_that_is_not_numbers_or_not_npy(tmp_path):
    path = tmp_path / "strings.npz"
    path.write_bytes(_npz_bytes({"layers.0.W": np.array(["a", "b"])}))
    _load_fails(path, "not numbers")
    path = tmp_path / "text.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    _load_fails(path, r"'readme\.txt' is not a \.npy array")


def test_a_file_for_another_model_names_the_file_and_keys(tmp_path):
    path = tmp_path / "other.npz"
    nn.MLP(2, [5, 1], seed=0).save(path)
    _load_fails(path, r"other\.npz.*has shape")
