"""Reading YAML configs as YAML 1.2 does, with the line of every key.

`parse_yaml(text, source)` gives the data and a map of key paths to lines, so that
messages can say `configs/x.yaml: line 7: ...`; a key given twice, a syntax error or
a control character is a UserError naming the file, line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from nntrain.errors import UserError
from nntrain.safety.special_files import refuse_special_file

#: A field path (as pydantic reports it, union tags dropped) -> 1-based line of its key in the file.
KeyLines = dict[tuple[str, ...], int]


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading numbers and booleans as YAML 1.2 does.

    PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string, `1:30` is the
    base-60 number 90, `010` is octal 8 and `yes`, `no`, `on`, `off` are booleans
    (so a CSV column named `no` could not be a target). The config models are strict
    (`true` is not a number, `"0.1"` is not either), so scalars are resolved here, in
    the file and in `--set` alike: true/false (also True, TRUE, False, FALSE); decimal
    integers (no leading zero; `1_000` allowed, a readability the models keep); decimal
    floats with or without a dot before an exponent, `.inf`, `.nan`. Anything else that
    looks numeric or boolean stays text and fails validation with a message.
    """


_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
ConfigLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
ConfigLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
            |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml_value(text: str, source: str):
    """One YAML value (a `--set` VALUE) read as a config file is: one document, the config's
    numbers and booleans, a key given twice refused; a UserError naming `source` otherwise."""
    try:
        node, data = _compose(text)
    except (yaml.YAMLError, RecursionError):
        raise UserError(f"{source}: the value is not valid YAML; quote text with spaces or colons") from None
    _refuse_duplicate_keys(node, source)
    return data


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    """The single YAML document in `text`: its node tree (for key lines) and its data."""
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    refuse_special_file(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not UTF-8 text; a config is a YAML text file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None


def parse_yaml(text: str, source: str) -> tuple[Any, KeyLines]:
    """The YAML document in `text` as plain data, and the line of every key in it."""
    try:
        node, data = _compose(text)
    except yaml.MarkedYAMLError as err:
        raise UserError(f"{source}: {_describe_yaml_error(err)}") from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise UserError(
            f"{source}: line {line}, column {column}: YAML syntax error: "
            f"control character U+{_code_point(err.character):04X} is not allowed in YAML text"
        ) from None
    except yaml.YAMLError as err:
        raise UserError(f"{source}: YAML syntax error: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise UserError(f"{source}: the YAML is nested too deeply to be a config") from None
    _refuse_duplicate_keys(node, source)
    return data, key_lines(node)


def _code_point(character: int | str | bytes) -> int:
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def _place(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _describe_yaml_error(err: yaml.MarkedYAMLError) -> str:
    """`line L, column C: YAML syntax error: problem (while ... at line L2, column C2)`."""
    mark = err.problem_mark or err.context_mark
    text = f"{_place(mark)}: " if mark else ""
    text += f"YAML syntax error: {err.problem or err.context or 'not valid YAML'}"
    if err.problem and err.context and err.problem.startswith("but "):  # "expected X, but found Y"
        text = text.replace(err.problem, f"{err.context}, {err.problem}")
    elif err.problem and err.context:
        where = f" at {_place(err.context_mark)}" if err.context_mark and err.context_mark is not mark else ""
        text += f" ({err.context}{where})"
    return text


def _yaml_keys(node: yaml.Node | None) -> Iterator[tuple[tuple[str, ...], yaml.Node, yaml.Node]]:
    """Every (path, key node, value node) of a composed YAML node tree, parents
    first; a sequence item's key node is the item itself."""
    seen: set[int] = set()
    stack: list[tuple[tuple[str, ...], yaml.Node]] = [((), node)] if node is not None else []
    while stack:
        path, current = stack.pop()
        if id(current) in seen:  # aliases may make a cycle
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            children = [(str(k.value), k, v) for k, v in current.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(current, yaml.SequenceNode):
            children = [(str(i), v, v) for i, v in enumerate(current.value)]
        else:
            continue
        for part, key_node, value_node in children:
            yield path + (part,), key_node, value_node
            stack.append((path + (part,), value_node))


def key_lines(node: yaml.Node | None) -> KeyLines:
    """Path of keys/indices -> 1-based line where it starts, for a composed YAML node tree."""
    lines: KeyLines = {}
    for path, key_node, _ in _yaml_keys(node):
        lines.setdefault(path, key_node.start_mark.line + 1)
    return lines


def _refuse_duplicate_keys(node: yaml.Node | None, source: str) -> None:
    """A key given twice in one mapping is an error: YAML loaders silently keep the last."""
    first: dict[tuple[str, ...], yaml.Node] = {}
    for path, key_node, value_node in _yaml_keys(node):
        if key_node is value_node:
            continue  # a sequence item
        earlier = first.setdefault(path, key_node)
        if earlier is not key_node:
            raise UserError(
                f"{source}: line {key_node.start_mark.line + 1}: {'.'.join(path)}: given twice "
                f"(first at line {earlier.start_mark.line + 1}); keep one"
            )
