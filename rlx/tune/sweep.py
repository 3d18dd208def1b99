"""Hyperparameter sweeps inside one compiled program: ``vmap`` over ``state.hparams`` x seeds.

``python -m rlx.train +bench=classic/cartpole algo=ppo sweep.algo.lr=[1e-4,3e-4,1e-3] sweep.algo.ent_coef=[0,0.01]``
trains every combination x every seed as one batch through the same chunk loop as a plain run
(``rlx.experiment.loop``; a group of trials, ``rlx.experiment.group``), each element with its own
traced hyperparameters. Every trial uses the same ``num_seeds`` seed keys as a plain run, so trials
differ only by their hyperparameters (common random numbers), and a trial logs the rows the plain run
with its values logs. The space is ``rlx.tune.space``'s (grid lists, ``__choice``, ``__uniform``,
``__loguniform`` with ``sweep.samples=N``). Any key that is not a traced hyperparameter
(``algo.num_steps``, ``num_envs``, ``algo.hidden`` ...) changes shapes: the combinations are grouped
by their static values and each group is compiled and run as its own program, one after the other.

Writes ``<out_dir>/<name>/``: ``sweep_spec.json`` (what to resume), ``trials/<i>/`` (each a run folder:
``config.yaml``, ``metrics.csv``, ``trial_metrics.json``, ``checkpoints/`` with its latest and best
steps: ``python -m rlx.enjoy <sweep>/trials/<i>`` replays it), ``ranking.csv`` / ``ranking.md`` (best
first), ``sweep.json``, ``plots/total_reward_ma.png`` and ``best.yaml`` (a bench-style file:
``python -m rlx.train +bench=<dir>/best.yaml algo=<name>``). ``python -m rlx.train resume=<sweep folder>``
continues a killed sweep: finished groups are skipped, the interrupted one continues from the latest
checkpoint all its trials finished, and the sweep ends with the ranking it would have had.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import pathlib
import shutil
import sys
import time

import jax
import numpy as np

from rlx.config import ConfigError, RunConfig, run_config_from_dict, to_dict
from rlx.errors import first_line
from rlx.experiment import checkpoint, parallel, paths, runner
from rlx.experiment import scoring as slm
from rlx.experiment.group import Group, Trial
from rlx.experiment.progress import Progress
from rlx.tune.space import (  # noqa: F401  (the space's names, where sweep callers have found them)
    DISTS,
    SWEEP_OPTIONS,
    Dim,
    apply,
    combinations,
    group_trials,
    label,
    parse_space,
    traced_keys,
)

BENCH_KEYS = ("env", "env_kwargs", "num_envs", "max_frame", "log_frequency", "num_seeds", "wrappers")
PLOT_TOP = 8
SPEC_FILE = "sweep_spec.json"


@dataclasses.dataclass
class SweepPlan:
    base: dict  # the composed config mapping the combinations are applied to
    spec: dict  # the sweep.* overrides, as split_prefixed gives them
    dims: list
    samples: int
    config: RunConfig  # the plain config
    combos: list
    configs: list
    groups: list
    out: pathlib.Path
    write: bool

    def trial_dir(self, i: int) -> pathlib.Path:
        return self.out / "trials" / f"{i:03d}"


def plan_sweep(base: dict, spec: dict, out: pathlib.Path | None = None) -> SweepPlan:
    """Every trial's validated config and its program group; a bad combination is one line naming it."""
    dims, opts = parse_space(spec, "sweep")
    parallel.initialize_from(base)  # several machines: before anything touches a device
    config = run_config_from_dict(base)  # the plain config must be valid on its own
    combos = combinations(dims, opts.get("samples", 0), config.seed)
    configs = []
    for combo in combos:
        try:
            configs.append(run_config_from_dict(apply(base, combo)))
        except ConfigError as err:
            raise ConfigError(f"sweep: {label(combo)}: {err}") from None
    write = config.logger.csv and parallel.is_main_process()
    out = pathlib.Path(out) if out else paths.run_dir_for(config, "sweep")
    return SweepPlan(
        base, spec, dims, opts.get("samples", 0), config, combos, configs, group_trials(configs), out, write
    )


def is_sweep_folder(path) -> bool:
    return (pathlib.Path(path) / SPEC_FILE).is_file()


def _write_start(plan: SweepPlan):
    plan.out.mkdir(parents=True, exist_ok=True)
    if not is_sweep_folder(plan.out):
        paths.write_json(plan.out / SPEC_FILE, {"base": plan.base, "spec": plan.spec})
    for i, cfg in enumerate(plan.configs):
        d = plan.trial_dir(i)
        d.mkdir(parents=True, exist_ok=True)
        if not (d / "config.yaml").is_file():
            paths.write_yaml(d / "config.yaml", to_dict(cfg))


