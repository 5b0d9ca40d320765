"""`Graph`: an ONNX graph built node by node, the one module that touches the `onnx` package.

onnx is an optional extra (`pip install 'nntrain[onnx]'`), imported when a Graph is made, so
the rest of nntrain never needs it. Every tensor name the builder makes is fresh: it never
equals a graph input (a user's column name) or another tensor, so a column called `label` or
`hot/island` cannot clash with the graph's own tensors.

The opset is `OPSET` of the default domain (ai.onnx), written with `IR_VERSION`, the IR version
that opset came with (not the newest the installed onnx knows), so runtimes of that age load the
file. `Equal` on strings needs opset 19; 20 is the default of onnx 1.15, the oldest the extra
accepts, and onnxruntime runs it from version 1.17 on.
"""

from __future__ import annotations

import numpy as np

from nntrain.errors import UserError

#: The ai.onnx opset the exported graph uses.
OPSET = 20
#: The ONNX IR version that goes with OPSET (onnx 1.15).
IR_VERSION = 9

INSTALL_HINT = "pip install 'nntrain[onnx]'"


def onnx_package():
    """The `onnx` module; a UserError saying how to install it when it is missing."""
    try:
        import onnx
    except ImportError:
        raise UserError(f"exporting to ONNX needs the onnx package, which is not installed; {INSTALL_HINT}") from None
    return onnx


class Graph:
    """Nodes, constants (initializers), inputs and outputs of one ONNX graph, in the order added.

    `output_names` are the graph outputs to come: claimed at once, so that no input or
    intermediate tensor takes them. Shapes use the symbolic batch dimension `BATCH` ("N").
    """

    BATCH = "N"

    def __init__(self, name: str, output_names: list[str]):
        self.onnx = onnx_package()
        self.name = name
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._planned_outputs = set(output_names)
        self._used: set[str] = set(output_names)

    # -- names ----------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A tensor name not used yet: `hint`, or `hint_2`, `hint_3`, ..."""
        name, n = hint, 1
        while name in self._used:
            n += 1
            name = f"{hint}_{n}"
        self._used.add(name)
        return name

    def reserve(self, name: str, what: str) -> str:
        """Claim `name` exactly (a graph input); a UserError if it is taken."""
        if name in self._used:
            raise UserError(f"the ONNX graph cannot have two tensors named '{name}' ({what}); rename the column and train again")
        self._used.add(name)
        return name

    # -- building ----------------------------------------------------------------------
    def add_input(self, name: str, kind: str, width: int = 1, doc: str = "") -> str:
        """A graph input `name` of shape (N, width); `kind` is "float" or "string"."""
        if name in self._planned_outputs:
            raise UserError(
                f"column '{name}' has the name of one of the ONNX graph's outputs ({', '.join(sorted(self._planned_outputs))}); "
                f"rename the column and train again"
            )
        self.reserve(name, "an input column")
        info = self.onnx.helper.make_tensor_value_info(name, self.elem_type(kind), [self.BATCH, width], doc)
        self.inputs.append(info)
        return name

    def add_output(self, tensor: str, name: str, kind: str, shape: list, doc: str = "") -> str:
        """Expose `tensor` as the graph output `name`, one of `output_names` (an Identity node renames it)."""
        assert name in self._planned_outputs and name not in {o.name for o in self.outputs}, name
        self.nodes.append(self.onnx.helper.make_node("Identity", [tensor], [name], name=self.fresh(f"output/{name}")))
        info = self.onnx.helper.make_tensor_value_info(name, self.elem_type(kind), shape, doc)
        self.outputs.append(info)
        return name

    def constant(self, hint: str, value) -> str:
        """An initializer holding `value` (a numpy array; str arrays become string tensors)."""
        array = np.asarray(value)
        if array.dtype.kind in "US":
            array = array.astype(object)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attributes) -> str:
        """Add one `op` node with one output; returns the output's tensor name."""
        out = self.fresh(hint or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=self.fresh(f"node/{out}"), **attributes))
        return out

    def elem_type(self, name: str) -> int:
        """ONNX's code for the element type "float" (float32), "string" or "int64" (Cast's `to`)."""
        return {"float": self.onnx.TensorProto.FLOAT, "string": self.onnx.TensorProto.STRING,
                "int64": self.onnx.TensorProto.INT64}[name]

    # -- the model ------------------------------------------------------------------
    def model(self, doc: str, metadata: dict[str, str], producer_version: str):
        """The finished ModelProto, checked by `onnx.checker` (a failure there is a bug here)."""
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers, doc_string=doc)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
            producer_name="nntrain", producer_version=producer_version, doc_string=doc,
        )
        helper.set_model_props(model, metadata)
        self.onnx.checker.check_model(model, full_check=True)
        return model
