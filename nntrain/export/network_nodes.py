"""The network as nodes, layer by layer: network inputs (N, n_in) -> outputs (N, n_out) float32.

Two registries, so that a new layer kind or activation is one entry each:

    LAYER_NODES       a layer's class name -> fn(graph, layer, x, index) -> its output tensor
    ACTIVATION_NODES  an activation's name -> fn(graph, z, activation) -> its output tensor

A Dense layer is MatMul(x, W) + b, W (n_in, n_out) and b (n_out,) as float32 constants (a
float64 network is exported in float32), then its activation's nodes. A layer kind or an
activation missing from the registries is a UserError naming it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nntrain.errors import UserError
from nntrain.export.graph import Graph
from nntrain.model.network import Dense, Network


def _leaky_relu(graph: Graph, z: str, activation) -> str:
    return graph.node("LeakyRelu", [z], "leaky_relu", alpha=float(activation.alpha))


def _softmax(graph: Graph, z: str, activation) -> str:
    return graph.node("Softmax", [z], "softmax", axis=1)  # per row: z is (N, k)


def _one_op(op: str, hint: str) -> Callable[[Graph, str, object], str]:
    """An activation that is one ONNX operator without attributes."""
    return lambda graph, z, activation: graph.node(op, [z], hint)


#: activation name -> fn(graph, z (N, n), activation) -> a (N, n). One entry per activation of
#: model/activations.py (gelu: "Gelu" is in opset 20; elu: "Elu" with alpha; softplus: "Softplus";
#: silu: Mul(z, Sigmoid(z))).
ACTIVATION_NODES: dict[str, Callable[[Graph, str, object], str]] = {
    "sigmoid": _one_op("Sigmoid", "sigmoid"),
    "tanh": _one_op("Tanh", "tanh"),
    "relu": _one_op("Relu", "relu"),
    "leaky_relu": _leaky_relu,
    "linear": _one_op("Identity", "linear"),
    "softmax": _softmax,
}


def activation_nodes(graph: Graph, z: str, activation) -> str:
    """The nodes of `activation` on z (N, n)."""
    build = ACTIVATION_NODES.get(activation.name)
    if build is None:
        raise UserError(
            f"the activation '{activation.name}' cannot be exported to ONNX yet; exportable: {', '.join(ACTIVATION_NODES)}"
        )
    return build(graph, z, activation)


def dense_nodes(graph: Graph, layer: Dense, x: str, index: int) -> str:
    """activation(x W + b): x (N, n_in) -> (N, n_out)."""
    W = graph.constant(f"W{index}", np.asarray(layer.W, dtype=np.float32))
    b = graph.constant(f"b{index}", np.asarray(layer.b, dtype=np.float32))
    product = graph.node("MatMul", [x, W], f"layer{index}/xW")
    z = graph.node("Add", [product, b], f"layer{index}/z")
    return activation_nodes(graph, z, layer.activation)


#: layer class name -> fn(graph, layer, x (N, n_in), index) -> (N, n_out). A batch-normalisation
#: layer at inference is (x - running_mean) / sqrt(running_var + eps) * gamma + beta: one entry
#: with Sub, Div by a constant sqrt(var + eps), Mul, Add (or BatchNormalization); dropout is
#: the identity at inference (return x).
LAYER_NODES: dict[str, Callable[[Graph, object, str, int], str]] = {
    "Dense": dense_nodes,
}


def network_nodes(graph: Graph, network: Network, x: str) -> str:
    """Every layer in order: network inputs x (N, n_in) -> outputs h (N, n_out) float32."""
    for index, layer in enumerate(network.layers):
        kind = type(layer).__name__
        build = LAYER_NODES.get(kind)
        if build is None:
            raise UserError(f"a {kind} layer cannot be exported to ONNX yet; exportable: {', '.join(LAYER_NODES)}")
        x = build(graph, layer, x, index)
    return x
