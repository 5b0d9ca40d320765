"""ONNX export: a trained network and its saved preprocessing as one ONNX graph (docs/export.md).

    graph.py                the graph builder, the only module that imports onnx (lazily: an
                            optional extra, `pip install 'nntrain[onnx]'`); the opset
    preprocessing_nodes.py  inputs (one per column), imputation, one-hot, standardisation
    network_nodes.py        the layers and activations (registries: one entry per kind)
    output_nodes.py         label and probabilities, or predictions in the targets' units
    convert.py              to_onnx(checkpoint) -> onnx.ModelProto; export(weights, output)

Nothing in nntrain imports this package but `nntrain export` (cli/export.py).
"""

from nntrain.export.convert import DEFAULT_NAME, Exported, export, to_onnx

__all__ = ["DEFAULT_NAME", "Exported", "export", "to_onnx"]
