"""Hyperparameter sweeps inside one compiled program: ``vmap`` over ``state.hparams`` x seeds.

``python -m rlx.train +bench=classic/cartpole algo=ppo sweep.algo.lr=[1e-4,3e-4,1e-3] sweep.algo.ent_coef=[0,0.01]``
trains every combination x every seed as one batch: the runner's chunk program
(``rlx.experiment.runner.compile_chunk``) over a leading axis of ``trials x seeds``, each element with its own
traced hyperparameters. Every trial uses the same ``num_seeds`` seed keys as a plain run, so trials
differ only by their hyperparameters (common random numbers).

The space (SLM-Lab's search-spec suffixes, ``slm_lab/spec/*``):

- ``sweep.KEY=[a,b,c]`` (or Hydra's ``a,b,c``, or ``KEY__grid=[...]``): a grid axis;
- ``sweep.KEY__choice=[a,b]``, ``sweep.KEY__uniform=[lo,hi]``, ``sweep.KEY__loguniform=[lo,hi]``:
  sampled, ``sweep.samples=N`` times (crossed with the grid axes), from numpy's generator seeded
  with the config's ``seed`` (the same command samples the same combinations).

Only an algorithm's traced hyperparameters (its ``traced=True`` fields) share a program. Any other key
(``algo.num_steps``, ``num_envs``, ``algo.hidden`` ...) changes shapes: the combinations are grouped
by their static values and each group is compiled and run as its own program, one after the other.

Writes ``<out_dir>/<name>/``: ``trials/<i>/{config.yaml,metrics.csv,trial_metrics.json}``,
``ranking.csv`` / ``ranking.md`` (best first), ``sweep.json``, ``plots/total_reward_ma.png`` and
``best.yaml`` (a bench-style file: ``python -m rlx.train +bench=<dir>/best.yaml algo=<name>``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import itertools
import json
import math
import pathlib
import re
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from rlx.experiment import scoring as slm
from rlx.experiment import parallel, runner
from rlx.config import ConfigError, RunConfig, run_config_from_dict, to_dict
from rlx.config.schema import traced_names

DISTS = ("grid", "choice", "uniform", "loguniform")
SWEEP_OPTIONS = ("samples",)
BENCH_KEYS = ("env", "env_kwargs", "num_envs", "max_frame", "log_frequency", "num_seeds", "wrappers")
PLOT_TOP = 8


# ---------------------------------------------------------------- the space


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
            combo = {d.key: v for d, v in zip(grid, values)}
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


def _static_signature(config: RunConfig, traced: tuple) -> str:
    d = to_dict(config)
    d["algo"] = {k: v for k, v in d["algo"].items() if k not in traced}
    return json.dumps(d, sort_keys=True, default=str)


def group_trials(configs: list[RunConfig]) -> list[list[int]]:
    """Trial indices grouped by everything that is not a traced hyperparameter (one program each)."""
    groups: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(_static_signature(cfg, traced_keys(cfg)), []).append(i)
    return list(groups.values())


# ---------------------------------------------------------------- running


def _label(combo: dict) -> str:
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)

    return " ".join(f"{k.removeprefix('algo.')}={fmt(v)}" for k, v in combo.items())


def hparams_batch(configs: list[RunConfig], names: tuple, num_seeds: int) -> dict:
    """``{name: float32[trials * seeds]}``: trial-major, each trial's value repeated over its seeds."""
    return {
        n: jnp.asarray(np.repeat([float(getattr(c.algo, n)) for c in configs], num_seeds), jnp.float32) for n in names
    }


