"""File loaders: CSV, .npz, .npy and IDX folders, and their error messages."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from nntrain.data.builtin import BUILTIN_DATASETS
from nntrain.data.prepare import prepare
from nntrain.data.source import load_dataset
from nntrain.errors import UserError
from nntrain.data.source import read_file
from nntrain.data.table import ReadOptions
from nntrain.data.formats.idx import read as load_idx_folder, read_idx
from nntrain.data.formats.npy import read as load_npy
from nntrain.data.formats.npz import read as load_npz



def load_raw(name, base_dir=None, target=None):
    return load_dataset(name, base_dir, ReadOptions(target=target)).raw


def load_csv(path, target=None, missing="error", **options):
    return read_file(Path(path), ReadOptions(target=target, **options), missing)


def load_file(path, target=None):
    return read_file(Path(path), ReadOptions(target=target))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def user_error(func, *args) -> str:
    with pytest.raises(UserError) as info:
        func(*args)
    return info.value.message


# -- CSV ------------------------------------------------------------------------------


def test_csv_numeric_features_and_text_labels(tmp_path):
    path = write(tmp_path / "pets.csv", "weight,height,kind\n4.5,30,Cat\n20,60,dog\n5,31, Cat\n")
    raw = load_csv(path)
    np.testing.assert_array_equal(raw.X, [[4.5, 30], [20, 60], [5, 31]])
    assert raw.feature_names == ["weight", "height"]
    assert raw.target_names == ["kind"]
    assert raw.y.tolist() == ["Cat", "dog", "Cat"]
    assert raw.classes == ["Cat", "dog"]  # original spelling, sorted


def test_csv_target_column_by_name_and_whole_numbers_become_ints(tmp_path):
    path = write(tmp_path / "d.csv", "label,a,b\n1,0.5,2\n0,1.5,3\n\n1,2.5,4\n")
    raw = load_csv(path, target="label")
    assert raw.feature_names == ["a", "b"]
    assert raw.y.dtype.kind == "i" and raw.y.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(raw.X[:, 0], [0.5, 1.5, 2.5])


def test_csv_real_valued_target_stays_float(tmp_path):
    raw = load_csv(write(tmp_path / "r.csv", "x,y\n1,0.25\n2,0.5\n"))
    assert raw.y.dtype.kind == "f" and raw.classes is None


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("a,b,y\n1,2,0\n3,,1\n", ["line 3", "column 'b'", "missing value"]),
        ("a,b,y\n1,2,0\n3,NA,1\n", ["line 3", "column 'b'", "missing value"]),
        ("a,b,y\n1,2,0\n3,4\n", ["line 3", "2 value(s)", "3 column(s)"]),
        ("a,b,y\n1,2,0\n1,2,0\n3,x7,1\n", ["line 4", "column 'b'", "'x7' is not a number"]),
        ("a,b,y\n1,inf,0\n", ["line 2", "column 'b'", "not a finite number"]),
        ("", ["the file is empty"]),
        ("a,b,y\n", ["no data rows"]),
        ("a,a,y\n1,2,0\n", ["'a' appears twice"]),
    ],
)
def test_csv_errors_name_the_row_and_column(tmp_path, text, fragments):
    path = write(tmp_path / "bad.csv", text)
    message = user_error(load_csv, path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_csv_unknown_target_lists_the_columns(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,0\n")
    message = user_error(load_csv, path, "label")
    assert "no column 'label'" in message and "a, b, y" in message


def test_csv_reports_every_bad_feature_column(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,y\n1,x,0\n,2,1\n")
    lines = user_error(load_csv, path).splitlines()
    assert len(lines) == 2 and "column 'a'" in lines[0] and "column 'b'" in lines[1]


# -- .npz / .npy ------------------------------------------------------------------------


def test_npz_round_trip(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0.0, 1.0, 1.0, 0.0]))
    raw = load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(raw.X, X)
    assert raw.y.tolist() == [0, 1, 1, 0] and len(raw.feature_names) == 3


def test_npz_missing_key_is_named(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), labels=np.zeros(2))
    message = user_error(load_npz, tmp_path / "d.npz")
    assert "'y'" in message and "labels" in message


def test_npz_pickled_objects_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([[1, 2]], dtype=object), y=np.array([0]))
    assert "pickled" in user_error(load_npz, tmp_path / "d.npz")


INVALID_DEFLATE_BLOCK = 0x07  # BFINAL=1, BTYPE=11: a block type deflate reserves, so zlib refuses it


def test_npz_with_a_corrupt_compressed_array_is_a_user_error(tmp_path):
    path = tmp_path / "d.npz"
    np.savez_compressed(path, X=np.arange(600.0).reshape(100, 6), y=np.arange(100.0))
    blob = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", bytes(blob[26:30]))  # the first member's local file header
    blob[30 + name_len + extra_len] = INVALID_DEFLATE_BLOCK
    path.write_bytes(bytes(blob))
    assert "corrupt" in user_error(load_npz, path)


def test_npz_rows_must_match(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.zeros(2))
    assert "3 rows but y has 2" in user_error(load_npz, tmp_path / "d.npz")


def test_npy_last_column_is_the_target(tmp_path):
    np.save(tmp_path / "d.npy", np.array([[0.5, 1.0, 2.0], [1.5, 2.0, 0.0]]))
    raw = load_npy(tmp_path / "d.npy")
    np.testing.assert_array_equal(raw.X, [[0.5, 1.0], [1.5, 2.0]])
    assert raw.y.tolist() == [2, 0]


def test_unknown_suffix_and_target_on_non_csv(tmp_path):
    assert "unknown data file type '.txt'" in user_error(load_file, write(tmp_path / "d.txt", "1"))
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), y=np.zeros(2))
    assert "applies to files with named columns (.csv, .tsv, .parquet) only, not to a .npz file" in user_error(
        load_file, tmp_path / "d.npz", "label"
    )


# -- IDX ------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    """The IDX layout by hand: 0, 0, type code 0x08 (ubyte), ndim, big-endian uint32 dims, data."""
    blob = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    blob += array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)


def mnist_folder(tmp_path: Path, gz: bool, with_test: bool) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 3, 2)),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 0, 1, 2]),
    }
    if with_test:
        parts["t10k-images-idx3-ubyte"] = rng.integers(0, 256, (3, 3, 2))
        parts["t10k-labels-idx1-ubyte"] = np.array([2, 1, 0])
    for name, array in parts.items():
        write_idx(folder / name, array, gz)
    return folder, parts


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_with_test_files(tmp_path, gz):
    folder, parts = mnist_folder(tmp_path, gz, with_test=True)
    raw = load_idx_folder(folder)
    images = np.concatenate([parts["train-images-idx3-ubyte"], parts["t10k-images-idx3-ubyte"]])
    # byte pixels as they are; the /255 travels as the input scale, into the saved preprocessing
    assert raw.X.dtype == np.uint8 and raw.input_scale == 255.0
    np.testing.assert_array_equal(raw.X, images.reshape(9, 6))
    assert raw.y.tolist() == [0, 1, 2, 0, 1, 2, 2, 1, 0]
    assert raw.fixed_test.tolist() == [6, 7, 8]
    assert raw.feature_names[:3] == ["pixel_0_0", "pixel_0_1", "pixel_1_0"]
    dataset = prepare(raw, 3, np.random.default_rng(0))
    assert dataset.train.X.min() >= 0 and dataset.train.X.max() <= 1
    np.testing.assert_allclose(dataset.test.X, images[6:].reshape(3, 6) / 255.0, rtol=1e-6)


def test_idx_folder_without_test_files_has_no_fixed_split(tmp_path):
    folder, _ = mnist_folder(tmp_path, gz=False, with_test=False)
    raw = load_idx_folder(folder)
    assert raw.X.shape == (6, 6) and raw.fixed_test is None


def test_idx_bad_magic_and_truncation(tmp_path):
    (tmp_path / "x").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    assert "bad magic number" in user_error(read_idx, tmp_path / "x")
    write_idx(tmp_path / "y", np.arange(10))
    (tmp_path / "y").write_bytes((tmp_path / "y").read_bytes()[:-3])
    assert "truncated" in user_error(read_idx, tmp_path / "y")


def test_idx_gz_with_a_corrupt_deflate_stream_is_a_user_error(tmp_path):
    write_idx(tmp_path / "x", np.arange(50), gz=True)
    blob = bytearray((tmp_path / "x.gz").read_bytes())
    blob[10] = INVALID_DEFLATE_BLOCK  # the first byte after the 10-byte gzip header
    (tmp_path / "x.gz").write_bytes(bytes(blob))
    message = user_error(read_idx, tmp_path / "x.gz")
    assert "x.gz" in message and "corrupt" in message


def test_idx_label_count_must_match(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((4, 2, 2)))
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(3))
    assert "4 images" in user_error(load_idx_folder, folder)


def test_empty_folder_is_not_a_dataset(tmp_path):
    assert "train-images-idx3-ubyte" in user_error(load_idx_folder, tmp_path)


# -- built-ins and path resolution ----------------------------------------------------------


def test_digits_builtin():
    raw = BUILTIN_DATASETS["digits"]()
    assert raw.X.shape == (1797, 64) and raw.y.shape == (1797,)
    assert raw.X.min() == 0 and raw.X.max() == 16
    assert raw.classes == list(range(10))
    assert np.all(np.bincount(raw.y) >= 170)  # every digit is well represented
    assert raw.feature_names[9] == "pixel_1_1"


def test_relative_path_falls_back_to_the_config_folder(tmp_path, monkeypatch):
    config_dir = tmp_path / "configs"
    (config_dir / "data").mkdir(parents=True)
    write(config_dir / "data" / "d.csv", "a,y\n1,0\n2,1\n")
    monkeypatch.chdir(tmp_path)
    assert load_raw("data/d.csv", config_dir).X.shape == (2, 1)
    message = user_error(load_raw, "data/missing.csv", config_dir)
    assert "not a built-in dataset" in message and "digits" in message


def test_digits_loads_without_scikit_learn():
    import subprocess
    import sys

    from conftest import REPO

    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # any import of sklearn now fails
        "from nntrain.data.source import load_dataset; raw = load_dataset('digits').raw; print(raw.X.shape)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "(1797, 64)" in proc.stdout, proc.stderr


# -- bad files: the messages name what is wrong -----------------------------------------


def test_csv_nul_byte_is_not_a_number(tmp_path):
    message = user_error(load_csv, write(tmp_path / "d.csv", "a,b,y\n1,2\x00,0\n3,4,1\n"))
    assert "line 2, column 'b': '2\\x00' is not a number" in message


@pytest.mark.parametrize("loader, name", [(load_npz, "d.npz"), (load_npy, "d.npy")])
def test_unreadable_numpy_file_says_cannot_be_read(tmp_path, monkeypatch, loader, name):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), y=np.zeros(2))
    np.save(tmp_path / "d.npy", np.zeros((2, 3)))

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(np, "load", denied)  # .npy files are memory-mapped by numpy
    from nntrain.data.formats import npz_members

    monkeypatch.setattr(npz_members.zipfile, "ZipFile", denied)  # .npz files are read member by member
    message = user_error(loader, tmp_path / name)
    assert message == f"{tmp_path / name}: cannot be read (Permission denied)"


def test_npz_member_that_is_not_a_npy_array(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.npz", "w") as z:
        z.writestr("X.npy", b"not an array")
        z.writestr("y.npy", b"nor this")
    assert "member 'X' is not a .npy array" in user_error(load_npz, tmp_path / "d.npz")


def write_idx_typed(path: Path, array: np.ndarray, code: int, dtype: str) -> None:
    """An IDX file of type `code` (0x0D: big-endian float32) holding `array`."""
    blob = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(blob + array.astype(dtype).tobytes())


def test_idx_float_images_must_be_finite(tmp_path):
    images = np.ones((3, 2, 2))
    images[1, 0, 1] = np.nan
    write_idx_typed(tmp_path / "train-images-idx3-ubyte", images, 0x0D, ">f4")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 0]))
    assert "train-images-idx3-ubyte: image 1: holds NaN or infinity" in user_error(load_idx_folder, tmp_path)


def test_idx_float_labels_must_be_whole(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2)))
    write_idx_typed(tmp_path / "train-labels-idx1-ubyte", np.array([0.0, 1.0, 0.5]), 0x0D, ">f4")
    message = user_error(load_idx_folder, tmp_path)
    assert "train-labels-idx1-ubyte: label 2 is 0.5; labels must be whole numbers" in message


def test_idx_float_labels_that_are_whole_are_kept(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2)))
    write_idx_typed(tmp_path / "train-labels-idx1-ubyte", np.array([0.0, 1.0, 2.0]), 0x0D, ">f4")
    assert load_idx_folder(tmp_path).y.tolist() == [0, 1, 2]


def test_idx_huge_dimensions_report_the_true_byte_count(tmp_path):
    dims = (4_000_000_000,) * 3
    (tmp_path / "x").write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">3I", *dims))
    message = user_error(read_idx, tmp_path / "x")
    assert f"needs {4_000_000_000 ** 3};" in message


def test_idx_images_without_pixels(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 0, 2)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 0]))
    assert "with no pixels" in user_error(load_idx_folder, tmp_path)
