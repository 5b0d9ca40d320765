"""The manual stays true: its tables of names are the registries' names, its links resolve,
and the README stays a front door."""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from nntrain.data.formats import FORMATS
from nntrain.model.activations import OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.initializers import INITIALIZERS
from nntrain.training.optimizers import OPTIMIZERS
from nntrain.training.schedules import SCHEDULES

DOCS = REPO / "docs"


def table_names(markdown: str, heading: str) -> list[str]:
    """The backticked names in the first column of the first table under `heading`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    names, in_table = [], False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            in_table = True
            first = line.split("|")[1].strip()
            names += re.findall(r"^`([^`]+)`$", first)
        elif in_table or line.startswith("#"):
            break
    return names


@pytest.mark.parametrize(
    "heading, registry",
    [
        ("### Activations", OUTPUT_ACTIVATIONS),
        ("### Costs", COSTS),
        ("### Initialisers", INITIALIZERS),
        ("### Optimizers", OPTIMIZERS),
        ("### Learning-rate schedules", SCHEDULES),
        ("### Data formats", FORMATS),
    ],
)
def test_config_reference_tables_list_exactly_the_registry(heading, registry):
    names = table_names((DOCS / "config.md").read_text(encoding="utf-8"), heading)
    assert names == list(registry), f"{heading} in docs/config.md lists {names}; the registry has {list(registry)}"


def test_table_names_reads_the_first_column_of_the_table_under_its_heading():
    text = "## A\n\n| name | x |\n|---|---|\n| `one` | 1 |\n| `two` | 2 |\n\nafter\n| `three` | 3 |\n"
    assert table_names(text, "## A") == ["one", "two"]


def test_readme_is_a_front_door():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for page in ("cli", "config", "data", "safety", "design"):
        assert f"docs/{page}.md" in readme, f"the README does not link docs/{page}.md"
    assert "seed 00" not in readme  # the tutorials are "tutorial 000..003", never "seed"


def test_relative_links_in_the_docs_resolve():
    pages = [REPO / "README.md", REPO / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_the_missing_markers_are_the_same_in_the_reader_the_message_and_data_md():
    from nntrain.data.columns import MARKERS_SHOWN
    from nntrain.data.formats.common import MISSING_MARKERS

    shown = [marker.strip() for marker in MARKERS_SHOWN.split(",")]
    assert sorted(m.lower() for m in shown) == sorted(m for m in MISSING_MARKERS if m)
    data_md = (DOCS / "data.md").read_text(encoding="utf-8")
    assert ", ".join(f"`{m}`" for m in shown) in data_md
