"""Runs a trial: ``num_seeds`` sessions vmapped in one compiled program, in chunks.

``jit(vmap(init))`` once, then ``jit(vmap(scan(update, chunk_len)))`` per chunk. All chunks have the
same length (the last one masks its surplus updates with a ``cond`` on an unbatched count), so the
chunk program compiles once. Between chunks, on the host: progress, CSV rows at log points, NaN check.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import re
import time

import jax
import jax.numpy as jnp
import numpy as np

from rlx import metrics as slm
from rlx.algos import algo_module
from rlx.config import RunConfig, to_dict
from rlx.csvlog import CsvLog
from rlx.progress import Progress

TARGET_CHUNKS = 20


class TrainingDiverged(RuntimeError):
    pass


def enable_compilation_cache():
    """jax's persistent compilation cache, so a repeated command skips most of its compile."""
    path = os.environ.get("RLX_JAX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rlx", "jax")
    try:
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    except Exception:  # an older/newer jax without these options: run uncached
        pass


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("rlx", "jax", "jaxlib", "flax", "optax", "distrax", "gymnax", "envpool", "playground"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    out["device"] = str(jax.devices()[0].device_kind)
    return out


def log_point_mask(num_updates: int, frames_per_update: int, log_frequency: int) -> np.ndarray:
    """Updates (0-based) that end a log point: every ``log_frequency`` frames and the last one."""
    frames = (np.arange(num_updates) + 1) * frames_per_update
    crossed = frames // log_frequency > (frames - frames_per_update) // log_frequency
    crossed[-1] = True
    return crossed


def run_dir_for(config: RunConfig) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y_%m_%d_%H%M%S")
    env = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.env)
    name = config.logger.name or f"{config.algo.name}_{env}_{stamp}"
    return pathlib.Path(config.logger.out_dir) / name


@dataclasses.dataclass
class TrialResult:
    run_dir: pathlib.Path | None
    trial: dict
    sessions: list
    frames: np.ndarray  # frame of each log point
    total_reward: np.ndarray  # (seeds, log points)
    wall_s: float
    compile_s: float
    state: object = None


