"""Pydantic validation errors as plain lines, one per problem:

    `configs/x.yaml: line 7: optimizer.momentum: 2 is out of range; allowed: a number >= 0 and < 1`

naming the file, the line of the offending key (when the YAML text is known),
the field path, what was wrong and what is allowed.
"""

from __future__ import annotations

import difflib
import reprlib
from typing import Any, Callable, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from nntrain.config.yaml_io import KeyLines
from nntrain.errors import MAX_MESSAGE_LINES, capped_lines


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
        return f"{show_value(given)} is not allowed; allowed: {_list_example(e, given)}"
    if kind == "too_short":
        return f"has {ctx.get('actual_length')} item(s); allowed: at least {ctx.get('min_length')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        named = field is not None and any("name" in m.model_fields for m in _models_in(field.annotation))
        what = "a name, or a mapping with a 'name' key" if named else "a mapping of keys"
        if tuple(e["loc"][:1]) == ("early_stopping",):  # also a switch (see RunConfig._true_means_the_defaults)
            what = "true, false, or a mapping of keys (patience, monitor, ...)"
        elif tuple(e["loc"][:1]) == ("batch_norm",):  # likewise
            what = "true, false, or a mapping of keys (momentum, eps)"
        return f"{show_value(given)} is not allowed; allowed: {what}"
    msg = e["msg"].removeprefix("Value error, ")
    if kind != "value_error" and given is not None and not isinstance(given, (dict, list)):
        msg += f" (got {show_value(given)})"
    return msg


#: Fields holding lists of column names: their example is a list of names, not of sizes.
COLUMN_LISTS = ("drop", "categorical", "features", "target")


def _list_example(e: dict, given) -> str:
    """What a list field takes, with an example of its own kind (`drop: row_id` -> `[row_id]`)."""
    if e["loc"] and e["loc"][0] == "dataset" and any(key in COLUMN_LISTS for key in e["loc"][1:]):
        name = given if isinstance(given, str) and given else "row_id"
        return f"a list of column names, e.g. [{name}] or [{name}, notes]"
    return "a list, e.g. [2, 3, 1]"


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
    errors = err.errors()
    if len(errors) > MAX_MESSAGE_LINES:  # describe only the first ones in file order (100,000 would take seconds)
        rough = [(_line_of([str(p) for p in e["loc"]], lines or {}) or 0, i) for i, e in enumerate(errors)]
        errors = [errors[i] for _, i in sorted(rough)[:MAX_MESSAGE_LINES]]
    out = []
    for e in errors:
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
    ordered = [text for _, text in sorted(out, key=lambda item: item[0])]  # in file order
    return "\n".join(capped_lines(ordered, err.error_count()))
