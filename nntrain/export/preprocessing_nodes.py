"""The graph's inputs and the saved preprocessing as nodes: raw columns -> the network's inputs.

One graph input per feature column, named as the column, shape (N, 1):

    number column    float32; NaN is a missing cell:   Where(IsNaN(x), fill, x)     (N, 1)
    category column  string; "" is a missing cell:     Where(Equal(x, ""), fill_level, x)
                     then one-hot against the sorted levels (1, k):
                     Cast(Equal(x, levels), float)  (N, k); a value never seen is all zeros
    array data       (no column encodings) one float32 input per feature, no imputation

The blocks are concatenated in the network's unit order (N, units), then standardised per unit,
(x - mean) / std, when the weights file holds the statistics (category units have mean 0 and
std 1; IDX pixels read without standardisation have mean 0 and std 255).

Strings are compared exactly: nntrain's readers trim spaces and read NA, null, ? ... as missing;
the graph takes cells as a reader left them (see docs/export.md).
"""

from __future__ import annotations

import numpy as np

from nntrain.data.encoding import ColumnEncoding
from nntrain.data.preprocessing import Preprocessing
from nntrain.export.graph import Graph


def input_columns(pre: Preprocessing, names: list[str]) -> list[ColumnEncoding]:
    """Each input column's encoding; array data (no encodings): a number column per name, not imputed."""
    if pre.columns is not None:
        return list(pre.columns)
    return [ColumnEncoding(name) for name in names]


def preprocessing_nodes(graph: Graph, pre: Preprocessing, names: list[str]) -> str:
    """Add one input per column in `names` and the nodes that encode them; returns the tensor
    of network inputs (N, units) float32."""
    blocks = []
    for column in input_columns(pre, names):
        if column.is_category:
            block = category_nodes(graph, column)
        else:
            block = number_nodes(graph, column)
        if block is not None:
            blocks.append(block)
    units = blocks[0] if len(blocks) == 1 else graph.node("Concat", blocks, "units", axis=1)
    if pre.mean is None:
        return units
    return standardise_nodes(graph, units, pre.mean, pre.std)


def number_nodes(graph: Graph, column: ColumnEncoding) -> str:
    """A float32 input (N, 1); a NaN takes the column's fill value (the training median), when it has one."""
    x = graph.add_input(column.name, "float", doc=_number_doc(column))
    if column.fill is None:
        return x
    fill = graph.constant(f"fill/{column.name}", np.array([column.fill], dtype=np.float32))
    missing = graph.node("IsNaN", [x], f"missing/{column.name}")
    return graph.node("Where", [missing, fill, x], f"filled/{column.name}")


def category_nodes(graph: Graph, column: ColumnEncoding) -> str | None:
    """A string input (N, 1) -> its one-hot units (N, k) float32; "" takes the most frequent level.
    None for a column without levels (no units: the input is taken and not used)."""
    x = graph.add_input(column.name, "string", doc=_category_doc(column))
    if not column.levels:
        return None
    if column.fill_level is not None:
        empty = graph.constant(f"empty/{column.name}", np.array([""], dtype=object))
        fill = graph.constant(f"fill/{column.name}", np.array([column.levels[column.fill_level]], dtype=object))
        missing = graph.node("Equal", [x, empty], f"missing/{column.name}")
        x = graph.node("Where", [missing, fill, x], f"filled/{column.name}")
    levels = graph.constant(f"levels/{column.name}", np.array([list(column.levels)], dtype=object))  # (1, k)
    hot = graph.node("Equal", [x, levels], f"is/{column.name}")  # (N, 1) against (1, k) -> (N, k)
    return graph.node("Cast", [hot], f"hot/{column.name}", to=graph.elem_type("float"))


def standardise_nodes(graph: Graph, units: str, mean: np.ndarray, std: np.ndarray) -> str:
    """(units - mean) / std, per unit: units (N, n), mean and std (n,), in float32."""
    mean_c = graph.constant("standardise/mean", np.asarray(mean, dtype=np.float32))
    std_c = graph.constant("standardise/std", np.asarray(std, dtype=np.float32))
    centred = graph.node("Sub", [units, mean_c], "centred")
    return graph.node("Div", [centred, std_c], "standardised")


def _number_doc(column: ColumnEncoding) -> str:
    if column.fill is None:
        return "number (float32, shape (N, 1))"
    return f"number (float32, shape (N, 1)); NaN is missing and takes {column.fill:g}, the training median"


def _category_doc(column: ColumnEncoding) -> str:
    fill = "" if column.fill_level is None else f"; \"\" is missing and takes '{column.levels[column.fill_level]}'"
    return f"category (string, shape (N, 1)), one of {len(column.levels)} levels{fill}; any other value encodes as all zeros"
