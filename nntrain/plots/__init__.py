"""Pictures, with matplotlib (the `plot` extra), imported only when a picture is drawn."""
