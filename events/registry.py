"""The event type registry: `(type, v)` -> pydantic model, and upcasters between versions.

Readers ask for the current version of a type; an event stored at an older version is migrated
on read by the upcasters registered for it (as the eventsourcing library does), so old logs stay
readable without ever being rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EventError(Exception):
    """A problem with one stored event; `seq` says which, when known."""

    def __init__(self, message: str, *, seq: int | None = None):
        self.seq = seq
        super().__init__(message if seq is None else f"seq {seq}: {message}")


class UnknownEventType(EventError):
    pass


class UnknownEventVersion(EventError):
    pass


class EventData(BaseModel):
    """Base of every event's `data`. Subclasses set TYPE and V (their current version)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str] = ""
    V: ClassVar[int] = 1


_MODELS: dict[str, dict[int, type[EventData]]] = {}
_CURRENT: dict[str, int] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def event_type(name: str, version: int = 1):
    """Class decorator: register a data model as `name` at `version` (the current one if highest)."""

    def register(cls: type[EventData]) -> type[EventData]:
        versions = _MODELS.setdefault(name, {})
        if version in versions:
            raise ValueError(f"event type {name} v{version} registered twice")
        versions[version] = cls
        cls.TYPE = name  # type: ignore[misc]
        cls.V = version  # type: ignore[misc]
        _CURRENT[name] = max(_CURRENT.get(name, 0), version)
        return cls

    return register


def upcaster(name: str, from_version: int):
    """Register `fn(data at from_version) -> data at from_version + 1`."""

    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]):
        _UPCASTERS[(name, from_version)] = fn
        return fn

    return register


def _ensure_vocabulary() -> None:
    """Register the built-in event types on first use, whoever asks first."""
    if "claim.submitted" not in _CURRENT:
        import claimsim.events.vocabulary  # noqa: F401


def current_version(name: str) -> int:
    _ensure_vocabulary()
    try:
        return _CURRENT[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}") from None


def current_versions() -> dict[str, int]:
    """type -> current version, for readers that check each raw envelope (the live mapping:
    read-only for callers)."""
    _ensure_vocabulary()
    return _CURRENT


def known_types() -> list[str]:
    _ensure_vocabulary()
    return sorted(_CURRENT)


def model_for(name: str, version: int | None = None) -> type[EventData]:
    _ensure_vocabulary()
    versions = _MODELS.get(name)
    if versions is None:
        raise UnknownEventType(f"unknown event type {name!r}")
    version = _CURRENT[name] if version is None else version
    try:
        return versions[version]
    except KeyError:
        raise UnknownEventVersion(f"event type {name!r} has no version {version}") from None


def readable_header(env: dict[str, Any]) -> bool:
    """Whether an envelope's type and `at` are text and its `v` a version number (an int from 1):
    what this code can read, upcast, or refuse by name, and date. Any other (a list as the type,
    a version as text, 0 or less, a number as the date) makes its line unreadable wherever an
    input is read (the runtimes answer it with a rejection, the projections' follower passes it
    by), and a log holding it broken for `log verify` (`bad_json`, not an envelope)."""
    v = env.get("v")
    return (type(env.get("type")) is str and type(v) is int and v >= 1
            and type(env.get("at")) is str)


def check_known(name: str, version: int, *, seq: int | None = None) -> None:
    """Raise a typed error unless `(name, version)` is readable (directly or by upcasting)."""
    _ensure_vocabulary()
    versions = _MODELS.get(name)
    if versions is None:
        raise UnknownEventType(f"unknown event type {name!r}", seq=seq)
    if version not in versions and not (
        version < _CURRENT[name] and all((name, v) in _UPCASTERS for v in range(version, _CURRENT[name]))
    ):
        raise UnknownEventVersion(f"event type {name!r} has no version {version}", seq=seq)


def upcast(name: str, version: int, data: dict[str, Any], *, seq: int | None = None) -> dict[str, Any]:
    """Migrate `data` from `version` to the current version of `name`."""
    check_known(name, version, seq=seq)
    current = _CURRENT[name]
    if version > current:
        raise UnknownEventVersion(
            f"event type {name!r} v{version} is newer than this code (v{current})", seq=seq
        )
    while version < current:
        step = _UPCASTERS.get((name, version))
        if step is None:
            raise UnknownEventVersion(f"no upcaster for {name!r} v{version}", seq=seq)
        data = step(data)
        version += 1
    return data


def upcast_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """A raw envelope at an older version, migrated to the current one (a new dict; the stored
    `hash` still covers the stored bytes). Raises `UnknownEventVersion` for a version this code
    cannot upcast (newer than the code, or no upcaster)."""
    name, seq = envelope["type"], envelope.get("seq")
    data = upcast(name, envelope["v"], envelope["data"], seq=seq)
    return {**envelope, "v": _CURRENT[name], "data": data}


def decode(envelope: dict[str, Any]) -> EventData:
    """The validated, current-version data model of a raw envelope."""
    name, version, seq = envelope["type"], envelope["v"], envelope.get("seq")
    data = upcast(name, version, envelope["data"], seq=seq)
    return model_for(name).model_validate(data)
