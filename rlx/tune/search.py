"""Hyperparameter search with early stopping on Ray Tune (SLM-Lab's ``search`` mode, on a cluster).

``python -m rlx.search +bench=classic/cartpole algo=ppo search.algo.lr__loguniform=[1e-4,1e-2]
search.algo.gae_lambda__uniform=[0.9,0.99] search.algo.ent_coef__choice=[0,0.01] search.samples=16``

The space uses the sweep's syntax (``rlx.tune.sweep``: lists are grid axes; ``__choice``, ``__uniform``,
``__loguniform`` are sampled ``search.samples`` times), here mapped onto Ray Tune's
``grid_search`` / ``choice`` / ``uniform`` / ``loguniform``. Any config key can be searched, shapes
included: every trial is its own program. A trial is a whole rlx trial (``rlx.experiment.runner.run``:
``num_seeds`` seeds vmapped in one compiled program) that reports its trial score so far (SLM-Lab's
``total_reward_ma``, mean over seeds) at every chunk boundary; Ray's ASHA scheduler (Li et al. 2020,
"A System for Massively Parallel Hyperparameter Tuning") stops the trials that fall behind at its rungs.

Where it runs: ``search.address`` unset starts a local Ray cluster of this machine; on a cluster
(``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others) the same
command with ``search.address=auto`` (or ``RAY_ADDRESS`` set) spreads the trials over every machine.
``search.gpus_per_trial=0.25`` packs four trials on a GPU.

Options (``search.<name>=``): samples, grace_frames (first rung; default max_frame/8),
reduction_factor (3), max_concurrent (0: as many as fit), cpus_per_trial (1), gpus_per_trial (0),
address, num_cpus (local cluster size; default all cores).
Writes ``<out_dir>/<name>/``: ``trials/<id>/`` (each trial's run folder), ``ranking.md``,
``search.json`` and ``best.yaml`` (``python -m rlx.train +bench=<dir>/best.yaml algo=<name>``).
Needs the ``search`` extra (``pip install 'rlx[search]'``).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import pathlib
import sys
import time

from rlx.config import ConfigError, run_config_from_dict
from rlx.experiment import paths
from rlx.tune.space import apply, label, parse_space
from rlx.tune.sweep import format_table, write_bench_yaml

SEARCH_OPTIONS = (
    "samples",
    "grace_frames",
    "reduction_factor",
    "max_concurrent",
    "cpus_per_trial",
    "gpus_per_trial",
    "address",
    "num_cpus",
)
TRIAL_DEFAULTS = ("checkpoint.enabled=false", "logger.progress=false")  # unless the command line says otherwise


def _tune_space(dims):
    from ray import tune

    make = {
        "grid": tune.grid_search,
        "choice": tune.choice,
        "uniform": lambda v: tune.uniform(*v),
        "loguniform": lambda v: tune.loguniform(*v),
    }
    return {d.key: make[d.kind](list(d.values)) for d in dims}


def _trainable(params, base=None, trials_dir=None):
    """One Ray Tune trial: an rlx trial (all seeds in one program) reporting at chunk boundaries."""
    from ray import tune

    from rlx.experiment import runner

    config = run_config_from_dict(apply(base, params))
    trial_id = tune.get_context().get_trial_id()
    run_dir = pathlib.Path(trials_dir) / trial_id

    def report(frames, score):
        if frames < config.max_frame:  # the last one is reported below, with the trial's metrics
            tune.report({"score": score if math.isfinite(score) else -math.inf, "frames": frames})
        return False

    result = runner.run(config, run_dir, on_chunk=report)
    final = {k: v for k, v in result.trial.items() if math.isfinite(v)}
    tune.report(
        {
            "score": result.trial["total_reward_ma"],
            "frames": int(result.frames[-1]),
            "finished": True,
            "run_dir": str(run_dir),
            **{f"trial/{k}": v for k, v in final.items()},
        }
    )


@dataclasses.dataclass(frozen=True)
class Asha:
    samples: int
    grace: int  # frames of the first rung
    reduction: float
    max_t: int  # frames of a whole trial


def asha_options(opts: dict, max_frame: int) -> Asha:
    """The scheduler's settings from ``search.*``, checked before Ray starts."""
    grace = int(opts.get("grace_frames", 0)) or max(1, max_frame // 8)
    reduction = float(opts.get("reduction_factor", 3))
    if not 0 < grace < max_frame:
        raise ConfigError(f"search.grace_frames: must be in (0, max_frame={max_frame}), got {grace}")
    if reduction <= 1:
        raise ConfigError(f"search.reduction_factor: must be > 1, got {reduction}")
    return Asha(int(opts.get("samples", 0)) or 1, grace, reduction, max_frame)


def _init_ray(ray, address, opts: dict):
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=None if address else opts.get("num_cpus"),
            include_dashboard=False,
            log_to_driver=False,
            logging_level="WARNING",
            runtime_env={"env_vars": {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}},
        )


