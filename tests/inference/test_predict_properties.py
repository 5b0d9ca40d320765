"""Property tests: any predict input either parses to numbers of the right shape (finite; in a
table, NaN marks a missing cell, which the saved preprocessing fills) or ends in a UserError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntrain.errors import UserError
from nntrain.inference.inputs import parse_rows

from conftest import read_csv_chunks

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEATURES = ["a", "b"]

cells = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "x", "1e400", "nan", "-inf", "0x10", '"1"', "1,2", "\t3"]),
    st.text(max_size=6),
)
rows = st.lists(cells, min_size=0, max_size=4).map(",".join)



def _parsed_or_user_error(fn, missing_allowed: bool = False):
    try:
        X = fn()
    except UserError as err:
        assert err.message.strip()
        return None
    assert X.dtype == np.float64 and X.shape[1] == len(FEATURES)
    assert not np.isinf(X).any(), "infinite inputs must be refused, not passed to the network"
    assert missing_allowed or not np.isnan(X).any(), "command-line rows have no missing cells"
    return X


@SETTINGS
@given(st.lists(rows, min_size=1, max_size=5))
@pytest.mark.slow
def test_command_line_rows(row_list):
    X = _parsed_or_user_error(lambda: parse_rows(row_list, FEATURES))
    if X is not None:
        assert X.shape[0] == len(row_list)


@SETTINGS
@given(
    st.one_of(st.sampled_from(["a,b", "b,a", "a,b,y", "x,y", "", "a"]), st.text(max_size=8)),
    st.lists(rows, max_size=6),
    st.integers(1, 3),
)
@pytest.mark.slow
def test_csv_text(header, body, chunk_rows):
    text = "\n".join([header, *body]) + "\n"

    def read():
        chunks = list(read_csv_chunks(io.StringIO(text), "in.csv", FEATURES, ["y"], chunk_rows=chunk_rows))
        return np.vstack(chunks) if chunks else np.empty((0, len(FEATURES)))

    _parsed_or_user_error(read, missing_allowed=True)


@SETTINGS
@given(st.binary(max_size=64))
def test_csv_bytes_decoded_leniently(blob):
    text = blob.decode("utf-8", errors="replace")
    _parsed_or_user_error(
        lambda: np.vstack(list(read_csv_chunks(io.StringIO(text), "in.csv", FEATURES, [])) or [np.empty((0, 2))]),
        missing_allowed=True,
    )
