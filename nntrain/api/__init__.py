"""The Python API: `load` a trained model, `train` a config; see docs/python.md."""