def _restore(group: Group) -> dict | None:
    """The group's state at the checkpoint all its trials finished; None (and no stale steps left)
    when the kill came before that: the group starts again."""
    if group.common_step() is None:
        for t in group.trials:
            shutil.rmtree(t.dir / "checkpoints", ignore_errors=True)
        return None
    return group.restore()


def _sinks(plan: SweepPlan, dirs: list, progress, resumed: bool) -> list:
    from rlx.experiment.sinks.checkpoint import CheckpointSink
    from rlx.experiment.sinks.csv import CsvSink
    from rlx.experiment.sinks.progress import ProgressSink

    c, sinks = plan.config, []
    if plan.write:
        sinks.append(CsvSink(dirs, c.seed, resumed))
        if c.checkpoint.enabled and jax.process_count() == 1:
            # two latest: a kill between the trials' saves still leaves a step they all have
            keep = max(2, c.checkpoint.max_to_keep)
            sinks.append(CheckpointSink(dirs, c.checkpoint.every_chunks, keep, progress))
    return sinks + [ProgressSink(progress)]


def run_group(plan: SweepPlan, group: list[int], progress, resume: bool = False) -> list[dict]:
    """Trains one group (same static config) as one program; returns each trial's trial_metrics.json."""
    dirs = [plan.trial_dir(i) for i in group]
    if resume and plan.write and all((d / "trial_metrics.json").is_file() for d in dirs):
        progress.message(f"rlx: trials {', '.join(map(str, group))} finished before the interruption")
        return [json.loads((d / "trial_metrics.json").read_text()) for d in dirs]
    t0 = time.perf_counter()
    g = Group([Trial(plan.configs[i], d if plan.write else None) for i, d in zip(group, dirs, strict=True)])
    resumed = _restore(g) if resume and plan.write else None
    p = g.plan
    progress.message(
        f"rlx: sweep group of {len(group)} trials x {g.batch.seeds} seeds on {parallel.describe(g.sharding)} | "
        f"{p.num_updates * p.frames_per_update:,} frames/seed in {p.num_updates} updates, {p.num_chunks} chunks"
    )
    loop = g.start(progress, resumed, raise_on_divergence=False)
    try:
        loop.run(_sinks(plan, dirs, progress, resumed is not None))
    except KeyboardInterrupt:  # stopped at a chunk boundary, every trial's checkpoint written
        if not plan.write:
            raise
        raise KeyboardInterrupt(f"sweep interrupted; continue it with: rlx-train resume={plan.out}") from None
    for d in dirs if plan.write else ():
        checkpoint.keep_final_and_best(d)
    out = []
    for t, i in enumerate(group):
        summary = {
            **runner.trial_summary(plan.configs[i], loop, t, time.perf_counter() - t0),
            "hparams": plan.combos[i],
        }
        if plan.write:
            paths.write_json(dirs[t] / "trial_metrics.json", summary)
        out.append(summary)
    return out


def rank(plan: SweepPlan, results: list[dict]) -> list[dict]:
    """Ranking rows, best first (a diverged or never-scored trial last)."""
    rows = [
        {
            "trial": i,
            "hparams": plan.combos[i],
            "label": label(plan.combos[i]),
            "trial_metrics": r["trial"],
            "diverged": r["diverged"],
            "note": "diverged" if r["diverged"] else "",
        }
        for i, r in enumerate(results)
    ]
    rows.sort(key=lambda r: (_rank_key(r["trial_metrics"]["total_reward_ma"]), r["trial"]))
    for n, r in enumerate(rows, 1):
        r["rank"] = n
    return rows


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


def write_ranking(out: pathlib.Path, rows: list[dict], keys: list[str], table: str):
    (out / "ranking.md").write_text(table + "\n")
    with open(out / "ranking.csv", "w") as f:
        cols = ["rank", "trial"] + keys + list(slm.SESSION_KEYS) + ["consistency", "diverged"]
        f.write(",".join(cols) + "\n")
        for r in rows:
            vals = [r["rank"], r["trial"]] + [r["hparams"][k] for k in keys]
            vals += [r["trial_metrics"][k] for k in cols[2 + len(keys) : -1]] + [r["diverged"]]
            f.write(",".join(json.dumps(v) if isinstance(v, (list, dict)) else str(v) for v in vals) + "\n")