def _run_group(configs: list[RunConfig], trial_dirs: list, progress) -> list[dict]:
    """Trains the trials of one group (same static config) as one program; returns per-trial results."""
    from rlx.algos import algo_module
    from rlx.envs.baseline import random_return
    from rlx.experiment.csvlog import CsvLog

    base = configs[0]
    module = algo_module(base.algo.name)
    algo = module.make_algo(base)
    T, S = len(configs), base.num_seeds
    F = algo.frames_per_update
    num_updates, chunk_len, num_chunks, is_log = runner.chunk_plan(base, algo)
    # every traced hyperparameter goes in the batch; those outside traced_keys (gamma under reward
    # normalisation) are equal within a group, since the group is keyed on them
    names = traced_names(base.algo)
    keys = jnp.tile(jax.random.split(jax.random.key(base.seed), S), T)  # trial-major: seed s at t * S + s
    sharding = parallel.seed_sharding(T * S, base.distributed.devices)
    progress.message(
        f"rlx: sweep group of {T} trials x {S} seeds on {parallel.describe(sharding)} | "
        f"{num_updates * F:,} frames/seed in {num_updates} updates, {num_chunks} chunks"
    )
    t0 = time.perf_counter()
    state = jax.jit(jax.vmap(algo.init), out_shardings=sharding)(keys, hparams_batch(configs, names, S))
    compiled = runner.compile_chunk(algo, state, chunk_len)
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    progress.message(f"rlx: compiled in {compile_s:.1f}s")

    csvs = [CsvLog(d / "metrics.csv") for d in trial_dirs] if trial_dirs else []
    diverged = np.zeros(T, bool)
    rows_frames, rows_reward = [], []  # rows_reward: (T * S,) per log point
    done, t_train = 0, time.perf_counter()
    try:
        for _ in range(num_chunks):
            n_valid = min(chunk_len, num_updates - done)
            state, m = compiled(state, jnp.int32(n_valid))
            m = {k: np.asarray(v).T[:n_valid] for k, v in parallel.fetch(m).items()}  # (updates, T * S)
            if "loss" in m:
                diverged |= ~np.isfinite(m["loss"]).reshape(n_valid, T, S).all(axis=(0, 2))
            idx = np.arange(done, done + n_valid)
            elapsed = time.perf_counter() - t_train
            for j in np.nonzero(is_log[idx])[0]:
                u = int(idx[j]) + 1
                rows_frames.append(u * F)
                rows_reward.append(m["episode_return"][j])
                ma = runner._nan_mean(np.asarray(rows_reward[-slm.MA_WINDOW :]))
                for t, csv in enumerate(csvs):
                    csv.write(
                        [
                            {
                                "seed": base.seed + s,
                                "frame": u * F,
                                "update": u,
                                "opt_steps": u * algo.grad_steps_per_update,
                                "total_reward": float(m["episode_return"][j, t * S + s]),
                                "total_reward_ma": float(ma[t * S + s]),
                                **{k: float(v[j, t * S + s]) for k, v in m.items() if k != "episode_return"},
                                "wall_s": round(elapsed, 3),
                            }
                            for s in range(S)
                        ]
                    )
            done += n_valid
            latest = m["episode_return"][-1]
            progress.update(
                done * F,
                done * F * T * S / max(elapsed, 1e-9),
                float(np.nanmean(latest)) if np.isfinite(latest).any() else float("nan"),
                force=done == num_updates,
            )
    finally:
        for csv in csvs:
            csv.close()
    jax.block_until_ready(state)
    train_s = time.perf_counter() - t_train

    frames = np.asarray(rows_frames)
    reward = np.asarray(rows_reward).T.reshape(T, S, -1)
    r_rand = random_return(base.env, base.env_kwargs)
    opt_steps = frames // F * algo.grad_steps_per_update
    results = []
    for t in range(T):
        res = slm.trial_metrics(frames, reward[t], opt_steps, r_rand)
        if diverged[t]:  # a non-finite loss: ranked last, whatever its returns were
            res["trial"] = {k: float("nan") for k in res["trial"]}
        results.append(
            {
                **res,
                "diverged": bool(diverged[t]),
                "frames_per_seed": int(frames[-1]),
                "random_return": r_rand,
                "compile_s": compile_s,
                "train_s": train_s,
                "group_trials": T,
            }
        )
    return results


