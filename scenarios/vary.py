"""`--vary KEY=V1,V2,...`: a what-if axis, its path checked against the scenario model, and each
point's scenario (the data as written with the axes' values set).

KEY is a dotted path into the scenario model (`region.programs.cpcplus_t2.hybrid_bp`,
`referrals.avoidable_slope_bp`, `payers.commercial.programs.pcf.leakage_adjustment`); the short
form `programs.X...` means `region.programs.X...`.
"""

from __future__ import annotations

import copy
import itertools
import types
import typing
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel

from claimsim.events.errors import UserError

from claimsim.scenarios.spec import Scenario, validate

ALIASES = {"programs": "region.programs"}


@dataclass(frozen=True)
class Axis:
    path: str  # canonical dotted path
    values: tuple[Any, ...]


def _scalar(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t.replace("_", ""))
    except ValueError:
        return t


def canonical_path(path: str) -> str:
    head, _, rest = path.partition(".")
    return f"{ALIASES[head]}.{rest}" if head in ALIASES and rest else path


def _unwrap(annotation: Any) -> Any:
    """The model or dict type inside Optional/Annotated wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def check_path(path: str, *, table_ok: bool = False) -> list[bool]:
    """Walk the scenario model along `path`; an unknown step is a UserError with the choices, and
    so is a path to a table unless `table_ok` (`with_value` may set a whole one). Returns, for
    each step, whether it names a table (a dict-typed key: `population.lob_mix_bp`, `lags`,
    `region.programs.pcf.figures`) rather than a section or a value."""
    model: Any = Scenario
    walked: list[str] = []
    tables: list[bool] = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        where = ".".join(walked) or "the scenario"
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = model.model_fields
            if part not in fields:
                raise UserError(f"--vary {path}: {part!r} is not a key of {where}"
                                f" (choose from {', '.join(sorted(fields))})")
            model = _unwrap(fields[part].annotation)
        elif typing.get_origin(model) is dict:
            key_type, value_type = typing.get_args(model)
            choices = ([m.value for m in key_type]
                       if isinstance(key_type, type) and issubclass(key_type, Enum) else None)
            if choices is not None and part not in choices:
                raise UserError(f"--vary {path}: {part!r} is not a key of {where}"
                                f" (choose from {', '.join(choices)})")
            model = _unwrap(value_type)
        else:
            raise UserError(f"--vary {path}: {where} is a single value ({part!r} goes too deep)")
        walked.append(part)
        tables.append(typing.get_origin(model) is dict)
    if not table_ok and ((isinstance(model, type) and issubclass(model, BaseModel))
                         or typing.get_origin(model) is dict):
        raise UserError(f"--vary {path}: names a table, not a value; go one level deeper")
    return tables


def parse_vary(text: str) -> Axis:
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise UserError(f"--vary {text!r}: expected KEY=V1,V2,... (e.g."
                        " region.programs.cpcplus_t2.hybrid_bp=0,2500,4000,6500)")
    path = canonical_path(key.strip())
    check_path(path)
    return Axis(path, tuple(_scalar(v) for v in values.split(",")))


def with_value(data: dict[str, Any], path: str, value: Any,
               in_force: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of scenario `data` (as written) with `path` set to `value`.

    A table the data does not give is first copied whole from `in_force` (the scenario's model
    dumped: `Scenario.model_dump(mode="json")`), so `population.lob_mix_bp.medicaid=5000` changes
    that one weight of the mix in force; a table of that one key would replace the whole default
    (a table written in a scenario replaces the default's whole: docs/scenario-reference.md)."""
    out = copy.deepcopy(data)
    node, source = out, in_force
    parts = path.split(".")
    for part, table in zip(parts[:-1], check_path(path, table_ok=True)):
        source = source.get(part) if isinstance(source, dict) else None
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = copy.deepcopy(source) if table and isinstance(source, dict) else {}
        node = nxt
    node[parts[-1]] = value
    return out


@dataclass(frozen=True)
class Point:
    index: int
    values: tuple[tuple[str, Any], ...]  # (path, value) per axis

    @property
    def label(self) -> str:
        return ",".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in self.values)


def points(data: dict[str, Any], axes: list[Axis], origin: str) -> list[tuple[Point, Scenario, dict]]:
    """Every combination of the axes' values, validated (a bad value names the key and value)."""
    out = []
    in_force = validate(data, origin).model_dump(mode="json")
    for i, combo in enumerate(itertools.product(*(a.values for a in axes))):
        point_data = data
        for axis, value in zip(axes, combo):
            point_data = with_value(point_data, axis.path, value, in_force)
        where = f"{origin} with " + ", ".join(f"{a.path}={v}" for a, v in zip(axes, combo))
        out.append((Point(i, tuple((a.path, v) for a, v in zip(axes, combo))),
                    validate(point_data, where), point_data))
    return out
