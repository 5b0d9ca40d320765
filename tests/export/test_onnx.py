"""The ONNX export against nntrain's own predict: real networks trained on small tables (and
arrays, IDX pixels, the built-in digits), exported, run by onnxruntime at batch N and batch 1,
on held-out rows with empty cells and unseen categories.

Every hidden activation, output activation and preprocessing step is in at least one case:

    case                     hidden      output              preprocessing
    softmax_relu             relu        softmax (3)         impute numbers + categories, one-hot, standardise
    one_sigmoid_tanh         tanh        sigmoid (1 unit)    standardisation off (inputs near +-1)
    sigmoid_units_leaky      leaky_relu  sigmoid (3 units)   (scores)
    tanh_output_linear       linear      tanh (1 unit)       mse
    float64                  relu        softmax             dtype float64, exported as float32
    regression_sigmoid       sigmoid     linear              target scaling, a numeric column as categories
    two_targets_leaky_out    tanh        leaky_relu (2)      multi-output regression
    relu_output              relu        relu (1)            regression without target scaling
    idx_pixels               relu        sigmoid (1 unit)    IDX input scale (mean 0, std 255)
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from data.test_formats import write_idx  # noqa: E402
from data.test_tables import houses, penguins  # noqa: E402
from nntrain.config import parse_config  # noqa: E402
from nntrain.data.formats.common import MISSING_MARKERS  # noqa: E402
from nntrain.export import to_onnx  # noqa: E402
from nntrain.inference.inputs import input_chunks  # noqa: E402
from nntrain.inference.outputs import OutputColumns  # noqa: E402
from nntrain.inference.predict import predict_raw  # noqa: E402
from nntrain.weights import checkpoint  # noqa: E402
from nntrain.run import run_training  # noqa: E402

TOLERANCE = 1e-5


def two_species(path, rows=240, seed=0):
    """The penguins table without Chinstrap: a binary target (Adelie, Gentoo)."""
    penguins(path, rows, seed)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if not line.endswith(",Chinstrap")) + "\n")
    return path


def blobs(path, rows=200, seed=0):
    """Two classes (yes, no) of numbers near +-1, which need no standardisation, and a colour
    that leans to the class; empty cells and NA in both kinds of column."""
    rng = np.random.default_rng(seed)
    lines = ["id,x1,x2,colour,answer"]
    for i in range(rows):
        c = i % 2
        x1, x2 = (f"{v:.3f}" if rng.random() > 0.05 else "NA" for v in rng.normal([1 - 2 * c, 2 * c - 1], 0.8))
        colour = ["red", "blue", "green"][(c + rng.integers(2)) % 3] if rng.random() > 0.05 else ""
        lines.append(f"{i},{x1},{x2},{colour},{['yes', 'no'][c]}")
    path.write_text("\n".join(lines) + "\n")
    return path


PENGUIN_EXTRA = ["9001,,,,,,Adelie", "9002,Atlantis,45,200,4200,unknown,Gentoo", "9003,Dream,NA,NA,,,Adelie"]
HOUSE_EXTRA = ["9001,,,,0", "9002,7,85.5,west,0", "9003,2,,south,0"]
BLOB_EXTRA = ["9001,,,,yes", "9002,0.5,-0.5,purple,no", "9003,NA,1.5,red,no"]

PENGUINS = {"table": penguins, "target": "species", "drop": ["row_id"], "extra": PENGUIN_EXTRA}
TWO_SPECIES = {**PENGUINS, "table": two_species}
BLOBS = {"table": blobs, "target": "answer", "drop": ["id"], "extra": BLOB_EXTRA}
HOUSES = {"table": houses, "target": "price", "drop": ["id"], "extra": HOUSE_EXTRA}

CASES = {
    "softmax_relu": (PENGUINS, {"layers": ["auto", 8, "auto"], "activation": "relu", "output_activation": "softmax"}),
    "one_sigmoid_tanh": (BLOBS, {"layers": ["auto", 6, "auto"], "activation": "tanh", "output_activation": "sigmoid",
                                 "standardize": False}),
    "sigmoid_units_leaky": (PENGUINS, {"layers": ["auto", 8, 3], "activation": "leaky_relu",
                                       "output_activation": "sigmoid", "cost": "cross_entropy"}),
    "tanh_output_linear": (TWO_SPECIES, {"layers": ["auto", 4, 1], "activation": "linear",
                                         "output_activation": "tanh", "cost": "mse"}),
    "float64": (PENGUINS, {"layers": ["auto", 8, "auto"], "activation": "relu", "output_activation": "softmax",
                           "dtype": "float64"}),
    "regression_sigmoid": (HOUSES, {"layers": ["auto", 8, "auto"], "activation": "sigmoid", "output_activation": "linear",
                                    "categorical": ["rooms"]}),
    "two_targets_leaky_out": ({**HOUSES, "target": ["price", "area"]},
                              {"layers": ["auto", 8, 2], "activation": "tanh", "output_activation": "leaky_relu"}),
    "relu_output": ({**HOUSES, "target": "rooms"}, {"layers": ["auto", 4, 1], "activation": "relu", "task": "regression",
                                                    "output_activation": "relu"}),
    "gelu_silu_batch_norm_dropout": (PENGUINS, {"layers": ["auto", 8, 6, "auto"], "activation": ["gelu", "silu"],
                                                "batch_norm": True, "dropout": 0.2, "output_activation": "softmax"}),
    "elu_softplus_output": ({**HOUSES, "target": "rooms"}, {"layers": ["auto", 6, 1], "activation": "elu",
                                                            "task": "regression", "output_activation": "softplus"}),
    "softplus_gelu_output": (HOUSES, {"layers": ["auto", 6, 1], "activation": "softplus", "output_activation": "gelu",
                                      "batch_norm": {"momentum": 0.3, "eps": 1e-3}}),
    "silu_output": (HOUSES, {"layers": ["auto", 6, 1], "activation": "relu", "output_activation": "silu",
                             "dropout": 0.1}),
    "elu_output": (HOUSES, {"layers": ["auto", 6, 1], "activation": "tanh", "output_activation": "elu"}),
}
DATASET_KEYS = ("standardize", "categorical")


def train(folder, dataset: dict, settings: dict):
    """Train on `dataset`'s table written in `folder` (60 epochs, adam 0.01); the weights' path."""
    data = dataset["table"](folder / "train.csv")
    options = {key: settings[key] for key in DATASET_KEYS if key in settings}
    config = {
        "dataset": {"name": str(data), "target": dataset["target"], "drop": dataset["drop"], **options},
        "epochs": 60, "learning_rate": 0.01, **{k: v for k, v in settings.items() if k not in DATASET_KEYS},
    }
    run_training(parse_config(config, "export"), folder / "run")
    return folder / "run" / "weights.npz"


def held_out(folder, dataset: dict):
    """New rows of the same table (another seed) and rows with empty cells and unseen categories."""
    path = dataset["table"](folder / "held_out.csv", rows=60, seed=1)
    path.write_text(path.read_text() + "\n".join(dataset["extra"]) + "\n")
    return path


def session_for(model) -> "ort.InferenceSession":
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def table_feeds(session, path) -> dict[str, np.ndarray]:
    """One (N, 1) array per graph input from a CSV: numbers as float32 (NaN for an empty cell or a
    missing marker), categories as the cells' text ("" for a missing one)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for i in session.get_inputs():
        cells = [row[i.name].strip() for row in rows]
        missing = [cell.lower() in MISSING_MARKERS for cell in cells]
        if i.type == "tensor(string)":
            values = np.array(["" if m else c for c, m in zip(cells, missing)], dtype=object)
        else:
            values = np.array([np.nan if m else float(c) for c, m in zip(cells, missing)], dtype=np.float32)
        feeds[i.name] = values.reshape(-1, 1)
    return feeds


