"""The scenario file reference (docs/scenario-reference.md), generated from the pydantic models so
it cannot drift from what `claimsim run` accepts: every key by dotted path (the same paths
`--vary` takes), its type, default and limits, and the comment the model's source gives it.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from claimsim.scenarios.spec import PLAN_KEYS, Scenario

_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$")


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """Trailing `# ...` comments on each field's line in the class source (its documentation)."""
    out: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        for line in source.splitlines():
            m = _COMMENT.match(line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"table ({_type_name(key)} -> {_type_name(value)})"
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation) if a is not Ellipsis)
        name = {tuple: "array", frozenset: "array", list: "array"}.get(origin, str(origin))
        return f"{name} of {args}" if args else name
    if annotation is type(None):
        return "none"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(m.value for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _default(info: Any) -> str:
    if info.default is not PydanticUndefined:
        value = info.default
    elif info.default_factory is not None:
        value = info.default_factory()
    else:
        return "(required)"
    if isinstance(value, BaseModel):
        return "(table below)"
    if isinstance(value, dict):
        if value and all(isinstance(v, BaseModel) for v in value.values()):
            return "(table below)"
        return _plain(value)
    return _plain(value)


def _plain(value: Any) -> str:
    """A default as it would be written in TOML (an inline table for a table or a model)."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_plain(k)} = {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return "{" + ", ".join(f"{k} = {_plain(v)}" for k, v in value) + "}"
    if isinstance(value, (tuple, list, frozenset, set)):
        return "[" + ", ".join(sorted(_plain(v) for v in value) if isinstance(value, (set, frozenset))
                               else [_plain(v) for v in value]) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _bounds(metadata: Any) -> list[str]:
    parts = []
    # `Annotated[int, Field(ge=0)]` carries a FieldInfo whose own metadata holds the bounds.
    expanded = [x for m in metadata for x in (getattr(m, "metadata", None) or [m])]
    for m in expanded:
        for name, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, name, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return parts


def _inner_limits(annotation: Any, role: str) -> list[str]:
    """Limits inside a type: a table's keys and values, an array's items (`each >= 0`)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        found = _bounds(metadata)
        out = [f"{role} {', '.join(found)}"] if found and role else found
        return out + _inner_limits(base, role)
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(annotation) for x in _inner_limits(a, role)]
    if origin is dict:
        key, value = typing.get_args(annotation)
        return _inner_limits(key, "keys") + _inner_limits(value, "values")
    if origin in (tuple, list, frozenset):
        seen: list[str] = []
        for a in typing.get_args(annotation):
            for x in _inner_limits(a, "each"):
                if x not in seen:
                    seen.append(x)
        return seen
    return []


def _limits(info: Any) -> str:
    own = ", ".join(_bounds(info.metadata))
    return "; ".join(_unique([own, *_inner_limits(info.annotation, "")]))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _unwrap_model(annotation: Any) -> tuple[type[BaseModel] | None, str | None]:
    """(the model a field holds, or holds per key of a table; the key's name)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(annotation):
            found = _unwrap_model(a)
            if found[0] is not None:
                return found
        return None, None
    if origin is dict:
        key, value = typing.get_args(annotation)
        if typing.get_origin(key) is typing.Annotated:
            key = typing.get_args(key)[0]
        model, inner = _unwrap_model(value)
        if model is not None:
            if key is int:
                name = "year"
            elif key is str:
                name = "name"
            else:
                name = re.sub(r"(?<!^)(?=[A-Z])", "_", key.__name__).lower()
            return model, f"{name}>.<{inner}" if inner else name
        return None, None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, None
    return None, None


def _section(model: type[BaseModel], path: str, out: list[str], seen: set[str]) -> None:
    comments = _comments(model)
    doc = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    out += [f"### `{path or '(top level)'}`", ""]
    if doc:
        out += [doc, ""]
    out += ["| key | type | default | limits | notes |", "| --- | --- | --- | --- | --- |"]
    nested = []
    for name, info in model.model_fields.items():
        sub, key_name = _unwrap_model(info.annotation)
        full = f"{path}.{name}" if path else name
        out.append(f"| `{name}` | {_type_name(info.annotation)} | `{_default(info)}` | {_limits(info)}"
                   f" | {comments.get(name, '').replace('|', '/')} |")
        if sub is not None:
            nested.append((sub, f"{full}.<{key_name}>" if key_name else full))
    out.append("")
    for sub, sub_path in nested:
        if sub_path not in seen:
            seen.add(sub_path)
            _section(sub, sub_path, out, seen)


def reference_markdown() -> str:
    out = [
        "# Scenario file reference",
        "",
        "Generated from the pydantic models by `claimsim scenarios --reference` (do not edit by hand;",
        "`tests/scenarios/test_scenario_docs.py` checks it is current). Every key below is a TOML key",
        "of a scenario file, and its dotted path is what `claimsim whatif --vary PATH=V1,V2` takes",
        "(`programs.X` is short for `region.programs.X`). Money is integer cents, rates integer basis",
        "points (40 % = 4000). Unknown keys and bad values are errors naming the file and the key.",
        "",
        "Table keys written `<program_kind>`, `<line_of_business>`, `<practice_kind>` take the values",
        "listed in their type; `<year>` is a plan year. Under `region.programs.<program_kind>` the",
        "`kind` is filled in from the table's key, and programs not named keep their defaults;",
        "`utilization.profiles` likewise keeps every profile and key not given. Every other table",
        "given in a file replaces the default's whole: `[population.lob_mix_bp]` with only",
        "`commercial = 5000` is a region of commercial members only; a `figures` table, and a",
        "plan's table under `payers.<line_of_business>.plans`, must name every plan year the run",
        "reaches, and a table that must name every key (`prevalence_bp`, `lags`) says which are",
        "missing (each checked before anything is simulated). `--vary` of one key of a table",
        "changes that key of the table in force (`population.lob_mix_bp.medicaid=2200,5000` keeps",
        "the other weights).",
        "Plan keys under `payers.<line_of_business>.plans`: "
        + "; ".join(f"{lob.value}: {', '.join(keys)}" for lob, keys in PLAN_KEYS.items()) + ".",
        "",
    ]
    _section(Scenario, "", out, set())
    return "\n".join(out).rstrip() + "\n"
