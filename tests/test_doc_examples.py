"""Every runnable example of README.md and docs/*.md (a ```console block: docs/design.md says
the rules) runs as shown: its commands in a folder of their own holding configs/, the README's
penguins.csv and the YAML files the page shows, their output matching what the page shows.
And the checker itself: it fails when a shown output is not what the program prints."""

from __future__ import annotations

import shutil

import pytest

from conftest import CONFIGS, REPO, run_cli
from data.test_tables import penguins
from doc_examples import Example, mismatch, read_page

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUNNABLE = [p for p in PAGES if read_page(p.read_text(encoding="utf-8")).examples]
SLOW_PAGES = {"README.md", "cli.md", "tracking.md", "tune.md"}  # runs of seconds each (tune: a study; tracking: MLflow's import)
COLUMNS = "100"  # the docs' examples are laid out for 100 columns


def run_page(text: str, folder) -> list[str]:
    """Run a page's steps in `folder`; one message per example whose output differs (or that
    failed with no output shown)."""
    (folder / "configs").exists() or shutil.copytree(CONFIGS, folder / "configs")
    (folder / "penguins.csv").exists() or penguins(folder / "penguins.csv")
    problems = []
    for step in read_page(text).steps:
        if step[0] == "file":
            (folder / step[1]).write_text(step[2], encoding="utf-8")
            continue
        example: Example = step[1]
        proc = run_cli(*example.args, cwd=folder, columns=COLUMNS, merged=True)
        if not example.expected and proc.returncode != 0:
            problems.append(f"line {example.line}: nntrain {' '.join(example.args)} exited {proc.returncode}:\n{proc.stdout}")
            continue
        differs = mismatch(example.expected, proc.stdout)
        if differs:
            problems.append(f"line {example.line}: nntrain {' '.join(example.args)}\n{differs}")
    return problems


@pytest.mark.parametrize("page", [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW_PAGES else [])
                                  for p in RUNNABLE])
def test_the_runnable_examples_print_what_the_docs_show(page, tmp_path):
    problems = run_page(page.read_text(encoding="utf-8"), tmp_path)
    assert not problems, f"{page.name}:\n" + "\n\n".join(problems)


def test_the_readme_and_the_manual_have_runnable_examples():
    names = {p.name for p in RUNNABLE}
    assert {"README.md", "cli.md", "tune.md", "tracking.md"} <= names, names


XOR_PAGE = """\
Some prose.

```yaml
# tiny.yaml
dataset: xor
task: classification
layers: [2, 3, 1]
epochs: 5
```

```console
$ nntrain run tiny.yaml -q
done 5 epochs in ... s, final cost {cost}
...
```
"""


def test_the_checker_passes_a_true_example_and_fails_when_the_output_changes(tmp_path):
    (tmp_path / "tiny.yaml").write_text("dataset: xor\ntask: classification\nlayers: [2, 3, 1]\nepochs: 5\n")
    proc = run_cli("run", "tiny.yaml", "--out", "probe", "-q", cwd=tmp_path)
    cost = next(line for line in proc.stdout.splitlines() if line.startswith("done")).split("final cost ")[1]
    (tmp_path / "true").mkdir()
    assert run_page(XOR_PAGE.format(cost=cost), tmp_path / "true") == []
    changed = cost[:-1] + str((int(cost[-1]) + 1) % 10)  # one digit off
    (tmp_path / "changed").mkdir()
    problems = run_page(XOR_PAGE.format(cost=changed), tmp_path / "changed")
    assert len(problems) == 1 and f"final cost {changed}" in problems[0] and f"final cost {cost}" in problems[0]


@pytest.mark.parametrize("shown, printed, same", [
    (["done in ... s"], "done in 0.43 s\n", True),
    (["a", "...", "d"], "a\nb\nc\nd\n", True),
    (["a", "...", "d"], "a\nd\n", True),
    (["a", "d"], "a\nb\nd\n", False),
    (["cost 0.0131547"], "cost 0.0131548\n", False),
    (["x ━━━━ epoch 10/10 cost 0.5 0:00:00", "done"], "epoch 5/10, cost 1\nepoch 10/10, cost 0.5\ndone\n", True),
    (["┏━━━┓", "done"], "epoch 5/10, cost 1\n┏━━━┓\ndone\n", False),  # a table's rule is no bar
    (["done"], "done   \n\n", True),
    (["a ... c"], "a b\nc\n", False),  # an inline ellipsis stays within its line
])
def test_the_ellipsis_rules(shown, printed, same):
    assert (mismatch(shown, printed) is None) is same
