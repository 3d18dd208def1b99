"""Frozen, validated run configuration.

Every config is a frozen dataclass. ``from_dict`` checks a plain mapping (what Hydra composes)
against it before anything is built or compiled: an unknown key, a wrong type or an
out-of-range value raises ``ConfigError`` with one line naming the key and what is allowed.
Constraints live beside each field as metadata (``check=...``), so the schema is the one place
that says what is legal.
"""

from __future__ import annotations

import dataclasses
import math
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


def choice(*options):
    def check(x):
        return None if x in options else f"must be one of: {', '.join(map(str, options))}"

    check.options = options
    return check


def field(default=dataclasses.MISSING, *, check=None, help="", default_factory=dataclasses.MISSING):
    meta = {"check": check, "help": help}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


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
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{path}: expected an integer, got {value!r}") from None
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 2e5 from a YAML file or the command line
        if isinstance(value, int):
            return value
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{path}: expected a number, got {value!r}") from None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{path}: expected a finite number, got {value!r}")
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


def from_dict(cls, data: dict, path: str = ""):
    """Builds and validates ``cls`` from a mapping; raises ``ConfigError`` on the first problem."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{prefix}{unknown[0]}: unknown key; allowed: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            continue
        value = _coerce(data[name], hints[name], prefix + name)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"{prefix}{name}: {problem}, got {value!r}")
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


# ---------------------------------------------------------------- the run config


@dataclasses.dataclass(frozen=True)
class WrapperConfig:
    normalize_obs: bool = False
    normalize_reward: bool = False
    clip_obs: float = field(10.0, check=positive)
    clip_reward: float = field(10.0, check=positive)
    # training-only signals, outside the episode statistics (Atari: Mnih et al. 2015)
    episodic_life: bool = field(False, help="a lost life terminates the training episode")
    sign_reward: bool = field(False, help="train on sign(reward); statistics keep the raw reward")


@dataclasses.dataclass(frozen=True)
class LoggerConfig:
    progress: bool = True
    csv: bool = True
    wandb: bool = False
    out_dir: str = "runs"
    name: str | None = None
    plot: bool = True
    wandb_project: str = "rlx"


@dataclasses.dataclass(frozen=True)
class CheckpointConfig:
    """orbax checkpoints of the whole vmapped train state at chunk boundaries (rlx.checkpoint)."""

    enabled: bool = True
    every_chunks: int = field(1, check=positive, help="save every N chunks (and always after the last)")
    max_to_keep: int = field(2, check=positive, help="latest checkpoints kept, besides the best one")


@dataclasses.dataclass(frozen=True)
class HubConfig:
    """Mirror of the run folder to a HuggingFace Hub repo (rlx.hub); the token is never stored."""

    repo_id: str | None = None
    repo_type: str = field("model", check=choice("model", "dataset"))
    push_best: bool = False


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """Devices and machines (rlx.parallel): seeds sharded over local devices; multi-host through
    ``jax.distributed.initialize`` (unset fields are detected by jax on SLURM / Open MPI / TPU)."""

    devices: int = field(0, check=non_negative, help="devices to shard the seeds over; 0: all, 1: one")
    enabled: bool = field(False, help="call jax.distributed.initialize (several processes/machines)")
    coordinator_address: str | None = field(None, help="host:port of process 0")
    num_processes: int = field(-1, help="total processes; -1: detect")
    process_id: int = field(-1, help="this process; -1: detect")
    local_device_ids: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One trial: ``num_seeds`` sessions of one algorithm on one env, as SLM-Lab counts them."""

    algo: Any  # an algorithm's config dataclass (rlx.algos.ALGOS)
    env: str = "CartPole-v1"
    env_kwargs: dict = field(default_factory=dict)
    num_envs: int = field(4, check=positive)
    max_frame: int = field(200_000, check=positive, help="env steps over all envs of one seed")
    num_seeds: int = field(4, check=positive)
    seed: int = field(0, check=non_negative)
    log_frequency: int = field(500, check=positive, help="frames between log points")
    num_chunks: int = field(0, check=non_negative, help="host round-trips; 0 picks about 20")
    bench: str | None = None
    wrappers: WrapperConfig = field(default_factory=WrapperConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)


def run_config_from_dict(data: dict) -> RunConfig:
    """Validates a composed config; ``algo.name`` picks the algorithm's schema."""
    from rlx.algos import ALGOS, algo_config_class

    data = dict(data)
    algo = dict(data.pop("algo", None) or {"name": "ppo"})
    name = algo.get("name", "ppo")
    if name not in ALGOS:
        raise ConfigError(f"algo: unknown algorithm {name!r}; allowed: {', '.join(sorted(ALGOS))}")
    algo_cfg = from_dict(algo_config_class(name), algo, "algo")
    data.pop("tuned", None)
    cfg = from_dict(RunConfig, {**data, "algo": algo_cfg})
    from rlx import envs

    try:
        envs.resolve(cfg.env)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return cfg
