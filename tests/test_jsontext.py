"""Standard JSON out: every non-finite float, at any depth, is null."""

import json
import math

from nntrain.jsontext import json_text


def test_non_finite_floats_become_null_at_any_depth():
    data = {"cost": math.inf, "r2": math.nan, "rows": 3, "state": {"best": -math.inf, "seen": [1.5, math.nan]}}
    assert json.loads(json_text(data)) == {"cost": None, "r2": None, "rows": 3, "state": {"best": None, "seen": [1.5, None]}}
    assert "NaN" not in json_text(data) and "Infinity" not in json_text(data)
