"""The space of a sweep or a search: SLM-Lab's search-spec suffixes (``slm_lab/spec/*``), parsed once.

- ``KEY=[a,b,c]`` (or Hydra's ``a,b,c``, or ``KEY__grid=[...]``): a grid axis;
- ``KEY__choice=[a,b]``, ``KEY__uniform=[lo,hi]``, ``KEY__loguniform=[lo,hi]``: sampled ``samples``
  times (crossed with the grid axes), from numpy's generator seeded with the config's ``seed``.

Only an algorithm's traced hyperparameters (its ``traced=True`` fields) share a program; the
combinations are grouped by everything else (``group_trials``), one compiled program per group.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math

import numpy as np

from rlx.config import ConfigError, RunConfig, to_dict
from rlx.config.schema import traced_names

DISTS = ("grid", "choice", "uniform", "loguniform")
SWEEP_OPTIONS = ("samples",)


@dataclasses.dataclass(frozen=True)
class Dim:
    key: str  # dotted config key, e.g. "algo.lr"
    kind: str  # one of DISTS
    values: tuple  # grid/choice values, or (lo, hi)

    def sample(self, rng: np.random.Generator):
        if self.kind == "uniform":
            return float(rng.uniform(*self.values))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.values[0]), math.log(self.values[1]))))
        return self.values[int(rng.integers(len(self.values)))]


def parse_space(spec: dict, prefix: str, options: tuple = SWEEP_OPTIONS) -> tuple[list[Dim], dict]:
    """``{key[__dist]: value}`` from ``cli_config.split_prefixed`` -> (dimensions, options)."""
    dims, opts = [], {}
    for raw, value in spec.items():
        if raw in options:
            opts[raw] = value
            continue
        key, _, kind = raw.partition("__")
        kind = kind or "grid"
        where = f"{prefix}.{raw}"
        if kind not in DISTS:
            raise ConfigError(f"{where}: unknown space {kind!r}; allowed: {', '.join('__' + d for d in DISTS)}")
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a list, e.g. {prefix}.{key}=[a,b] (one value: use {key}=a)")
        if kind in ("uniform", "loguniform"):
            ok = len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            if not ok or not value[0] < value[1] or (kind == "loguniform" and value[0] <= 0):
                raise ConfigError(
                    f"{where}: expected [low, high] with low < high"
                    + (" and low > 0" if kind == "loguniform" else "")
                    + f", got {value}"
                )
        dims.append(Dim(key, kind, tuple(value)))
    if not dims:
        raise ConfigError(f"{prefix}: no dimensions; e.g. {prefix}.algo.lr=[1e-4,3e-4,1e-3]")
    samples = opts.get("samples", 0)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 0:
        raise ConfigError(f"{prefix}.samples: expected an integer >= 0, got {samples!r}")
    sampled = [d.key for d in dims if d.kind != "grid"]
    if sampled and not samples:
        raise ConfigError(f"{prefix}.{sampled[0]}: a sampled dimension needs {prefix}.samples=N")
    return dims, opts


def combinations(dims: list[Dim], samples: int, seed: int) -> list[dict]:
    """Grid axes crossed with ``samples`` random draws of the sampled ones (SLM-Lab's search)."""
    rng = np.random.default_rng(seed)
    grid = [d for d in dims if d.kind == "grid"]
    sampled = [d for d in dims if d.kind != "grid"]
    out = []
    for values in itertools.product(*(d.values for d in grid)):
        for _ in range(max(samples, 1)):
            combo = {d.key: v for d, v in zip(grid, values, strict=True)}
            combo.update({d.key: d.sample(rng) for d in sampled})
            out.append(combo)
    return out


def apply(data: dict, combo: dict) -> dict:
    """A composed config dict with ``combo``'s dotted keys set."""
    data = copy.deepcopy(data)
    for key, value in combo.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {p} is not a mapping")
        node[leaf] = value
    return data


def traced_keys(config: RunConfig) -> tuple[str, ...]:
    """The algorithm's traced hyperparameters; ``gamma`` is static when the reward normaliser uses it."""

    names = traced_names(config.algo)
    if config.wrappers.normalize_reward:
        names = tuple(n for n in names if n != "gamma")  # NormalizeReward's discount is built into the env
    return names


def static_signature(config: RunConfig, traced: tuple) -> str:
    d = to_dict(config)
    d["algo"] = {k: v for k, v in d["algo"].items() if k not in traced}
    return json.dumps(d, sort_keys=True, default=str)


def group_trials(configs: list[RunConfig]) -> list[list[int]]:
    """Trial indices grouped by everything that is not a traced hyperparameter (one program each)."""
    groups: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(static_signature(cfg, traced_keys(cfg)), []).append(i)
    return list(groups.values())


def label(combo: dict) -> str:
    """``lr=0.0003 ent_coef=0.01``: a combination as the ranking and error messages name it."""

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)

    return " ".join(f"{k.removeprefix('algo.')}={fmt(v)}" for k, v in combo.items())
