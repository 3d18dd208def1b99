"""Composes a run config the way the CLI does, for the CLI and for notebooks alike.

Precedence, low to high: the config dataclasses' defaults (the only place defaults are written),
the bench file (``+bench=``, composed by Hydra), the bench's ``tuned.<algo>`` section, then the
command line's ``key=value`` overrides (Hydra's syntax). ``algo=<name>`` picks the algorithm (a
name in ``rlx.algos.ALGOS``, not a yaml file). ``rlx.config`` then validates the result. Every
failure is a ``ConfigError`` with one line.
"""

from __future__ import annotations

import importlib.resources
import pathlib

from rlx.config.run import RunConfig, run_config_from_dict
from rlx.config.schema import ConfigError
from rlx.errors import first_line

GROUPS = ("algo", "bench")
DEFAULT_BENCH = "classic/cartpole"
DEFAULT_ALGO = "ppo"


def _configs_root() -> pathlib.Path:
    return pathlib.Path(str(importlib.resources.files("rlx.configs")))


def available(group: str) -> list[str]:
    if group == "algo":
        from rlx.algos import ALGOS

        return sorted(ALGOS)
    root = _configs_root() / group
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.append(parser.parse_override(text))
        except Exception as err:
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"{text}: cannot parse override ({msg}); use key=value") from None
    return parsed


def split_prefixed(overrides, prefix: str) -> tuple[list[str], dict]:
    """Takes ``<prefix>.key=value`` overrides (sweep / search specs) out of ``overrides``.

    Returns the other overrides and ``{key: value}``; Hydra's sweep syntax ``a,b,c`` is allowed
    here and gives the list of its values (everywhere else it stays an error).
    """
    rest, found = [], {}
    for text in overrides:
        if not text.lstrip("+").startswith(prefix + "."):
            rest.append(text)
            continue
        (ov,) = _parse([text.lstrip("+")])
        key = ov.key_or_group[len(prefix) + 1 :]
        found[key] = list(ov.sweep_iterator()) if ov.is_sweep_override() else ov.value()
    return rest, found


def _bench_file(value) -> pathlib.Path | None:
    """``+bench=path/to/file.yaml``: a bench-style yaml outside the package (e.g. rlx.search's best.yaml)."""
    if isinstance(value, str) and value.endswith((".yaml", ".yml")) and pathlib.Path(value).is_file():
        return pathlib.Path(value)
    return None


def compose_dict(overrides: list[str] | tuple[str, ...] = ()) -> dict:
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    parsed = _parse(list(overrides))
    group_overrides, value_overrides, bench_file, algo_name = [], [], None, DEFAULT_ALGO
    for text, ov in zip(overrides, parsed, strict=True):
        key = ov.key_or_group
        if ov.is_delete():
            raise ConfigError(f"{key}: deleting keys (~key) is not supported")
        if key in GROUPS:
            if key == "bench" and not ov.is_add():
                text = "+" + text  # `bench=x` and `+bench=x` mean the same here
            value = ov.value()
            if key == "bench" and _bench_file(value):
                bench_file = _bench_file(value)
                continue
            if not isinstance(value, str) or value not in available(key):
                raise ConfigError(f"{key}: unknown {key} {value!r}; allowed: {', '.join(available(key))}")
            if key == "algo":
                given = [o for o in overrides if o.lstrip("+").split("=", 1)[0] == "algo"]
                if len(given) > 1:
                    raise ConfigError(f"algo: given twice ({' '.join(given)}); give one")
                algo_name = value
            else:
                group_overrides.append(text)
        elif ov.is_sweep_override():
            raise ConfigError(f"{key}: sweeps (a,b,c) are not supported here; give one value")
        else:
            value_overrides.append((key, ov.value()))
    if (
        bench_file is None
        and not any(o.lstrip("+").startswith("bench=") for o in group_overrides)
        and not any(k == "env" for k, _ in value_overrides)
    ):
        group_overrides.append(f"+bench={DEFAULT_BENCH}")  # bare `python -m rlx.train`: PPO on CartPole

    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module="rlx.configs", version_base="1.3"):
            cfg = compose(config_name="config", overrides=group_overrides)
    except Exception as err:
        first = first_line(err)
        raise ConfigError(f"config: {first}") from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_struct(cfg, False)
    if bench_file is not None:
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.load(bench_file))
        except Exception as err:
            first = first_line(err)
            raise ConfigError(f"bench: {bench_file}: unreadable ({first})") from None
    cfg.algo = {"name": algo_name}
    tuned = cfg.get("tuned") or {}
    if algo_name in tuned:
        cfg = OmegaConf.merge(cfg, tuned[algo_name])
    for key, value in value_overrides:
        OmegaConf.update(cfg, key, value, merge=True, force_add=True)
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("tuned", None)
    bench = next(
        (o.split("=", 1)[1] for o in group_overrides if o.lstrip("+").startswith("bench=")),
        str(bench_file) if bench_file else None,
    )
    if data.get("bench") is None:
        data["bench"] = bench
    return data


def load_run(run_dir: str | pathlib.Path) -> RunConfig:
    """The validated config a run folder was started with (its ``config.yaml``), for resume and enjoy."""
    path = pathlib.Path(run_dir) / "config.yaml"
    if not pathlib.Path(run_dir).is_dir():
        raise ConfigError(f"{run_dir}: no such run folder")
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no config.yaml)")
    from omegaconf import OmegaConf

    try:
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as err:
        first = first_line(err)
        raise ConfigError(f"{path}: unreadable ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a config mapping")
    return run_config_from_dict(data)


def load(*overrides: str, bench: str | None = None, algo: str | None = None) -> RunConfig:
    """``load(bench="classic/cartpole", algo="ppo")`` or ``load("+bench=classic/acrobot", "algo.lr=1e-3")``."""
    ovs = list(overrides)
    if bench:
        ovs.insert(0, f"+bench={bench}")
    if algo:
        ovs.insert(0, f"algo={algo}")
    data = compose_dict(ovs)
    from rlx.experiment import parallel

    parallel.initialize_from(data)  # distributed.enabled: jax.distributed first, before validation imports envs
    return run_config_from_dict(data)
