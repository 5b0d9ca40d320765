"""Data: reading (formats/, one module per format and a registry), the one rule for
dataset names (source.py), the built-in datasets, and preparation: target encoding,
seeded splits, and the fitted preprocessing saved with a network.

    table.py          RawData: a dataset as read
    formats/          csv, npz, npy, idx and the FORMATS registry
    builtin.py        xor, and, or, half_adder, digits
    source.py         load_dataset(name): built-in name or file
    targets.py        labels <-> output units
    splits.py         seeded, stratified row splits
    preprocessing.py  Preprocessing (saved in weights.npz); values that do not fit a dtype
    prepare.py        prepare(raw, spec, rng) -> Dataset
"""
