"""Property tests: any config input either loads or ends in a UserError, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntrain.config import RunConfig, load_config, parse_config, read_yaml
from nntrain.errors import UserError

KEYS = list(RunConfig.model_fields) + ["name", "momentum", "test_split", "low", "high", "beta1", "bogus"]
NAMES = ["xor", "sgd", "adam", "momentum", "sigmoid", "relu", "softmax", "mse", "cross_entropy", "uniform", "zeros"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NAMES), st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)
configs = st.fixed_dictionaries(
    {},
    optional={key: values for key in RunConfig.model_fields} | {
        "dataset": st.one_of(values, st.fixed_dictionaries({"name": st.sampled_from(["xor", "and"])}, optional={"test_split": values, "val_split": values, "bogus": values})),
        "layers": st.one_of(values, st.lists(st.integers(-2, 5), max_size=4)),
        "optimizer": st.one_of(values, st.fixed_dictionaries({"name": st.sampled_from(["sgd", "momentum", "adam", "nope"])}, optional={"momentum": values, "beta1": values})),
    },
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _loads_or_user_error(fn, *args) -> None:
    try:
        fn(*args)
    except UserError as err:
        assert err.message.strip(), "a UserError must say something"


@SETTINGS
@given(configs)
@pytest.mark.slow
def test_parse_config_mapping(data):
    _loads_or_user_error(parse_config, data, "c.yaml")


@SETTINGS
@given(values)
def test_parse_config_anything(data):
    _loads_or_user_error(parse_config, data, "c.yaml")


@SETTINGS
@given(st.one_of(st.text(max_size=200), configs.map(lambda d: yaml.safe_dump(d, default_flow_style=None))))
@pytest.mark.slow
def test_yaml_text_round_trip_through_files(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text, encoding="utf-8")
        _loads_or_user_error(read_yaml, path)
        _loads_or_user_error(load_config, path)


@SETTINGS
@given(st.binary(max_size=200))
@pytest.mark.slow
def test_arbitrary_bytes(blob):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_bytes(blob)
        _loads_or_user_error(load_config, path)
