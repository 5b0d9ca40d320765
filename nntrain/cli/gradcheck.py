"""`nntrain gradcheck [CONFIG]`: backpropagation against finite differences, in float64."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, console, user_errors


@app.command()
def gradcheck(
    config_path: Annotated[Optional[Path], typer.Argument(
        metavar="[CONFIG]", help="Check this config's network on its data; omitted: check every activation and cost.",
    )] = None,
    max_entries: Annotated[int, typer.Option(
        "--max-entries", min=1, help="Entries checked per W or b (a random sample when larger).",
    )] = 100,
    samples: Annotated[int, typer.Option("--samples", min=1, help="CONFIG: rows of the training data used.")] = 8,
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, help="Largest relative error that passes.")] = 1e-7,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the random networks and the entry sample.")] = 0,
) -> None:
    """Compare backpropagation with finite differences; exit 0 when every tensor passes, 1 when one fails, 2 on bad input."""
    raise typer.Exit(check_and_report(config_path, max_entries, samples, threshold, seed))


def check_and_report(config_path: Path | None, max_entries: int, samples: int, threshold: float, seed: int) -> int:
    """Run the check, print its table and verdict; the exit status."""
    from nntrain.cli.render import gradcheck_table

    with user_errors():
        results = _results(config_path, max_entries, samples, threshold, seed)
    console.print(gradcheck_table(results))
    failed = [r for r in results if not r.passed]
    relative = [r.max_rel_error for r in results if r.max_rel_error == r.max_rel_error]  # NaN: all small
    skipped = sum(r.skipped for r in results)
    summary = (
        f"{len(results)} tensors, {sum(r.checked for r in results)} entries checked, {skipped} skipped at kinks; "
        + (f"largest relative error {max(relative):.2e} (threshold {threshold:g})" if relative else
           f"no entry is large enough for a relative check at threshold {threshold:g}: all were judged "
           f"against the rounding noise")
    )
    if failed:
        console.print(f"[bold red]FAILED[/] {len(failed)} of {len(results)} tensors: {summary}")
    else:
        console.print(f"[bold green]passed[/] {summary}")
    with user_errors():
        check_stdout()
    return 1 if failed else 0


def _results(config_path: Path | None, max_entries: int, samples: int, threshold: float, seed: int):
    if config_path is None:
        from nntrain.model.gradcheck import check_implementation

        return check_implementation(seed=seed, max_entries=max_entries, threshold=threshold)
    from nntrain.config import load_config
    from nntrain.run import check_config

    return check_config(
        load_config(config_path), samples=samples, max_entries=max_entries, threshold=threshold, base_dir=config_path.parent,
    )