def reference(weights, raw_chunks) -> tuple[np.ndarray | None, np.ndarray]:
    """nntrain's own (labels or None, numbers) for raw input chunks: predict_raw, then the
    columns `nntrain predict` writes (labels and prob_/score_ columns, or the targets)."""
    ckpt = checkpoint.load(weights)
    h = np.concatenate([predict_raw(ckpt, X, lambda i: f"row {i + 1}") for X in raw_chunks])
    cols = OutputColumns.for_checkpoint(ckpt)
    index, numbers = cols.values(h)
    return (None if index is None else np.asarray(cols.classes)[index]), numbers


def compare(session, feeds: dict, labels, numbers) -> float:
    """onnxruntime's outputs for `feeds` at batch N and at batch 1 against nntrain's labels and
    numbers; returns the largest difference (relative to the values' size for regression)."""
    n = len(next(iter(feeds.values())))
    names = [o.name for o in session.get_outputs()]
    whole = session.run(None, feeds)
    single = [session.run(None, {k: v[i : i + 1] for k, v in feeds.items()}) for i in range(n)]
    one_by_one = [np.concatenate([row[j] for row in single]) for j in range(len(names))]
    worst = 0.0
    for outputs in (whole, one_by_one):
        got = dict(zip(names, outputs))
        if labels is not None:
            assert got["label"].tolist() == labels.tolist()
            values = got["probabilities"]
        else:
            values = got["prediction"]
        assert values.dtype == np.float32 and values.shape == numbers.shape
        scale = 1.0 if labels is not None else np.maximum(1.0, np.abs(numbers))
        difference = float(np.max(np.abs(values - numbers) / scale))
        assert difference <= TOLERANCE, difference
        worst = max(worst, difference)
    return worst


