"""The `nntrain` command line: one module per command over the library, rendering with rich.

    app.py       the Typer app and --version
    common.py    consoles, user errors (exit 2), exit codes, Ctrl-C, the --out/--output convention
    progress.py  the training progress bar
    render.py    summaries and tables
    run.py, gradcheck.py, predict.py, evaluate.py, plot.py, schema.py, init.py, export.py: the commands
"""

from nntrain.cli import evaluate, export, gradcheck, init, plot, predict, run, schema, tune  # noqa: F401  (each registers its command)
from nntrain.cli.app import app

__all__ = ["app"]
