"""The weights file (`weights.npz`): a trained network, its preprocessing and its training
state, written and read only here (`checkpoint.save_to`, `checkpoint.load`), its `meta` record
checked field by field (`meta.parse_meta`)."""