def _rank_key(score: float) -> float:
    return -score if np.isfinite(score) else math.inf


def format_table(rows: list[dict], keys: list[str]) -> str:
    """Markdown table of ranked trials: rank, trial, swept values, SLM-Lab trial metrics."""
    cols = ["rank", "trial"] + keys + ["total_reward_ma", "strength", "final_strength", "consistency"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        vals = [str(r["rank"]), str(r["trial"])]
        vals += [f"{r['hparams'][k]:.4g}" if isinstance(r["hparams"][k], float) else str(r["hparams"][k]) for k in keys]
        vals += [f"{r['trial_metrics'][k]:.4g}" for k in cols[2 + len(keys) :]]
        vals[-1] += f" ({r['note']})" if r.get("note") else ""
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)


def write_bench_yaml(path: pathlib.Path, config: RunConfig, note: str) -> pathlib.Path:
    """A bench-style yaml (``configs/bench`` layout) pinning ``config``: the run keys a bench carries
    and the whole algorithm config under ``tuned.<algo>``; ``+bench=<path>`` reads it back."""
    from omegaconf import OmegaConf

    d = to_dict(config)
    algo = {k: v for k, v in d["algo"].items() if k != "name"}
    data = {k: d[k] for k in BENCH_KEYS}
    data["tuned"] = {config.algo.name: {"algo": algo}}
    header = "# @package _global_\n" + "".join(f"# {line}\n" for line in note.splitlines())
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + OmegaConf.to_yaml(OmegaConf.create(data)))
    return path


