"""The graph's outputs from the network's outputs h (N, k) float32, as `nntrain predict` gives them.

    classification  `label` (N,): the class labels, int64 when every label is a number, else
                    strings as nntrain prints them; the class is ArgMax over the units, or
                    h > 0.5 for one unit (as `targets.class_codes` decides)
                    `probabilities` (N, len(classes)) float32: the outputs (softmax: class
                    probabilities; several sigmoid units: per-class scores, nntrain's score_
                    columns), or [1 - p, p] for one unit
    regression      `prediction` (N, k) float32: target_mean + target_std * h in the targets'
                    units (h itself without target scaling)
"""

from __future__ import annotations

import numpy as np

from nntrain.data.preprocessing import Preprocessing
from nntrain.export.graph import Graph

CLASSIFICATION_OUTPUTS = ["label", "probabilities"]
REGRESSION_OUTPUTS = ["prediction"]


def output_names(pre: Preprocessing) -> list[str]:
    """The graph outputs a network with this preprocessing has."""
    return CLASSIFICATION_OUTPUTS if pre.classes is not None else REGRESSION_OUTPUTS


def label_values(classes: list) -> tuple[np.ndarray, str]:
    """(the labels as an ONNX constant's values, "int64" or "string"): int64 when every label is a
    whole number (not a boolean), else each label as text, as nntrain prints it."""
    numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool) and float(c).is_integer() for c in classes)
    if numeric:
        return np.array([int(c) for c in classes], dtype=np.int64), "int64"
    return np.array([str(c) for c in classes], dtype=object), "string"


def output_nodes(graph: Graph, pre: Preprocessing, h: str, n_outputs: int, output_activation: str) -> None:
    """Add the outputs for network outputs h (N, n_outputs) of an `output_activation` layer."""
    if pre.classes is not None:
        classification_nodes(graph, list(pre.classes), h, n_outputs, output_activation)
    else:
        regression_nodes(graph, pre, h, n_outputs)


def classification_nodes(graph: Graph, classes: list, h: str, n_outputs: int, output_activation: str) -> None:
    """`label` (N,) and `probabilities` (N, len(classes)) from h (N, n_outputs)."""
    if n_outputs == 1:  # h = P(classes[1])
        one = graph.constant("one", np.array(1.0, dtype=np.float32))
        half = graph.constant("half", np.array(0.5, dtype=np.float32))
        negative = graph.node("Sub", [one, h], "p_negative")
        probabilities = graph.node("Concat", [negative, h], "p_both", axis=1)
        positive = graph.node("Greater", [h, half], "is_positive")  # (N, 1)
        flat = graph.constant("flat", np.array([-1], dtype=np.int64))
        index = graph.node("Cast", [graph.node("Reshape", [positive, flat], "is_positive_flat")], "class_index",
                           to=graph.elem_type("int64"))
    else:
        probabilities = h
        index = graph.node("ArgMax", [h], "class_index", axis=1, keepdims=0)  # the first of equal maxima, as numpy's
    values, elem = label_values(classes)
    labels = graph.constant("classes", values)
    label = graph.node("Gather", [labels, index], "class_label", axis=0)
    graph.add_output(label, "label", elem, [Graph.BATCH], "the predicted class of each row")
    kind = "probabilities" if n_outputs == 1 or output_activation == "softmax" else "scores"
    graph.add_output(probabilities, "probabilities", "float", [Graph.BATCH, len(classes)],
                     f"per-class {kind}, in the order of the classes: {', '.join(map(str, classes))}")


def regression_nodes(graph: Graph, pre: Preprocessing, h: str, n_outputs: int) -> None:
    """`prediction` (N, n_outputs) in the targets' units."""
    prediction = h
    if pre.target_mean is not None:
        std = graph.constant("target_std", np.asarray(pre.target_std, dtype=np.float32))
        mean = graph.constant("target_mean", np.asarray(pre.target_mean, dtype=np.float32))
        prediction = graph.node("Add", [graph.node("Mul", [h, std], "scaled"), mean], "unscaled")
    names = ", ".join(pre.target_names) if len(pre.target_names) == n_outputs else f"{n_outputs} value(s)"
    graph.add_output(prediction, "prediction", "float", [Graph.BATCH, n_outputs], f"the predicted {names}, in the targets' units")
