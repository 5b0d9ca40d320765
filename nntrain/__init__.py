"""nntrain: train feed-forward neural networks from a YAML config."""

__version__ = "0.1.0"
