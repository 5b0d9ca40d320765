"""The files of a run folder: their names (`names`), and the formats of history.csv
(`history_csv`), metrics.json and config.yaml. `nntrain.run` writes them; plots, --resume and
the Python API read them."""
