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

import datetime
import json
import math
import os
import pathlib
import re
import sys
import time

from rlx.config import ConfigError, run_config_from_dict
from rlx.tune.sweep import _label, apply, format_table, parse_space, write_bench_yaml

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


def search(overrides: list[str], stream=None) -> dict:
    from rlx.config.compose import compose_dict, split_prefixed

    stream = stream or sys.stderr
    t_start = time.perf_counter()
    rest, spec = split_prefixed(overrides, "search")
    dims, opts = parse_space(spec, "search", SEARCH_OPTIONS)
    rest = [d for d in TRIAL_DEFAULTS if not any(o.lstrip("+").startswith(d.split("=")[0] + "=") for o in rest)] + rest
    base = compose_dict(rest)
    base_config = run_config_from_dict(base)
    if base_config.distributed.enabled:
        raise ConfigError("distributed.enabled: a search spreads trials with Ray (search.address), not jax.distributed")
    samples = int(opts.get("samples", 0)) or 1
    max_t = base_config.max_frame
    grace = int(opts.get("grace_frames", 0)) or max(1, max_t // 8)
    reduction = float(opts.get("reduction_factor", 3))
    if not 0 < grace < max_t:
        raise ConfigError(f"search.grace_frames: must be in (0, max_frame={max_t}), got {grace}")
    if reduction <= 1:
        raise ConfigError(f"search.reduction_factor: must be > 1, got {reduction}")
    try:
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler
    except ImportError:
        raise ConfigError("search: needs Ray Tune; install the extra: pip install 'rlx[search]'") from None

    stamp = datetime.datetime.now().strftime("%Y_%m_%d_%H%M%S")
    env_tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", base_config.env)
    out = (
        pathlib.Path(base_config.logger.out_dir)
        / (base_config.logger.name or f"search_{base_config.algo.name}_{env_tag}_{stamp}")
    ).absolute()
    out.mkdir(parents=True, exist_ok=True)
    address = opts.get("address") or os.environ.get("RAY_ADDRESS")
    print(
        f"rlx: search on {'the Ray cluster at ' + str(address) if address else 'a local Ray cluster'} | "
        f"ASHA: rungs from {grace:,} frames, reduction {reduction:g}, max {max_t:,} | {out}",
        file=stream,
        flush=True,
    )
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=None if address else opts.get("num_cpus"),
            include_dashboard=False,
            log_to_driver=False,
            logging_level="WARNING",
            runtime_env={"env_vars": {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}},
        )
    scheduler = ASHAScheduler(
        time_attr="frames", metric="score", mode="max", max_t=max_t, grace_period=grace, reduction_factor=reduction
    )
    trainable = tune.with_resources(
        tune.with_parameters(_trainable, base=base, trials_dir=str(out / "trials")),
        {"cpu": float(opts.get("cpus_per_trial", 1)), "gpu": float(opts.get("gpus_per_trial", 0))},
    )
    tuner = tune.Tuner(
        trainable,
        param_space=_tune_space(dims),
        tune_config=tune.TuneConfig(
            num_samples=samples, scheduler=scheduler, max_concurrent_trials=int(opts.get("max_concurrent", 0)) or None
        ),
        run_config=tune.RunConfig(name="ray", storage_path=str(out), verbose=0),
    )
    results = tuner.fit()

    rows = []
    for r in results:
        if r.metrics is None or "score" not in r.metrics:
            continue  # a trial that failed before its first report (its error is in the Ray folder)
        m = r.metrics
        finished = bool(m.get("finished"))
        trial = {
            k: m.get(f"trial/{k}", math.nan) for k in ("total_reward_ma", "strength", "final_strength", "consistency")
        }
        trial["total_reward_ma"] = float(m["score"])
        rows.append(
            {
                "trial": r.metrics.get("trial_id", ""),
                "hparams": {d.key: r.config[d.key] for d in dims},
                "label": _label({d.key: r.config[d.key] for d in dims}),
                "trial_metrics": trial,
                "frames": int(m["frames"]),
                "finished": finished,
                "note": "" if finished else f"stopped at {int(m['frames']):,} frames",
            }
        )
    if not rows:
        raise RuntimeError(f"search: no trial reported a result; see {out / 'ray'}")
    # finished trials first (their scores cover the whole run), then by score
    rows.sort(
        key=lambda r: (
            not r["finished"],
            -r["trial_metrics"]["total_reward_ma"]
            if math.isfinite(r["trial_metrics"]["total_reward_ma"])
            else math.inf,
        )
    )
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    table = format_table(rows, [d.key for d in dims])
    best = rows[0]
    best_config = run_config_from_dict(apply(base, best["hparams"]))
    best_path = write_bench_yaml(
        out / "best.yaml",
        best_config,
        f"best of the search {out.name} ({len(rows)} trials, ASHA): {best['label']}\n"
        f"trial total_reward_ma {best['trial_metrics']['total_reward_ma']:.4g} ({base_config.num_seeds} seeds)",
    )
    summary = {
        "env": base_config.env,
        "algo": base_config.algo.name,
        "bench": base_config.bench,
        "space": [{"key": d.key, "kind": d.kind, "values": list(d.values)} for d in dims],
        "samples": samples,
        "grace_frames": grace,
        "reduction_factor": reduction,
        "max_frames": max_t,
        "ranking": rows,
        "stopped_early": sum(not r["finished"] for r in rows),
        "wall_s": time.perf_counter() - t_start,
        "best_yaml": str(best_path),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    (out / "ranking.md").write_text(table + "\n")
    (out / "search.json").write_text(json.dumps(summary, indent=2, default=str))
    print(
        f"rlx: search of {len(rows)} trials: {summary['stopped_early']} stopped early by ASHA, "
        f"wall {summary['wall_s']:.1f}s",
        file=stream,
        flush=True,
    )
    print(table, flush=True)
    print(
        f"rlx: best: {best['label']} -> {best_path}\n"
        f"rlx: train it: python -m rlx.train +bench={best_path} algo={base_config.algo.name}",
        flush=True,
    )
    summary["dir"] = str(out)
    return summary
