"""The schema machinery of every config: frozen dataclasses checked field by field.

Every config is a frozen dataclass. ``from_dict`` checks a plain mapping (what Hydra composes)
against it before anything is built or compiled: an unknown key, a wrong type or an
out-of-range value raises ``ConfigError`` with one line naming the key and what is allowed.
Constraints live beside each field as metadata (``check=...``), so the schema is the one place
that says what is legal.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A bad config value; ``str(err)`` is the one line the CLI prints."""


# ---------------------------------------------------------------- field constraints


def positive(x):
    return None if x > 0 else "must be > 0"


def non_negative(x):
    return None if x >= 0 else "must be >= 0"


def unit_interval(x):
    return None if 0 <= x <= 1 else "must be in [0, 1]"


def open_unit(x):
    return None if 0 < x <= 1 else "must be in (0, 1]"


def between(lo, hi):
    """An inclusive range; the upper bounds keep values inside what the program can count (int32 shapes
    and PRNG seeds), so a typo like ``num_envs=1e9`` is one line here, not an overflow after compiling."""

    def check(x):
        return None if lo <= x <= hi else f"must be in [{lo:,}, {hi:,}]"

    return check


def non_empty(x):
    return None if x.strip() else "must not be empty"


def folder_name(x):
    """A run-folder name: one path component, so a run never writes outside ``logger.out_dir``."""
    if not x.strip() or x in (".", "..") or "/" in x or "\\" in x:
        return "must be a plain folder name (no '/', not '.' or '..')"
    return None


def detect_or_positive(x):
    """-1 leaves the value to be detected (jax.distributed reads SLURM / Open MPI); else a count."""
    return None if x == -1 or x > 0 else "must be -1 (detect) or > 0"


def repo_id(x):
    """A HuggingFace Hub repo id, ``namespace/name`` or ``name`` (the token's own namespace)."""
    return None if re.fullmatch(r"([\w.-]+/)?[\w.-]+", x) else "must be namespace/name (letters, digits, - _ .)"


def host_port(x):
    host, _, port = x.rpartition(":")
    return None if host and port.isdigit() else "must be host:port"


def choice(*options):
    def check(x):
        return None if x in options else f"must be one of: {', '.join(map(str, options))}"

    check.options = options
    return check


def field(default=dataclasses.MISSING, *, check=None, help="", traced=False, default_factory=dataclasses.MISSING):
    """A config field with its constraint and help. ``traced=True`` declares a hyperparameter that
    does not change shapes: it lives in the train state as a float32 array, so ``vmap`` over states
    sweeps it in one program (rejax's ``pytree_node`` pattern); the sweep reads this flag."""
    meta = {"check": check, "help": help, "traced": traced}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def traced_names(config) -> tuple[str, ...]:
    """The traced hyperparameters of a config (instance or class), in field order."""
    return tuple(f.name for f in dataclasses.fields(config) if f.metadata.get("traced"))


# ---------------------------------------------------------------- coercion


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _coerce(value, tp, path):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, path)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{path}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        if dataclasses.is_dataclass(value):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return from_dict(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    if tp in (int, float):
        return _number(value, tp, path)
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}: expected a string, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    raise ConfigError(f"{path}: unsupported type {_type_name(tp)}")


def _number(value, tp, path):
    """An int or a finite float; ``2e5`` (YAML and the command line write big ints so) is an int."""
    wanted = "an integer" if tp is int else "a number"
    given = value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{path}: expected {wanted}, got {given!r}")
    if tp is float:
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise ConfigError(f"{path}: expected {wanted}, got {value!r}")
    return int(value)


def from_dict(cls, data: dict, path: str = ""):
    """Builds and validates ``cls`` from a mapping; raises ``ConfigError`` on the first problem."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key; allowed: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            continue
        value = _coerce(data[name], hints[name], prefix + name)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                shown = f"{value:.3g}" if isinstance(value, int) and abs(value) >= 10**15 else repr(value)
                raise ConfigError(f"{prefix}{name}: {problem}, got {shown}")
        kwargs[name] = value
    try:
        obj = cls(**kwargs)
    except TypeError as err:  # a required field was not given
        raise ConfigError(f"{path or cls.__name__}: {err}") from None
    validate = getattr(obj, "validate", None)
    if validate is not None:
        problem = validate()
        if problem:
            raise ConfigError(f"{prefix}{problem}")
    return obj


def to_dict(obj) -> dict:
    """Plain nested dict (tuples as lists) for YAML/JSON."""

    def convert(v):
        if dataclasses.is_dataclass(v):
            return {f.name: convert(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [convert(x) for x in v]
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        return v

    return convert(obj)


def describe(config, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, value, help)`` for every field of a config instance, nested configs flattened into
    dotted keys: the generated reference of ``--help`` (CleanRL's tyro help is the model)."""
    rows = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            rows += describe(value, key + ".")
            continue
        notes = [f.metadata.get("help", "")]
        check = f.metadata.get("check")
        if getattr(check, "options", None):
            notes.append("one of: " + ", ".join(map(str, check.options)))
        if f.metadata.get("traced"):
            notes.append("[traced: sweepable in one program]")
        shown = list(value) if isinstance(value, tuple) else value
        text = "null" if shown is None else str(shown).lower() if isinstance(shown, bool) else str(shown)
        rows.append((key, text, "; ".join(n for n in notes if n)))
    return rows