def _tuner(base: dict, dims, opts: dict, asha: Asha, out: pathlib.Path):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    scheduler = ASHAScheduler(
        time_attr="frames",
        metric="score",
        mode="max",
        max_t=asha.max_t,
        grace_period=asha.grace,
        reduction_factor=asha.reduction,
    )
    trainable = tune.with_resources(
        tune.with_parameters(_trainable, base=base, trials_dir=str(out / "trials")),
        {"cpu": float(opts.get("cpus_per_trial", 1)), "gpu": float(opts.get("gpus_per_trial", 0))},
    )
    concurrent = int(opts.get("max_concurrent", 0)) or None
    return tune.Tuner(
        trainable,
        param_space=_tune_space(dims),
        tune_config=tune.TuneConfig(num_samples=asha.samples, scheduler=scheduler, max_concurrent_trials=concurrent),
        run_config=tune.RunConfig(name="ray", storage_path=str(out), verbose=0),
    )


def _row(r, dims) -> dict:
    m = r.metrics
    finished = bool(m.get("finished"))
    trial = {k: m.get(f"trial/{k}", math.nan) for k in ("total_reward_ma", "strength", "final_strength", "consistency")}
    trial["total_reward_ma"] = float(m["score"])
    hparams = {d.key: r.config[d.key] for d in dims}
    return {
        "trial": m.get("trial_id", ""),
        "hparams": hparams,
        "label": label(hparams),
        "trial_metrics": trial,
        "frames": int(m["frames"]),
        "finished": finished,
        "note": "" if finished else f"stopped at {int(m['frames']):,} frames",
    }


def ranking(results, dims, out: pathlib.Path) -> list[dict]:
    """Finished trials first (their scores cover the whole run), then by score."""
    # a trial that failed before its first report is left out (its error is in the Ray folder)
    rows = [_row(r, dims) for r in results if r.metrics is not None and "score" in r.metrics]
    if not rows:
        raise RuntimeError(f"search: no trial reported a result; see {out / 'ray'}")
    score = lambda r: r["trial_metrics"]["total_reward_ma"]  # noqa: E731
    rows.sort(key=lambda r: (not r["finished"], -score(r) if math.isfinite(score(r)) else math.inf))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return rows


def _summary(config, dims, asha: Asha, rows: list[dict], wall_s: float, best_path) -> dict:
    return {
        "env": config.env,
        "algo": config.algo.name,
        "bench": config.bench,
        "space": [{"key": d.key, "kind": d.kind, "values": list(d.values)} for d in dims],
        "samples": asha.samples,
        "grace_frames": asha.grace,
        "reduction_factor": asha.reduction,
        "max_frames": asha.max_t,
        "ranking": rows,
        "stopped_early": sum(not r["finished"] for r in rows),
        "wall_s": wall_s,
        "best_yaml": str(best_path),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _compose(overrides: list[str]):
    """``(base mapping, its config, dims, options)``; the trial defaults unless the command line sets them."""
    from rlx.config.compose import compose_dict, split_prefixed

    rest, spec = split_prefixed(overrides, "search")
    dims, opts = parse_space(spec, "search", SEARCH_OPTIONS)
    rest = [d for d in TRIAL_DEFAULTS if not any(o.lstrip("+").startswith(d.split("=")[0] + "=") for o in rest)] + rest
    base = compose_dict(rest)
    config = run_config_from_dict(base)
    if config.distributed.enabled:
        raise ConfigError("distributed.enabled: a search spreads trials with Ray (search.address), not jax.distributed")
    return base, config, dims, opts


def search(overrides: list[str], stream=None) -> dict:
    stream = stream or sys.stderr
    t_start = time.perf_counter()
    base, config, dims, opts = _compose(overrides)
    asha = asha_options(opts, config.max_frame)
    try:
        import ray
    except ImportError:
        raise ConfigError("search: needs Ray Tune; install the extra: pip install 'rlx[search]'") from None
    out = paths.run_dir_for(config, "search").absolute()
    out.mkdir(parents=True, exist_ok=True)
    address = opts.get("address") or os.environ.get("RAY_ADDRESS")
    where = "the Ray cluster at " + str(address) if address else "a local Ray cluster"
    print(
        f"rlx: search on {where} | ASHA: rungs from {asha.grace:,} frames, reduction {asha.reduction:g}, "
        f"max {asha.max_t:,} | {out}",
        file=stream,
        flush=True,
    )
    _init_ray(ray, address, opts)
    rows = ranking(_tuner(base, dims, opts, asha, out).fit(), dims, out)
    best = rows[0]
    best_path = write_bench_yaml(
        out / "best.yaml",
        run_config_from_dict(apply(base, best["hparams"])),
        f"best of the search {out.name} ({len(rows)} trials, ASHA): {best['label']}\n"
        f"trial total_reward_ma {best['trial_metrics']['total_reward_ma']:.4g} ({config.num_seeds} seeds)",
    )
    summary = _summary(config, dims, asha, rows, time.perf_counter() - t_start, best_path)
    table = format_table(rows, [d.key for d in dims])
    (out / "ranking.md").write_text(table + "\n")
    paths.write_json(out / "search.json", summary, default=str)
    n, stopped = len(rows), summary["stopped_early"]
    print(f"rlx: search of {n} trials: {stopped} stopped early by ASHA, wall {summary['wall_s']:.1f}s", file=stream)
    print(table, flush=True)
    print(f"rlx: best: {best['label']} -> {best_path}", flush=True)
    print(f"rlx: train it: python -m rlx.train +bench={best_path} algo={config.algo.name}", flush=True)
    summary["dir"] = str(out)
    return summary
