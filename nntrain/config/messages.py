"""Reading a YAML config with key line numbers, and turning pydantic errors into plain lines.

Every message is one line per problem:
    `configs/x.yaml: line 7: optimizer.momentum: 2 is out of range; allowed: a number >= 0 and < 1`
naming the file, the line of the offending key (when the YAML text is known),
the field path, what was wrong and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from pathlib import Path
from typing import Any, Callable, Iterator, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from nntrain.errors import UserError

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


# -- YAML ---------------------------------------------------------------------


def read_text(path: Path) -> str:
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


# -- pydantic errors -------------------------------------------------------------


def _suggest(word: Any, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (through Optional, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _tagged(models: list[type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Union members by their `name` literal (the config's tag for optimizer and init)."""
    return {str(m.model_fields["name"].default): m for m in models if "name" in m.model_fields}


def _walk(root: type[BaseModel], loc: tuple) -> tuple[list, FieldInfo | None, type[BaseModel] | None]:
    """Follow a pydantic error location through the models.

    Returns the path as the user wrote it (union tags such as `optimizer.adam.beta1`'s
    `adam` dropped), the last field found on the way, and the model that holds
    (or should hold) the last part.
    """
    shown: list = []
    field: FieldInfo | None = None
    model: type[BaseModel] | None = root
    holder: type[BaseModel] | None = root
    i = 0
    while i < len(loc):
        part = loc[i]
        holder = model
        shown.append(part)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            field = model.model_fields[part]
            members = _models_in(field.annotation)
            model = members[0] if len(members) == 1 else None
            tags = _tagged(members) if len(members) > 1 else {}
            if i + 1 < len(loc) and loc[i + 1] in tags:
                model = tags[loc[i + 1]]
                i += 1  # the tag is pydantic's, not a key the user wrote
        elif isinstance(part, int) and field is not None and get_args(field.annotation):
            # a list item: its constraints are those of the list's item type
            field = FieldInfo.from_annotation(get_args(field.annotation)[0])
            model = None
        else:
            model = None
        i += 1
    return shown, field, holder


def _bounds(field: FieldInfo | None, ctx: dict) -> str:
    """`>= 0 and < 1` from the field's constraints, or the one in the error's context."""
    sources = list(field.metadata) if field is not None else []
    found = {}
    for item in sources:
        for op in ("gt", "ge", "lt", "le"):
            if getattr(item, op, None) is not None:
                found[op] = getattr(item, op)
    if not found:
        found = {op: ctx[op] for op in ("gt", "ge", "lt", "le") if op in ctx}
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{symbols[op]} {value}" for op, value in found.items())


def _kind_word(field: FieldInfo | None, default: str) -> str:
    if field is not None and (field.annotation is float or float in get_args(field.annotation)):
        return "a number"
    return default


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxstring = short.maxother = 60
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 6
    short.maxlevel = 2
    return short


_SHORT = _short_repr()


def show_value(value: Any) -> str:
    """A given value as the message shows it, cut short: a YAML alias can make a
    small file stand for a list of millions of items."""
    text = _SHORT.repr(value)
    return text if len(text) <= 80 else text[:76] + " ..."


def _describe(e: dict, field: FieldInfo | None, holder: type[BaseModel] | None) -> str:
    """What is wrong with one error, and what is allowed."""
    kind, ctx, given = e["type"], e.get("ctx", {}), e.get("input")
    if kind == "extra_forbidden":
        fields = list(holder.model_fields) if holder is not None else []
        allowed = f"; allowed: {', '.join(fields)}" if fields else ""
        return f"unknown key '{e['loc'][-1]}'{_suggest(e['loc'][-1], fields)}{allowed}"
    if kind == "invalid_key":
        return f"key {show_value(given)} is not allowed; allowed: text keys such as {', '.join(list(holder.model_fields)[:3]) if holder else 'name'}"
    if kind == "missing":
        hint = f" ({field.description})" if field is not None and field.description else ""
        return f"is required{hint}"
    if kind == "literal_error":
        options = [o.strip(" '") for o in ctx.get("expected", "").replace(" or ", ", ").split(",")]
        return f"'{given}' is not allowed{_suggest(given, options)}; allowed: {', '.join(options)}"
    if kind == "union_tag_invalid":
        options = [o.strip(" '") for o in ctx.get("expected_tags", "").split(",")]
        return f"unknown name '{ctx.get('tag')}'{_suggest(ctx.get('tag'), options)}; allowed: {', '.join(options)}"
    if kind == "union_tag_not_found":
        names = ", ".join(_tagged(_models_in(field.annotation))) if field is not None else ""
        return f"needs a 'name' key; allowed names: {names}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        bounds = _bounds(field, ctx)
        hint = f" (write {int(given)})" if isinstance(given, float) and given.is_integer() else ""
        return f"{show_value(given)} is not a whole number{hint}; allowed: a whole number{' ' + bounds if bounds else ''}"
    if kind in ("float_parsing", "float_type"):
        bounds = _bounds(field, ctx)
        return f"{show_value(given)} is not a number; allowed: a number{' ' + bounds if bounds else ''}"
    if kind == "finite_number":
        return f"{show_value(given)} is not allowed; allowed: a finite number"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{show_value(given)} is out of range; allowed: {_kind_word(field, 'a whole number')} {_bounds(field, ctx)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{show_value(given)} is not allowed; allowed: true or false"
    if kind == "string_type":
        return f"{show_value(given)} is not allowed; allowed: text"
    if kind == "list_type":
        return f"{show_value(given)} is not allowed; allowed: a list, e.g. [2, 3, 1]"
    if kind == "too_short":
        return f"has {ctx.get('actual_length')} item(s); allowed: at least {ctx.get('min_length')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        named = field is not None and any("name" in m.model_fields for m in _models_in(field.annotation))
        what = "a name, or a mapping with a 'name' key" if named else "a mapping of keys"
        if tuple(e["loc"][:1]) == ("early_stopping",):  # also a switch (see RunConfig._early_stopping_flag)
            what = "true, false, or a mapping of keys (patience, monitor, ...)"
        return f"{show_value(given)} is not allowed; allowed: {what}"
    msg = e["msg"].removeprefix("Value error, ")
    if kind != "value_error" and given is not None and not isinstance(given, (dict, list)):
        msg += f" (got {show_value(given)})"
    return msg


def _line_of(loc: list, lines: KeyLines) -> int | None:
    """Line of the longest prefix of `loc` that the file has (an unknown key's own line)."""
    path = tuple(str(p) for p in loc)
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def format_validation_error(
    err: ValidationError,
    source: str,
    root: type[BaseModel],
    lines: KeyLines | None = None,
    origin: Callable[[str], str | None] | None = None,
) -> str:
    """One line per problem: `source: line N: field.path: what is wrong; what is allowed`.

    `origin(dotted_path)` may name another source for a problem (a `--set` option);
    such a line carries no file line number.
    """
    out = []
    for e in err.errors():
        shown, field, holder = _walk(root, tuple(e["loc"]))
        dotted = ".".join(str(p) for p in shown)
        other = origin(dotted) if origin is not None else None
        line = None if other else _line_of(shown, lines or {})
        where = f"line {line}: " if line else ""
        field_path = "".join(
            f"[{p}]" if isinstance(p, int) and e["type"] != "invalid_key" else f".{p}" for p in shown
        ).lstrip(".")
        field_path = f"{field_path}: " if field_path else ""
        out.append((line or 0, f"{other or source}: {where}{field_path}{_describe(e, field, holder)}"))
    return "\n".join(text for _, text in sorted(out, key=lambda item: item[0]))  # in file order
