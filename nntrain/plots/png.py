"""What every picture shares: matplotlib imported lazily with the Agg backend (no display
needed; a UserError saying how to install it when missing), and a PNG written atomically."""

from __future__ import annotations

from pathlib import Path

from nntrain.errors import UserError
from nntrain.safety.atomic import atomic_open


def pyplot():
    """matplotlib.pyplot on the Agg backend, or a UserError: matplotlib is the `plot` extra."""
    try:
        import matplotlib
    except ImportError:
        raise UserError("matplotlib is not installed; pip install 'nntrain[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_png_path(out: Path) -> None:
    """A PNG file name in a folder that exists (a typo in the path should not build folders)."""
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: the plot is written as PNG; give a file name ending in .png")
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist; create it or write elsewhere")


def save_png(fig, out: Path, dpi: int = 110) -> Path:
    """Write `fig` to `out` atomically (a failed write keeps the previous PNG whole) and close it."""
    plt = pyplot()
    try:
        fig.tight_layout()
        with atomic_open(out, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
    except OSError as err:
        raise UserError(f"{out}: cannot write the plot ({err.strerror or err})") from None
    finally:
        plt.close(fig)
    return out
