"""`to_onnx(checkpoint)`: a trained network and its saved preprocessing as one ONNX model, and
`export(weights, output)`: a weights.npz to a .onnx file, written atomically.

The graph, in order (see each module): one input per feature column and the preprocessing
(`preprocessing_nodes`), the layers (`network_nodes`), the outputs (`output_nodes`). Everything
is float32: a float64 network's weights are rounded to float32. The model's metadata_props
record the task, the classes, the feature and target names and the nntrain version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nntrain import __version__
from nntrain.errors import UserError
from nntrain.export.graph import OPSET, Graph, onnx_package
from nntrain.export.network_nodes import network_nodes
from nntrain.export.output_nodes import output_names, output_nodes
from nntrain.export.preprocessing_nodes import preprocessing_nodes
from nntrain.inference.inputs import feature_names
from nntrain.safety.atomic import atomic_open
from nntrain.weights.checkpoint import Checkpoint, load

#: The file `nntrain export` writes beside the weights file when no --output is given.
DEFAULT_NAME = "model.onnx"


def to_onnx(checkpoint: Checkpoint):
    """The onnx.ModelProto of `checkpoint`: raw columns in, labels and probabilities (or
    predictions in the targets' units) out; checked by onnx.checker."""
    pre, network = checkpoint.preprocessing, checkpoint.network
    names = feature_names(checkpoint)
    graph = Graph(f"nntrain {checkpoint.config.get('name', 'network')}", output_names(pre))
    units = preprocessing_nodes(graph, pre, names)
    h = network_nodes(graph, network, units)
    output_nodes(graph, pre, h, network.sizes[-1], network.output_activation)
    task = "classification" if pre.classes is not None else "regression"
    metadata = {
        "nntrain_version": __version__,
        "task": task,
        "feature_names": json.dumps(names),
        "target_names": json.dumps(list(pre.target_names)),
        "layers": json.dumps(network.sizes),
        "activations": json.dumps(network.hidden_activations),  # one per hidden layer
        "output_activation": network.output_activation,
    }
    if pre.classes is not None:
        metadata["classes"] = json.dumps(list(pre.classes))
    doc = (f"nntrain {task} network {network.sizes} with its preprocessing, float32, opset {OPSET}: "
           f"one input per feature column (N, 1), float32 numbers (NaN missing) or strings (\"\" missing)")
    return graph.model(doc, metadata, __version__)


@dataclass
class Exported:
    """What `export` wrote: the file and the model in it."""

    path: Path
    model: object  # onnx.ModelProto
    config: dict = field(default_factory=dict)  # the resolved config the network was trained with

    def summary(self) -> str:
        """`3 inputs (island: string, bill_length: float, ...); outputs label, probabilities`."""
        graph = self.model.graph
        kinds = {1: "float", 8: "string"}  # onnx.TensorProto.FLOAT, STRING
        inputs = [f"{i.name}: {kinds.get(i.type.tensor_type.elem_type, '?')}" for i in graph.input]
        shown = inputs if len(inputs) <= 6 else inputs[:5] + ["...", inputs[-1]]
        return f"{len(inputs)} input(s) ({', '.join(shown)}); outputs {', '.join(o.name for o in graph.output)}"


def export(weights_path: str | Path, output_path: str | Path | None = None) -> Exported:
    """Load `weights_path` (a weights.npz), convert it, write it atomically to `output_path`
    (default: model.onnx beside the weights file). Problems are UserErrors naming the file."""
    weights_path = Path(weights_path)
    output = weights_path.with_name(DEFAULT_NAME) if output_path is None else Path(output_path)
    if str(output) == "-":
        raise UserError("--output -: an ONNX model is binary; give a file name (default: model.onnx beside WEIGHTS)")
    onnx_package()  # before reading anything: without onnx nothing can be exported
    checkpoint = load(weights_path)
    if output.exists() and output.resolve() == weights_path.resolve():
        raise UserError(f"{output}: is the weights file itself; give another --output (such as {DEFAULT_NAME})")
    model = to_onnx(checkpoint)
    data = model.SerializeToString()
    try:
        with atomic_open(output, "wb") as f:
            f.write(data)
    except OSError as err:
        raise UserError(f"{output}: cannot write the ONNX model ({err.strerror or err})") from None
    return Exported(output, model, checkpoint.config)
