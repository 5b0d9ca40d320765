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


def _gelu(graph: Graph, z: str, activation) -> str:
    # nntrain's GELU is the tanh approximation: ONNX's Gelu (opset 20) with approximate="tanh"
    return graph.node("Gelu", [z], "gelu", approximate="tanh")


def _silu(graph: Graph, z: str, activation) -> str:
    return graph.node("Mul", [z, graph.node("Sigmoid", [z], "silu/sigmoid")], "silu")  # z sigmoid(z)


def _elu(graph: Graph, z: str, activation) -> str:
    return graph.node("Elu", [z], "elu", alpha=float(activation.alpha))


def _one_op(op: str, hint: str) -> Callable[[Graph, str, object], str]:
    """An activation that is one ONNX operator without attributes."""
    return lambda graph, z, activation: graph.node(op, [z], hint)


#: activation name -> fn(graph, z (N, n), activation) -> a (N, n). One entry per activation of
#: model/activations.py.
ACTIVATION_NODES: dict[str, Callable[[Graph, str, object], str]] = {
    "sigmoid": _one_op("Sigmoid", "sigmoid"),
    "tanh": _one_op("Tanh", "tanh"),
    "relu": _one_op("Relu", "relu"),
    "leaky_relu": _leaky_relu,
    "linear": _one_op("Identity", "linear"),
    "gelu": _gelu,
    "silu": _silu,
    "elu": _elu,
    "softplus": _one_op("Softplus", "softplus"),  # log(1 + e^z)
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
    """activation(x W + b), or with batch norm activation(BN(x W)) whose shift is b: x (N, n_in)
    -> (N, n_out). Dropout is the identity at inference: no node."""
    W = graph.constant(f"W{index}", np.asarray(layer.W, dtype=np.float32))
    b = graph.constant(f"b{index}", np.asarray(layer.b, dtype=np.float32))
    product = graph.node("MatMul", [x, W], f"layer{index}/xW")
    if layer.norm is None:
        z = graph.node("Add", [product, b], f"layer{index}/z")
    else:
        z = batch_norm_nodes(graph, layer.norm, product, b, index)
    return activation_nodes(graph, z, layer.activation)


def batch_norm_nodes(graph: Graph, norm, z: str, beta: str, index: int) -> str:
    """Inference-time batch norm (model/batchnorm.py): (z - running_mean) / sqrt(running_var +
    eps) * gamma + beta, z (N, n), as ONNX's BatchNormalization (N, C) with the running statistics."""
    stats = [graph.constant(f"{key}{index}", np.asarray(getattr(norm, key), dtype=np.float32))
             for key in ("gamma", "running_mean", "running_var")]
    return graph.node("BatchNormalization", [z, stats[0], beta, stats[1], stats[2]], f"layer{index}/batch_norm",
                      epsilon=float(norm.eps))


#: layer class name -> fn(graph, layer, x (N, n_in), index) -> (N, n_out). A Dense layer's batch
#: norm and dropout are part of it (dense_nodes).
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