def plot_ranking(plan: SweepPlan, rows: list[dict], progress):
    """The top trials' total_reward_ma curves in one figure; a plot never costs the sweep."""
    try:
        from rlx.evaluate.plot import plot_runs

        top = [r for r in rows if np.isfinite(r["trial_metrics"]["total_reward_ma"])][:PLOT_TOP]
        plot_runs(
            [(f"#{r['rank']} {r['label']}", plan.trial_dir(r["trial"])) for r in top],
            plan.out / "plots" / "total_reward_ma.png",
            f"sweep: {plan.config.algo.name} {plan.config.env} (top {len(top)})",
            column="total_reward_ma",
        )
    except Exception as err:
        progress.message(f"rlx: plot skipped ({first_line(err)})")


def _summary(plan: SweepPlan, rows: list[dict], results: list[dict], wall_s: float) -> dict:
    c = plan.config
    return {
        "env": c.env,
        "algo": c.algo.name,
        "bench": c.bench,
        "space": [dataclasses.asdict(d) for d in plan.dims],
        "samples": plan.samples,
        "num_trials": len(plan.configs),
        "num_seeds": c.num_seeds,
        "programs": len(plan.groups),
        "ranking": rows,
        "wall_s": wall_s,
        "compile_s": sum(results[g[0]]["compile_s"] for g in plan.groups),
        "train_s": sum(results[g[0]]["train_s"] for g in plan.groups),
        "versions": runner.versions(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _write_outputs(plan: SweepPlan, rows: list[dict], summary: dict, table: str, progress):
    write_ranking(plan.out, rows, [d.key for d in plan.dims], table)
    paths.write_json(plan.out / "sweep.json", summary, default=str)
    best = rows[0]
    if np.isfinite(best["trial_metrics"]["total_reward_ma"]):
        write_bench_yaml(
            plan.out / "best.yaml",
            plan.configs[best["trial"]],
            f"best of the sweep {plan.out.name}: {best['label']}\n"
            f"trial total_reward_ma {best['trial_metrics']['total_reward_ma']:.4g} ({plan.config.num_seeds} seeds)",
        )
    if plan.config.logger.plot:
        plot_ranking(plan, rows, progress)


def run_sweep(plan: SweepPlan, stream=None, resume: bool = False) -> dict:
    """Trains every group (skipping those a resumed sweep finished), ranks, writes the sweep folder."""
    t_start = time.perf_counter()
    if plan.write and not resume:
        paths.check_new_folder(plan.out)
    paths.enable_compilation_cache()
    c = plan.config
    progress = Progress(c.max_frame, enabled=c.logger.progress, stream=stream or sys.stderr)
    static = sorted({d.key for d in plan.dims} - {f"algo.{n}" for n in traced_keys(c)})
    n = len(plan.groups)
    progress.message(
        f"rlx: {'resuming the ' if resume else ''}sweep of {len(plan.configs)} combinations x {c.num_seeds} seeds "
        f"in {n} compiled program{'s' if n > 1 else ''}"
        + (f" (shape-changing keys: {', '.join(static)})" if static else "")
        + (f" | {plan.out}" if plan.write else "")
    )
    if plan.write:
        _write_start(plan)
    results: list = [None] * len(plan.configs)
    for group in plan.groups:
        for i, r in zip(group, run_group(plan, group, progress, resume), strict=True):
            results[i] = r
    rows = rank(plan, results)
    table = format_table(rows, [d.key for d in plan.dims])
    summary = _summary(plan, rows, results, time.perf_counter() - t_start)
    if plan.write:
        _write_outputs(plan, rows, summary, table, progress)
    progress.message(
        f"rlx: sweep of {len(plan.configs)} x {c.num_seeds} seeds: compile {summary['compile_s']:.1f}s, "
        f"training {summary['train_s']:.1f}s, wall {summary['wall_s']:.1f}s"
    )
    print(table, flush=True)
    if plan.write:
        print(f"rlx: best: {rows[0]['label']} -> {plan.out / 'best.yaml'}", flush=True)
    summary["dir"] = str(plan.out) if plan.write else None
    return summary


def sweep(overrides: list[str], stream=None) -> dict:
    """Runs the sweep the overrides describe; returns the summary written to ``sweep.json``."""
    from rlx.config.compose import compose_dict, split_prefixed

    rest, spec = split_prefixed(overrides, "sweep")
    parse_space(spec, "sweep")  # a bad space is reported before the config is composed
    return run_sweep(plan_sweep(compose_dict(rest), spec), stream)


def resume(folder, stream=None) -> dict:
    """Continues the sweep in ``folder`` (its ``sweep_spec.json``) and ends with its ranking."""
    folder = pathlib.Path(folder)
    try:
        data = json.loads((folder / SPEC_FILE).read_text())
        base, spec = data["base"], data["spec"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"resume: {folder / SPEC_FILE}: unreadable ({first_line(err)})") from None
    return run_sweep(plan_sweep(base, spec, folder), stream, resume=True)
