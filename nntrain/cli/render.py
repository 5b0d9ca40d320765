"""What the commands draw with rich: run summaries, the classification report, the gradient
check's table, prediction tables, the divergence message."""

from __future__ import annotations

import math

import numpy as np
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nntrain.cli.common import console, err_console, fits, make_console, note, say
from nntrain.inference.report import MAX_CONFUSION_CLASSES, ClassificationReport


def epochs_done(metrics: dict) -> str:
    """'10 epochs', or after a Ctrl-C mid-epoch '9 epochs and part of epoch 10'."""
    n = metrics["epochs_run"]
    if metrics.get("last_epoch_partial"):
        return f"{_count(n - 1, 'epoch')} and part of epoch {n}" if n > 1 else "part of epoch 1"
    return _count(n, "epoch")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def same_digits(*values: float, digits: int = 6) -> list[str]:
    """`values` in one format: the same decimals for all, as many as `digits` significant digits
    of the largest needs (rmse 10.1140, mae 8.3666); a non-finite value as Python writes it."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    decimals = max(0, digits - 1 - (math.floor(math.log10(largest)) if largest > 0 else 0))
    return [f"{v:.{decimals}f}" if math.isfinite(v) else str(v) for v in values]


def regression_figures(rmse: float, mae: float) -> str:
    """`rmse 10.1140, mae 8.3666`: in one format (they share the target's units)."""
    shown_rmse, shown_mae = same_digits(rmse, mae)
    return f"rmse {shown_rmse}, mae {shown_mae}"


def r2_text(r2: float | None) -> str:
    return "-" if r2 is None or not math.isfinite(r2) else f"{r2:.4f}"


def print_summary(summary, threads: bool = False) -> None:
    """The run's last lines: done, how it stopped, (with `threads`) the BLAS thread count, the files."""
    m = summary.metrics
    resumed = f" ({m['epochs_run'] - m['resumed_from_epoch']} after resuming)" if m.get("resumed_from_epoch") else ""
    epochs = epochs_done(m)
    line = f"{epochs}{resumed} in {m['train_seconds']:.2f} s, final cost {m['final_cost']:.6g}"
    if m.get("last_epoch_partial"):
        line += " (over the part of the last epoch trained)"
    if "test_accuracy" in m:
        line += f", test accuracy {m['test_accuracy']:.4f}"
    elif "test_r2" in m:
        line += f", test r2 {r2_text(m['test_r2'])}, {regression_figures(m['test_rmse'], m['test_mae'])}"
    elif "test_cost" in m:
        line += f", test cost {m['test_cost']:.6g}"
    say(line, console, "done", "bold green")
    if m.get("stop_reason") not in (None, "completed"):
        say(f"stopped early: {m['stop_reason']}")
    if "best_epoch" in m:
        say(kept_weights(m))
    if threads and "threads_reason" in m:
        count = "left to the BLAS" if m["threads"] is None else m["threads"]
        say(f"threads: {count} ({m['threads_reason']})")
    say(f"wrote {', '.join(p.name for p in summary.files)} to {summary.out_dir}/")
    for line in summary.tracked:
        say(line)


def kept_weights(metrics: dict) -> str:
    """Which epoch's weights early stopping kept, and its figure."""
    best, kept = metrics["best_epoch"], metrics.get("kept_epoch", metrics["best_epoch"])
    monitor = next((k[len("best_"):] for k in metrics if k.startswith("best_") and k != "best_epoch"), "figure")
    value = metrics.get(f"best_{monitor}")
    figure = f"{monitor} {value:.6g}" if isinstance(value, (int, float)) else monitor
    if kept == best:
        return f"kept the weights of epoch {best}, the best ({figure})"
    return f"kept the weights of the last epoch, {kept}; the best was epoch {best} ({figure}; restore_best: false)"


#: The column summary lists at most this many columns; the rest are counted in one line.
SUMMARY_ROWS = 24


def print_data(data, config, quiet: bool) -> None:
    """Before training (before the progress bar starts): the notes and warnings the data gave,
    and (unless `quiet`) one line per column."""
    for line in data.notes(config):
        note(line)
    for line in data.warnings:
        say(line, err_console, "warning:", "bold yellow")
    if not quiet and data.dataset.columns:
        console.print(columns_table(data.dataset.columns))


def columns_table(rows) -> Table:
    """The data's columns: name, kind, levels, missing cells and what preparation does."""
    table = Table(title="columns", box=box.SIMPLE_HEAD)
    for name, justify in (("column", "left"), ("kind", "left"), ("levels", "right"), ("missing", "right"), ("action", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    shown = rows if len(rows) <= SUMMARY_ROWS else rows[: SUMMARY_ROWS - 2] + rows[-1:]
    for row in shown:
        table.add_row(row.name, row.kind, "" if row.levels is None else str(row.levels), f"{row.missing:,}" if row.missing else "", row.action)
    hidden = rows[SUMMARY_ROWS - 2 : -1] if len(rows) > SUMMARY_ROWS else []
    if hidden:
        missing = sum(r.missing for r in hidden)
        kinds = ", ".join(f"{n} {k}" for k, n in sorted({k: sum(r.kind == k for r in hidden) for k in {r.kind for r in hidden}}.items()))
        table.add_row(f"... {len(hidden):,} more ({kinds})", "", "", f"{missing:,}" if missing else "", "as above")
    return table


def print_small_predictions(summary) -> None:
    """For tiny tables (XOR, half adder) every training row's output, as the tutorials show them."""
    rows = summary.training_rows
    if rows is None:
        return
    table = Table(title="outputs on the training rows")
    for name in rows.input_names:
        table.add_column(name, justify="right")
    for name in rows.target_names:
        table.add_column(f"{name} (target)", justify="right")
        table.add_column(name, justify="right")
    for x, y, h in zip(rows.inputs, rows.targets, rows.outputs):
        cells = [f"{v:g}" for v in x]
        for t, o in zip(y, h):
            cells += [f"{t:g}", f"{o:.4f}"]
        table.add_row(*cells)
    console.print(table)


def report_divergence(summary, learning_rate: float) -> None:
    """The divergence line, with the likely cure: a smaller rate, unless even the kept
    weights give a non-finite cost on the training rows (then no rate would help)."""
    epoch = summary.metrics["epochs_run"]
    cost = summary.history.last().get("cost", float("nan"))
    kept_cost = summary.diverged_cost
    if kept_cost is not None and math.isfinite(kept_cost):
        advice = f"Try a smaller learning rate, e.g. --set learning_rate={learning_rate / 10:g}"
    else:
        advice = (
            f"The cost is {kept_cost} even at those weights, so the data (or the starting weights) overflow "
            f"whatever the learning rate: check the data's scale (dataset.standardize: true) and dtype"
        )
    say(f"training diverged at epoch {epoch} (cost {cost}); kept the last finite weights. {advice}", err_console, "error:", "bold red")


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
        "differences' rounding noise; kinks: skipped, a perturbation crossed a kink at 0 (relu, leaky_relu, elu); "
        "rel err: max |a-n|/max(|a|,|n|) of the other entries"
    )
    return table


def print_prediction_table(out, cols, outputs) -> None:
    """A rich table per chunk of outputs (one for any ordinary input)."""
    from nntrain.inference.outputs import table_rows

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
    if summary.test_report is not None:
        render_report(summary.test_report, console, "test split")


def _pct(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3f}"


def render_report(report: ClassificationReport, target: Console, title: str) -> None:
    """Accuracy line, a per-class precision/recall table and the confusion matrix (when it fits
    the console's width: a matrix cut short would show wrong counts)."""
    cost = "" if report.cost is None else f", cost {report.cost:.6g}"
    say(f"{report.rows} rows, accuracy {report.accuracy:.4f}{cost}", target, f"{title}:", "bold")
    names = [str(c) for c in report.classes]
    per_class = Table(title="per class")
    for column in ("class", "precision", "recall", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right", overflow="fold", no_wrap=column != "class")
    for name, p, r, n in zip(names, report.precision, report.recall, report.support):
        per_class.add_row(name, _pct(p), _pct(r), str(int(n)))
    target.print(per_class)
    if report.confusion is None:
        target.print(f"confusion matrix: not shown for {len(names):,} classes (at most {MAX_CONFUSION_CLASSES:,})")
        return
    matrix = Table()
    matrix.add_column("true \\ pred", justify="left", no_wrap=True)  # as wide as its longest label
    for name in names:
        matrix.add_column(name, justify="right", no_wrap=True)
    for i, name in enumerate(names):
        cells = [f"[bold]{v}[/]" if i == j and v else ("." if v == 0 else str(v)) for j, v in enumerate(report.confusion[i])]
        matrix.add_row(escape(name), *cells)
    if not fits(matrix, target):
        say(f"confusion matrix: {len(names)} classes do not fit in {target.width} columns "
            f"(COLUMNS); --format json holds it", target)
        return
    say("confusion matrix (rows: true class, columns: predicted)", target)
    target.print(matrix)


def print_importance(importance, target: Console) -> None:
    """Permutation importance per input column, the most important first: the drop of the
    figure when the column is shuffled, and its spread (standard deviation) over the repeats."""
    say(f"permutation importance: drop in {importance.metric} when a column is shuffled "
        f"({importance.baseline:.4f} unshuffled, {importance.repeats} repeats)", target)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("column", overflow="fold")
    table.add_column(f"drop in {importance.metric}", justify="right", no_wrap=True)
    table.add_column("std", justify="right", no_wrap=True)
    for column, mean, std in importance.ranked():
        table.add_row(escape(column), f"{mean:.4f}", f"{std:.4f}")
    target.print(table)