@pytest.fixture(scope="module", params=sorted(CASES))
def table_case(request, tmp_path_factory):
    dataset, settings = CASES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    return request.param, train(folder, dataset, settings), held_out(folder, dataset)


def test_the_graph_passes_the_checker_and_has_one_input_per_column(table_case):
    name, weights, _ = table_case
    ckpt = checkpoint.load(weights)
    model = to_onnx(ckpt)
    onnx.checker.check_model(model, full_check=True)
    assert [o.domain for o in model.opset_import] == [""] and model.opset_import[0].version == 20
    session = session_for(model)
    kinds = {i.name: i.type for i in session.get_inputs()}
    assert list(kinds) == ckpt.preprocessing.feature_names
    for column in ckpt.preprocessing.columns:
        assert kinds[column.name] == ("tensor(string)" if column.is_category else "tensor(float)")
    assert all(i.shape[1] == 1 for i in session.get_inputs())
    outputs = {o.name: o for o in session.get_outputs()}
    if ckpt.preprocessing.classes is not None:
        assert list(outputs) == ["label", "probabilities"] and outputs["probabilities"].shape[1] == len(ckpt.preprocessing.classes)
        assert outputs["label"].type == "tensor(string)"
    else:
        assert list(outputs) == ["prediction"] and outputs["prediction"].shape[1] == ckpt.network.sizes[-1]


def test_onnxruntime_matches_nntrain_predict_at_batch_n_and_batch_1(table_case):
    name, weights, rows = table_case
    ckpt = checkpoint.load(weights)
    session = session_for(to_onnx(ckpt))
    labels, numbers = reference(weights, input_chunks(str(rows), ckpt))
    assert compare(session, table_feeds(session, rows), labels, numbers) <= TOLERANCE


def test_the_held_out_rows_hold_empty_cells_and_unseen_categories(table_case):
    _, weights, rows = table_case
    feeds = table_feeds(session_for(to_onnx(checkpoint.load(weights))), rows)
    strings = [v for v in feeds.values() if v.dtype == object]
    numbers = [v for v in feeds.values() if v.dtype == np.float32]
    assert any(np.isnan(v).any() for v in numbers)
    assert all((v == "").any() for v in strings)
    levels = checkpoint.load(weights).preprocessing.levels
    assert all(set(feeds[name].ravel()) - set(known) - {""} for name, known in levels.items())


def test_the_cases_cover_every_activation_and_preprocessing_step():
    from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS

    hidden = [settings["activation"] for _, settings in CASES.values()]
    assert {name for names in hidden for name in ([names] if isinstance(names, str) else names)} == set(ACTIVATIONS)
    assert {settings["output_activation"] for _, settings in CASES.values()} == set(OUTPUT_ACTIVATIONS)
    steps = {key for _, settings in CASES.values() for key in settings} | {
        "multi-output" for dataset, _ in CASES.values() if isinstance(dataset["target"], list)}
    assert {"standardize", "categorical", "dtype", "multi-output", "batch_norm", "dropout"} <= steps


def test_every_activation_has_its_nodes():
    from nntrain.export.network_nodes import ACTIVATION_NODES
    from nntrain.model.activations import OUTPUT_ACTIVATIONS

    assert set(ACTIVATION_NODES) == set(OUTPUT_ACTIVATIONS)


def test_idx_pixels_are_taken_as_the_files_hold_them(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 30)
    images = rng.integers(0, 60, (len(labels), 4, 4))
    images[labels == 0, :2] += 180
    images[labels == 1, 2:] += 180
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", images)
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    config = {"dataset": {"name": str(folder), "standardize": False}, "layers": [16, 4, 1], "epochs": 30,
              "learning_rate": 0.01}
    run_training(parse_config(config, "idx"), tmp_path / "run")
    ckpt = checkpoint.load(tmp_path / "run" / "weights.npz")
    assert ckpt.preprocessing.std is not None and set(ckpt.preprocessing.std) == {255.0}
    session = session_for(to_onnx(ckpt))
    X = rng.integers(0, 256, (40, 16)).astype(np.float64)
    feeds = {name: X[:, [j]].astype(np.float32) for j, name in enumerate(ckpt.preprocessing.feature_names)}
    labels, numbers = reference(tmp_path / "run" / "weights.npz", [X])
    assert compare(session, feeds, labels, numbers) <= TOLERANCE
    assert session.get_outputs()[0].type == "tensor(int64)"  # numeric classes stay numbers
