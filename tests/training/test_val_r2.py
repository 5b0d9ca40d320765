"""val_r2: a regression run with a validation split records r2 on the validation rows every
epoch (a figure `nntrain tune` and early stopping can monitor), equal to scikit-learn's r2_score
of the network's predictions in the target's own units."""

from __future__ import annotations

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.data.builtin import BUILTIN_DATASETS
from nntrain.data.table import RawData
from nntrain.errors import UserError
from nntrain.run import fit


def _regression(rows=300, seed=0) -> RawData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    y = 3.0 * x[:, 0] - 2.0 * x[:, 1] ** 2 + 100.0 + rng.normal(scale=0.3, size=rows)
    return RawData(x, y[:, None], ["a", "b"], ["y"])


def _config(**extra):
    data = {"dataset": {"name": "memory", "val_split": 0.25}, "layers": ["auto", 16, "auto"], "epochs": 40,
            "learning_rate": 0.01, "dtype": "float64", **extra}
    return parse_config(data, "test", default_name="r2")


def test_val_r2_is_r2_score_on_the_validation_rows():
    r2_score = pytest.importorskip("sklearn.metrics").r2_score
    fitted = fit(_config(), _regression())
    history = fitted.history
    r2 = history.column("val_r2")
    assert r2.shape == (40,) and r2[-1] > r2[0] and r2[-1] > 0.8
    val, scaling = fitted.data.dataset.val, fitted.preprocessing
    # in the target's own units (the network learns a standardised target; r2 does not change)
    predicted, truth = scaling.unscale_targets(fitted.network.predict(val.X)), scaling.unscale_targets(val.Y)
    assert truth.mean() == pytest.approx(98, abs=1.5)  # 100 - 2 E[b^2]: the units of the file
    assert r2[-1] == pytest.approx(r2_score(truth, predicted), rel=1e-9)


def test_no_validation_split_no_val_r2():
    config = parse_config({"dataset": "memory", "layers": ["auto", 4, "auto"], "epochs": 2}, "test", default_name="r2")
    assert "val_r2" not in fit(config, _regression()).history.columns()


def test_early_stopping_on_val_r2_needs_regression():
    config = parse_config({"dataset": {"name": "xor", "val_split": 0.5}, "layers": [2, 3, 1], "epochs": 2,
                           "early_stopping": {"monitor": "val_r2"}}, "test", default_name="x")
    with pytest.raises(UserError, match="val_r2 needs a regression dataset"):
        fit(config, BUILTIN_DATASETS["xor"]())