def sweep(overrides: list[str], stream=None) -> dict:
    """Runs the sweep the overrides describe; returns the summary written to ``sweep.json``."""
    from rlx.config.compose import compose_dict, split_prefixed

    stream = stream or sys.stderr
    t_start = time.perf_counter()
    rest, spec = split_prefixed(overrides, "sweep")
    dims, opts = parse_space(spec, "sweep")
    base = compose_dict(rest)
    parallel.initialize_from(base)  # several machines: before anything touches a device
    base_config = run_config_from_dict(base)  # the plain config must be valid on its own
    combos = combinations(dims, opts.get("samples", 0), base_config.seed)
    configs = []
    for combo in combos:
        try:
            configs.append(run_config_from_dict(apply(base, combo)))
        except ConfigError as err:
            raise ConfigError(f"sweep: {_label(combo)}: {err}") from None
    groups = group_trials(configs)
    runner.enable_compilation_cache()

    write = base_config.logger.csv and parallel.is_main_process()
    stamp = datetime.datetime.now().strftime("%Y_%m_%d_%H%M%S")
    env_tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", base_config.env)
    out = pathlib.Path(base_config.logger.out_dir) / (
        base_config.logger.name or f"sweep_{base_config.algo.name}_{env_tag}_{stamp}"
    )
    from rlx.experiment.progress import Progress

    progress = Progress(base_config.max_frame, enabled=base_config.logger.progress, stream=stream)
    static = sorted({d.key for d in dims} - {f"algo.{n}" for n in traced_keys(base_config)})
    progress.message(
        f"rlx: sweep of {len(configs)} combinations x {base_config.num_seeds} seeds in "
        f"{len(groups)} compiled program{'s' if len(groups) > 1 else ''}"
        + (f" (shape-changing keys: {', '.join(static)})" if static else "")
        + (f" | {out}" if write else "")
    )
    trial_dirs = [out / "trials" / f"{i:03d}" for i in range(len(configs))]
    if write:
        for d, cfg in zip(trial_dirs, configs):
            d.mkdir(parents=True, exist_ok=True)
            runner._write_yaml(d / "config.yaml", to_dict(cfg))
    results: list = [None] * len(configs)
    for group in groups:
        res = _run_group([configs[i] for i in group], [trial_dirs[i] for i in group] if write else [], progress)
        for i, r in zip(group, res):
            results[i] = r
    keys = [d.key for d in dims]
    rows = [
        {
            "trial": i,
            "hparams": combos[i],
            "label": _label(combos[i]),
            "trial_metrics": results[i]["trial"],
            "diverged": results[i]["diverged"],
            "note": "diverged" if results[i]["diverged"] else "",
        }
        for i in range(len(configs))
    ]
    rows.sort(key=lambda r: (_rank_key(r["trial_metrics"]["total_reward_ma"]), r["trial"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    table = format_table(rows, keys)
    wall_s = time.perf_counter() - t_start
    best = rows[0]
    summary = {
        "env": base_config.env,
        "algo": base_config.algo.name,
        "bench": base_config.bench,
        "space": [dataclasses.asdict(d) for d in dims],
        "samples": opts.get("samples", 0),
        "num_trials": len(configs),
        "num_seeds": base_config.num_seeds,
        "programs": len(groups),
        "ranking": rows,
        "wall_s": wall_s,
        "compile_s": sum(results[g[0]]["compile_s"] for g in groups),
        "train_s": sum(results[g[0]]["train_s"] for g in groups),
        "versions": runner.versions(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if write:
        for i, d in enumerate(trial_dirs):
            (d / "trial_metrics.json").write_text(
                json.dumps(
                    {
                        "env": base_config.env,
                        "algo": base_config.algo.name,
                        "hparams": combos[i],
                        "num_seeds": base_config.num_seeds,
                        "trial": results[i]["trial"],
                        "sessions": [{"seed": base_config.seed + s, **x} for s, x in enumerate(results[i]["sessions"])],
                        **{k: results[i][k] for k in ("diverged", "frames_per_seed", "random_return")},
                    },
                    indent=2,
                )
            )
        (out / "ranking.md").write_text(table + "\n")
        with open(out / "ranking.csv", "w") as f:
            cols = ["rank", "trial"] + keys + list(slm.SESSION_KEYS) + ["consistency", "diverged"]
            f.write(",".join(cols) + "\n")
            for r in rows:
                vals = [r["rank"], r["trial"]] + [r["hparams"][k] for k in keys]
                vals += [r["trial_metrics"][k] for k in cols[2 + len(keys) : -1]] + [r["diverged"]]
                f.write(",".join(json.dumps(v) if isinstance(v, (list, dict)) else str(v) for v in vals) + "\n")
        (out / "sweep.json").write_text(json.dumps(summary, indent=2, default=str))
        if np.isfinite(best["trial_metrics"]["total_reward_ma"]):
            write_bench_yaml(
                out / "best.yaml",
                configs[best["trial"]],
                f"best of the sweep {out.name}: {best['label']}\n"
                f"trial total_reward_ma {best['trial_metrics']['total_reward_ma']:.4g} "
                f"({base_config.num_seeds} seeds)",
            )
        if base_config.logger.plot:
            try:
                from rlx.evaluate.plot import plot_runs

                top = [r for r in rows if np.isfinite(r["trial_metrics"]["total_reward_ma"])][:PLOT_TOP]
                plot_runs(
                    [(f"#{r['rank']} {r['label']}", trial_dirs[r["trial"]]) for r in top],
                    out / "plots" / "total_reward_ma.png",
                    f"sweep: {base_config.algo.name} {base_config.env} (top {len(top)})",
                    column="total_reward_ma",
                )
            except Exception as err:  # a plot must never cost the sweep
                progress.message(f"rlx: plot skipped ({err})")
    progress.message(
        f"rlx: sweep of {len(configs)} x {base_config.num_seeds} seeds: compile "
        f"{summary['compile_s']:.1f}s, training {summary['train_s']:.1f}s, wall {wall_s:.1f}s"
    )
    print(table, flush=True)
    if write:
        print(f"rlx: best: {best['label']} -> {out / 'best.yaml'}", flush=True)
    summary["dir"] = str(out) if write else None
    return summary