def _nan_mean(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN (log points before any episode ended); NaN if none."""
    ok = np.isfinite(x)
    count = ok.sum(0)
    return np.where(count > 0, np.where(ok, x, 0.0).sum(0) / np.maximum(count, 1), np.nan)


def _write_yaml(path: pathlib.Path, data: dict):
    from omegaconf import OmegaConf

    path.write_text(OmegaConf.to_yaml(OmegaConf.create(data)))


def run(config: RunConfig, run_dir: pathlib.Path | None | bool = None, progress_stream=None) -> TrialResult:
    """Trains ``config`` and writes its run folder (``run_dir=False``: write nothing)."""
    t_start = time.perf_counter()
    enable_compilation_cache()
    module = algo_module(config.algo.name)
    algo = module.make_algo(config)
    num_seeds = config.num_seeds
    F = algo.frames_per_update
    num_updates = algo.num_updates
    num_chunks = config.num_chunks or min(TARGET_CHUNKS, num_updates)
    chunk_len = math.ceil(num_updates / num_chunks)
    num_chunks = math.ceil(num_updates / chunk_len)
    is_log = log_point_mask(num_updates, F, config.log_frequency)

    write = run_dir is not False
    if write:
        run_dir = pathlib.Path(run_dir) if run_dir else run_dir_for(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_yaml(run_dir / "config.yaml", to_dict(config))
    progress = Progress(config.max_frame, enabled=config.logger.progress, stream=progress_stream)
    progress.message(
        f"rlx: {config.algo.name} on {config.env} | {num_seeds} seeds x {algo.env.num_envs} envs | "
        f"{num_updates * F:,} frames/seed in {num_updates} updates, {num_chunks} chunks"
        + (f" | {run_dir}" if write else "")
    )

    # ---- compile (ahead of time, so compile and run time are reported apart)
    keys = jax.random.split(jax.random.key(config.seed), num_seeds)
    init = jax.jit(jax.vmap(algo.init))
    t0 = time.perf_counter()
    state = init(keys)
    state_shape = jax.eval_shape(lambda s: s, state)
    metric_shape = jax.eval_shape(lambda s: algo.update(s)[1], jax.tree.map(lambda x: x[0], state))

    def skip(s):
        return s, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shape)

    def chunk(s, n_valid):
        def body(s, i):
            return jax.lax.cond(i < n_valid, algo.update, skip, s)

        return jax.lax.scan(body, s, jnp.arange(chunk_len))

    chunk_jit = jax.jit(jax.vmap(chunk, in_axes=(0, None)), donate_argnums=0)
    compiled = chunk_jit.lower(state_shape, jnp.int32(chunk_len)).compile()
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    progress.message(f"rlx: compiled in {compile_s:.1f}s")

    csv = CsvLog(run_dir / "metrics.csv") if write and config.logger.csv else None
    history: dict[str, list] = {}
    done_updates = 0
    t_train = time.perf_counter()
    rows_frames, rows_reward = [], []
    try:
        for c in range(num_chunks):
            n_valid = min(chunk_len, num_updates - done_updates)
            state, m = compiled(state, jnp.int32(n_valid))
            m = jax.device_get(m)  # (seeds, chunk_len) per metric; blocks until the chunk is done
            m = {k: np.asarray(v).T[:n_valid] for k, v in m.items()}  # (updates, seeds)
            if "loss" in m and not np.all(np.isfinite(m["loss"])):
                raise TrainingDiverged(
                    f"non-finite loss in updates {done_updates + 1}-{done_updates + n_valid}; "
                    "lower algo.lr or check the env's rewards"
                )
            elapsed = time.perf_counter() - t_train
            idx = np.arange(done_updates, done_updates + n_valid)
            logs = is_log[idx]
            frames_done = (done_updates + n_valid) * F
            fps = frames_done * num_seeds / max(elapsed, 1e-9)
            new_rows = []
            for j in np.nonzero(logs)[0]:
                u = int(idx[j]) + 1
                rows_frames.append(u * F)
                rows_reward.append(m["episode_return"][j])
                ma = _nan_mean(np.asarray(rows_reward[-slm.MA_WINDOW:]))  # SLM-Lab's MA column
                for s in range(num_seeds):
                    row = {"seed": config.seed + s, "frame": u * F, "update": u,
                           "opt_steps": u * algo.grad_steps_per_update,
                           "total_reward": float(m["episode_return"][j, s]),
                           "total_reward_ma": float(ma[s])}
                    row.update({k: float(v[j, s]) for k, v in m.items() if k != "episode_return"})
                    row.update({"wall_s": round(elapsed, 3), "fps": round(fps, 1)})
                    new_rows.append(row)
            if csv:
                csv.write(new_rows)
            done_updates += n_valid
            latest = m["episode_return"][-1]
            progress.update(frames_done, fps, float(np.nanmean(latest)) if np.isfinite(latest).any() else float("nan"),
                            force=(c == num_chunks - 1))
    finally:
        if csv:
            csv.close()
    jax.block_until_ready(state)
    train_s = time.perf_counter() - t_train
    wall_s = time.perf_counter() - t_start

    frames = np.asarray(rows_frames)
    total_reward = np.asarray(rows_reward).T  # (seeds, points)
    from rlx.baseline import random_return

    r_rand = random_return(config.env, config.env_kwargs)
    opt_steps = frames // F * algo.grad_steps_per_update
    result = slm.trial_metrics(frames, total_reward, opt_steps, r_rand)
    trial = result["trial"]
    line = slm.format_trial_line(int(frames[-1]), trial)
    summary = {
        "env": config.env, "algo": config.algo.name, "bench": config.bench,
        "frames_per_seed": int(frames[-1]), "num_seeds": num_seeds, "num_envs": algo.env.num_envs,
        "random_return": r_rand,
        "trial": trial,
        "sessions": [{"seed": config.seed + i, **s} for i, s in enumerate(result["sessions"])],
        "wall_s": wall_s, "compile_s": compile_s, "train_s": train_s,
        "train_fps": float(frames[-1] * num_seeds / train_s),
        "versions": versions(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if write:
        tmp = run_dir / "trial_metrics.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2))
        tmp.replace(run_dir / "trial_metrics.json")
        if config.logger.plot and config.logger.csv:
            try:
                from rlx.plot import plot_runs

                plot_runs([(f"{config.algo.name}", run_dir / "metrics.csv")], run_dir / "plots" / "total_reward.png",
                          title=f"{config.algo.name} on {config.env}")
            except Exception as err:  # a plot must never cost the run
                progress.message(f"rlx: plot skipped ({err})")
    progress.message(f"rlx: {train_s:.1f}s training, {summary['train_fps']:,.0f} frames/s, wall {wall_s:.1f}s")
    print(line, flush=True)
    return TrialResult(run_dir if write else None, trial, result["sessions"], frames, total_reward,
                       wall_s, compile_s, state)
