"""`python -m nntrain` runs the command-line app."""

from nntrain.cli import app

app(prog_name="nntrain")
