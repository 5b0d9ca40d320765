"""What the commands draw with rich: run summaries, the classification report, the gradient
check's table, prediction tables, the divergence message."""

from __future__ import annotations

import math

import numpy as np
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nntrain.cli.common import console, err_console, make_console
from nntrain.inference.outputs import table_rows
from nntrain.inference.report import ClassificationReport, classification_report
from nntrain.training.metrics import evaluate


def epochs_done(metrics: dict) -> str:
    """'10 epochs', or after a Ctrl-C mid-epoch '9 epochs and part of epoch 10'."""
    n = metrics["epochs_run"]
    if metrics.get("last_epoch_partial"):
        return f"{_count(n - 1, 'epoch')} and part of epoch {n}" if n > 1 else "part of epoch 1"
    return _count(n, "epoch")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def print_summary(summary, threads: bool = False) -> None:
    """The run's last lines: done, how it stopped, (with `threads`) the BLAS thread count, the files."""
    m = summary.metrics
    resumed = f" ({m['epochs_run'] - m['resumed_from_epoch']} after resuming)" if m.get("resumed_from_epoch") else ""
    epochs = epochs_done(m)
    line = f"[bold green]done[/] {epochs}{resumed} in {m['train_seconds']:.2f} s, final cost {m['final_cost']:.6g}"
    if m.get("last_epoch_partial"):
        line += " (over the part of the last epoch trained)"
    if "test_accuracy" in m:
        line += f", test accuracy {m['test_accuracy']:.4f}"
    elif "test_cost" in m:
        line += f", test cost {m['test_cost']:.6g}"
    console.print(line)
    if m.get("stop_reason") not in (None, "completed"):
        console.print(f"stopped early: {m['stop_reason']}")
    if threads and "threads_reason" in m:
        count = "left to the BLAS" if m["threads"] is None else m["threads"]
        console.print(f"threads: {count} ({escape(m['threads_reason'])})", soft_wrap=True)
    console.print(f"wrote {', '.join(p.name for p in summary.files)} to {summary.out_dir}/", soft_wrap=True)


def print_small_predictions(summary) -> None:
    """For tiny tables (XOR, half adder) show every training row's output, as the tutorials do."""
    train_split = summary.dataset.train
    if len(train_split) > 16:
        return
    pre = summary.dataset.preprocessing
    outputs = summary.network.predict(train_split.X)
    table = Table(title="outputs on the training rows")
    for name in pre.feature_names:
        table.add_column(name, justify="right")
    for name in pre.target_names:
        table.add_column(f"{name} (target)", justify="right")
        table.add_column(name, justify="right")
    X_shown = train_split.X if pre.mean is None else train_split.X * pre.std + pre.mean
    for x, y, h in zip(X_shown, train_split.Y, outputs):
        cells = [f"{v:g}" for v in x]
        for t, o in zip(y, h):
            cells += [f"{t:g}", f"{o:.4f}"]
        table.add_row(*cells)
    console.print(table)


def report_divergence(summary, learning_rate: float) -> None:
    """The divergence line, with the likely cure: a smaller rate, unless even the kept
    weights give a non-finite cost on the training rows (then no rate would help)."""
    epoch = summary.metrics["epochs_run"]
    cost = summary.result.history.last().get("cost", float("nan"))
    kept_cost = evaluate(summary.network, summary.dataset.train, summary.dataset.is_classification)["cost"]
    if math.isfinite(kept_cost):
        advice = f"Try a smaller learning rate, e.g. --set learning_rate={learning_rate / 10:g}"
    else:
        advice = (
            f"The cost is {kept_cost} even at those weights, so the data (or the starting weights) overflow "
            f"whatever the learning rate: check the data's scale (dataset.standardize: true) and dtype"
        )
    err_console.print(
        f"[bold red]error:[/] training diverged at epoch {epoch} (cost {cost}); kept the last finite weights. {advice}",
        markup=True,
        soft_wrap=True,
    )


def gradcheck_table(results) -> Table:
    table = Table(title="gradient check: backprop vs central differences (float64)", box=box.SIMPLE_HEAD)
    table.add_column("network", overflow="fold", min_width=11)
    for name, justify in (("tensor", "left"), ("shape", "left"), ("n", "right"), ("small", "right"),
                          ("kinks", "right"), ("rel err", "right"), ("abs err", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify, no_wrap=True)
    previous = None
    for r in results:
        style = {"pass": "green", "FAIL": "bold red", "skipped": "yellow"}[r.verdict]
        table.add_row(
            r.case if r.case != previous else "", r.tensor, "x".join(map(str, r.shape)), str(r.checked),
            str(r.small), str(r.skipped), f"{r.max_rel_error:.2e}" if r.max_rel_error == r.max_rel_error else "-",
            f"{r.max_abs_error:.2e}",
            f"[{style}]{r.verdict}[/]",
        )
        previous = r.case
    table.caption = (
        "n: entries compared; small: too small for a relative check, passed when |a-n| is within the "
        "differences' rounding noise; kinks: skipped, a perturbation crossed a ReLU kink; "
        "rel err: max |a-n|/max(|a|,|n|) of the other entries"
    )
    return table


def print_prediction_table(out, cols, outputs) -> None:
    """A rich table per chunk of outputs (one for any ordinary input)."""
    target = make_console(file=out) if out is not None else console
    for i, h in enumerate(outputs):
        table = Table(box=box.SIMPLE_HEAD, show_header=i == 0)
        for name in cols.names:
            table.add_column(name, justify="left" if name == "prediction" else "right")
        for row in table_rows(cols, h):
            table.add_row(*row)
        target.print(table)


def print_test_report(summary) -> None:
    """After `run`: the classification report on the test split, when there is one."""
    dataset = summary.dataset
    if dataset.test is None or not dataset.is_classification:
        return
    h = summary.network.predict(dataset.test.X)
    report = classification_report(h, dataset.test.Y, dataset.preprocessing.classes, summary.metrics.get("test_cost"))
    render_report(report, console, "test split")


def _pct(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3f}"


def render_report(report: ClassificationReport, target: Console, title: str) -> None:
    """Accuracy line, a per-class precision/recall table and the confusion matrix."""
    cost = "" if report.cost is None else f", cost {report.cost:.6g}"
    target.print(f"[bold]{title}[/]: {report.rows} rows, accuracy {report.accuracy:.4f}{cost}")
    names = [str(c) for c in report.classes]
    per_class = Table(title="per class")
    for column in ("class", "precision", "recall", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    support = report.confusion.sum(axis=1)
    for name, p, r, n in zip(names, report.precision, report.recall, support):
        per_class.add_row(name, _pct(p), _pct(r), str(int(n)))
    target.print(per_class)
    title = "confusion matrix (rows: true class, columns: predicted)"
    matrix = Table(title=title, min_width=len(title))  # never narrower than its title: rich would wrap it
    matrix.add_column("true \\ pred", justify="left")
    for name in names:
        matrix.add_column(name, justify="right")
    for i, name in enumerate(names):
        cells = [f"[bold]{v}[/]" if i == j and v else ("." if v == 0 else str(v)) for j, v in enumerate(report.confusion[i])]
        matrix.add_row(name, *cells)
    target.print(matrix)
