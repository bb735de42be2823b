"""Config dataclasses: typed fields with help text and ranges, shared by the CLI and the studio's forms.

Declare a field with :func:`param`; :func:`config_from_dict` turns JSON (or CLI strings) back into a
validated config and names the bad field in one sentence when something is off.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          choices: Sequence[Any] | None = None, label: str | None = None) -> Any:
    """A dataclass field carrying what a form or an argparse option needs to present it (``label``: the
    form's label where the field's name, capitalised, would not read well)."""
    meta = {"help": help, "min": min, "max": max, "choices": tuple(choices) if choices else None,
            "label": label}
    return dataclasses.field(default=default, metadata=meta)


class ConfigError(ValueError):
    pass


def field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(name: str, typ: Any, value: Any) -> Any:
    origin = typing.get_origin(typ)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or value == "none" or value == "":
            return None
        typ = args[0]
    if typ is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{name}: expected true or false, got {value!r}")
        return bool(value)
    if typ in (int, float, str):
        try:
            out = typ(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected {typ.__name__}, got {value!r}") from None
        if typ is int and isinstance(value, float) and value != int(value):
            raise ConfigError(f"{name}: expected a whole number, got {value!r}")
        return out
    return value


def config_from_dict(cls: type[T], values: dict[str, Any] | None = None, **overrides: Any) -> T:
    """Build ``cls`` from a dict, coercing types and checking ranges and choices."""
    values = {**(values or {}), **overrides}
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no setting {', '.join(unknown)}; known: {', '.join(names)}")
    types_ = field_types(cls)
    kwargs = {}
    for name, value in values.items():
        v = _coerce(name, types_[name], value)
        meta = names[name].metadata
        if v is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
            if meta.get("min") is not None and v < meta["min"]:
                raise ConfigError(f"{name} must be at least {meta['min']}, got {v}")
            if meta.get("max") is not None and v > meta["max"]:
                raise ConfigError(f"{name} must be at most {meta['max']}, got {v}")
        if meta.get("choices") and v not in meta["choices"]:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, meta['choices']))}, got {v!r}")
        kwargs[name] = v
    cfg = cls(**kwargs)
    check = getattr(cfg, "validate", None)
    if check is not None:
        check()
    return cfg


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
