"""Runs a trial: ``num_seeds`` sessions vmapped in one compiled program, in chunks.

``jit(vmap(init))`` once, then ``jit(vmap(scan(update, chunk_len)))`` per chunk. All chunks have the
same length (the last one masks its surplus updates with a ``cond`` on an unbatched count), so the
chunk program compiles once. Between chunks, on the host: progress, CSV (and wandb) rows at log
points, NaN check, checkpoint (``rlx.experiment.checkpoint``). ``run(config, run_dir, resume=True)`` continues an
interrupted run from its latest checkpoint: the same chunk program on a bit-identical state, so a
deterministic run ends with the same numbers as if it had never stopped.
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

from rlx.experiment import scoring as slm
from rlx.experiment import parallel
from rlx.algos import algo_module
from rlx.config import RunConfig, to_dict
from rlx.experiment.csvlog import CsvLog
from rlx.experiment.progress import Progress

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
    """Log points in each update (0-based): one every ``log_frequency`` frames and one at the last
    frame, as SLM-Lab takes them. An update longer than ``log_frequency`` holds several (so a long
    rollout does not shrink the 100-point moving average's window); nonzero marks updates with any."""
    frames = (np.arange(num_updates) + 1) * frames_per_update
    crossed = frames // log_frequency - (frames - frames_per_update) // log_frequency
    crossed[-1] = max(crossed[-1], 1)
    return crossed


def log_frames(update: int, frames_per_update: int, log_frequency: int) -> list[int]:
    """Frames of the log points in ``update`` (1-based): the ``log_frequency`` multiples it crosses,
    or its end frame for a last update that crosses none. Each is logged with the update's metrics."""
    end = update * frames_per_update
    first = (end - frames_per_update) // log_frequency + 1
    return [k * log_frequency for k in range(first, end // log_frequency + 1)] or [end]


def chunk_plan(config: RunConfig, algo):
    """``(num_updates, chunk_len, num_chunks, is_log)``: equal chunks of about ``TARGET_CHUNKS``."""
    num_updates = algo.num_updates
    num_chunks = config.num_chunks or min(TARGET_CHUNKS, num_updates)
    chunk_len = math.ceil(num_updates / num_chunks)
    num_chunks = math.ceil(num_updates / chunk_len)
    return num_updates, chunk_len, num_chunks, log_point_mask(num_updates, algo.frames_per_update, config.log_frequency)


def compile_chunk(algo, state, chunk_len: int):
    """``jit(vmap(scan(update, chunk_len)))`` compiled ahead of time for ``state``'s batch and layout.

    Called as ``compiled(state, n_valid)``: updates past ``n_valid`` (an unbatched count) are masked
    by a ``cond``, so a ragged last chunk reuses the same program.
    """
    metric_shape = jax.eval_shape(lambda s: algo.update(s)[1], jax.tree.map(lambda x: x[0], state))

    def skip(s):
        return s, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shape)

    def chunk(s, n_valid):
        def body(s, i):
            return jax.lax.cond(i < n_valid, algo.update, skip, s)

        return jax.lax.scan(body, s, jnp.arange(chunk_len))

    chunk_jit = jax.jit(jax.vmap(chunk, in_axes=(0, None)), donate_argnums=0)
    return chunk_jit.lower(parallel.abstract(state), jnp.int32(chunk_len)).compile()


def run_dir_for(config: RunConfig) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y_%m_%d_%H%M%S")
    env = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.env)
    name = config.logger.name or f"{config.algo.name}_{env}_{stamp}"
    return pathlib.Path(config.logger.out_dir) / name


def _best_pusher(config: RunConfig, run_dir: pathlib.Path, progress):
    """Uploads a new best checkpoint as soon as it is written (``hub.push_best=true``)."""

    def push(ckpt, step):
        try:
            from rlx.experiment import hub

            ckpt.wait()
            hub.push_checkpoint(run_dir, step, config.hub.repo_id, repo_type=config.hub.repo_type)
        except Exception as err:  # never cost the run
            progress.message(f"rlx: hub push of checkpoint {step} failed ({type(err).__name__})")

    return push


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
    frames_per_seed: int = 0  # frames trained per seed (the last log point may sit up to an update before)


def _nan_mean(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN (log points before any episode ended); NaN if none."""
    ok = np.isfinite(x)
    count = ok.sum(0)
    return np.where(count > 0, np.where(ok, x, 0.0).sum(0) / np.maximum(count, 1), np.nan)


def _write_yaml(path: pathlib.Path, data: dict):
    from omegaconf import OmegaConf

    path.write_text(OmegaConf.to_yaml(OmegaConf.create(data)))


def _truncate_csv(path: pathlib.Path, rows: int):
    """Keeps the header and the first ``rows`` rows (what the checkpoint had logged)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        lines = f.readlines()
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text("".join(lines[: 1 + rows]))
    tmp.replace(path)


def _trial_score(rows_reward: list) -> float:
    """SLM-Lab's trial score so far: mean over seeds of the MA of total_reward at the last log point."""
    if not rows_reward:
        return float("nan")
    ma = _nan_mean(np.asarray(rows_reward[-slm.MA_WINDOW :]))
    return float(np.nanmean(ma)) if np.isfinite(ma).any() else float("nan")


def run(
    config: RunConfig,
    run_dir: pathlib.Path | None | bool = None,
    progress_stream=None,
    resume: bool = False,
    on_chunk=None,
) -> TrialResult:
    """Trains ``config`` and writes its run folder (``run_dir=False``: write nothing).

    ``resume=True`` continues ``run_dir`` from its latest checkpoint (``rlx.experiment.checkpoint.CheckpointError``
    with one line, and the folder untouched, when there is none or it cannot be read).
    ``on_chunk(frames, score)`` is called after every chunk with the frames per seed so far and the
    trial score so far (``rlx.search`` reports it to its scheduler); returning ``True`` stops the run
    there, and its metrics are computed over the log points reached.
    """
    t_start = time.perf_counter()
    parallel.initialize(config.distributed)  # several machines: before anything touches a device
    enable_compilation_cache()
    module = algo_module(config.algo.name)
    algo = module.make_algo(config)
    num_seeds = config.num_seeds
    F = algo.frames_per_update
    num_updates, chunk_len, num_chunks, is_log = chunk_plan(config, algo)

    write = run_dir is not False and parallel.is_main_process()
    keys = jax.random.split(jax.random.key(config.seed), num_seeds)
    sharding = parallel.seed_sharding(num_seeds, config.distributed.devices)
    host = None
    if resume:
        from rlx.experiment import checkpoint

        if not write or not run_dir:
            raise checkpoint.CheckpointError("resume needs a run folder")
        run_dir = pathlib.Path(run_dir)
        # restore first, against the structure of a fresh init: nothing in the folder changes on failure
        target = jax.eval_shape(jax.vmap(algo.init), keys)
        t0 = time.perf_counter()
        state, host, step = checkpoint.load(run_dir, target)
        restore_s = time.perf_counter() - t0
        if (host.get("num_updates"), host.get("chunk_len")) != (num_updates, chunk_len):
            raise checkpoint.CheckpointError(
                f"checkpoint {step} was taken with {host.get('num_updates')} updates in chunks of "
                f"{host.get('chunk_len')}, this config has {num_updates} in chunks of {chunk_len}"
            )
    if write:
        run_dir = pathlib.Path(run_dir) if run_dir else run_dir_for(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            _write_yaml(run_dir / "config.yaml", to_dict(config))
    progress = Progress(config.max_frame, enabled=config.logger.progress, stream=progress_stream)
    progress.message(
        f"rlx: {config.algo.name} on {config.env} | {num_seeds} seeds x {algo.env.num_envs} envs | "
        f"{num_updates * F:,} frames/seed in {num_updates} updates, {num_chunks} chunks"
        + (f" | {run_dir}" if write else "")
    )

    if sharding is not None:
        progress.message(f"rlx: seeds sharded over {parallel.describe(sharding)}")
    if host is not None:
        state = parallel.shard(state, sharding)
        progress.message(
            f"rlx: resumed from checkpoint {step} (update {host['done_updates']}/{num_updates}, "
            f"chunk {host['chunk']}/{num_chunks}) in {restore_s:.1f}s"
        )

    # ---- compile (ahead of time, so compile and run time are reported apart)
    t0 = time.perf_counter()
    if host is None:
        state = jax.jit(jax.vmap(algo.init), out_shardings=sharding)(keys)
    compiled = compile_chunk(algo, state, chunk_len)
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    progress.message(f"rlx: compiled in {compile_s:.1f}s")

    first_chunk, done_updates, csv_rows, train_before = 0, 0, 0, 0.0
    rows_frames, rows_reward = [], []
    if host is not None:
        first_chunk, done_updates, csv_rows = host["chunk"], host["done_updates"], host["csv_rows"]
        train_before = host["train_s"]
        rows_frames = list(host["rows_frames"])
        rows_reward = [np.asarray([np.nan if v is None else v for v in r], np.float32) for r in host["rows_reward"]]
        if write and config.logger.csv:
            _truncate_csv(run_dir / "metrics.csv", csv_rows)  # drop rows logged after the checkpoint
    csv = CsvLog(run_dir / "metrics.csv", append=resume) if write and config.logger.csv else None
    ckpt = None
    if write and config.checkpoint.enabled and jax.process_count() == 1:
        from rlx.experiment.checkpoint import Checkpointer

        ckpt = Checkpointer(run_dir, config.checkpoint.max_to_keep)
        state_gb = sum(x.nbytes for x in jax.tree.leaves(state) if hasattr(x, "nbytes")) / 2**30
        if state_gb > 0.5:  # e.g. a large replay buffer: every save writes all of it
            progress.message(
                f"rlx: each checkpoint writes {state_gb:.1f} GiB (every {config.checkpoint.every_chunks} "
                "chunk(s)); raise checkpoint.every_chunks or set checkpoint.enabled=false to write less"
            )
    hub_push = (
        _best_pusher(config, run_dir, progress) if write and config.hub.repo_id and config.hub.push_best else None
    )
    wb = None
    if write and config.logger.wandb:
        from rlx.experiment.wandb_log import WandbLogger

        wb = WandbLogger(config, run_dir, resume=resume)
    best_score, ckpt_s, stopped = float("-inf"), 0.0, False
    t_train = time.perf_counter() - train_before
    try:
        for c in range(first_chunk, num_chunks):
            n_valid = min(chunk_len, num_updates - done_updates)
            state, m = compiled(state, jnp.int32(n_valid))
            m = parallel.fetch(m)  # (seeds, chunk_len) per metric; blocks until the chunk is done
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
                for frame in log_frames(u, F, config.log_frequency):
                    rows_frames.append(frame)
                    rows_reward.append(m["episode_return"][j])
                    ma = _nan_mean(np.asarray(rows_reward[-slm.MA_WINDOW :]))  # SLM-Lab's MA column
                    for s in range(num_seeds):
                        row = {
                            "seed": config.seed + s,
                            "frame": frame,
                            "update": u,
                            "opt_steps": u * algo.grad_steps_per_update,
                            "total_reward": float(m["episode_return"][j, s]),
                            "total_reward_ma": float(ma[s]),
                        }
                        row.update({k: float(v[j, s]) for k, v in m.items() if k != "episode_return"})
                        row.update({"wall_s": round(elapsed, 3), "fps": round(fps, 1)})
                        new_rows.append(row)
            if csv:
                csv.write(new_rows)
            if wb:
                wb.log_rows(new_rows)
            csv_rows += len(new_rows)
            done_updates += n_valid
            if ckpt and ((c + 1) % config.checkpoint.every_chunks == 0 or c == num_chunks - 1):
                score = _trial_score(rows_reward)
                t_ck = time.perf_counter()
                ckpt.save(
                    done_updates,
                    state,
                    {
                        "chunk": c + 1,
                        "done_updates": done_updates,
                        "csv_rows": csv_rows,
                        "num_updates": num_updates,
                        "chunk_len": chunk_len,
                        "train_s": time.perf_counter() - t_train,
                        "rows_frames": [int(f) for f in rows_frames],
                        "rows_reward": [[None if not np.isfinite(v) else float(v) for v in r] for r in rows_reward],
                    },
                    score,
                )
                ckpt_s += time.perf_counter() - t_ck
                if hub_push and np.isfinite(score) and score > best_score:
                    hub_push(ckpt, done_updates)
                best_score = max(best_score, score) if np.isfinite(score) else best_score
            latest = m["episode_return"][-1]
            progress.update(
                frames_done,
                fps,
                float(np.nanmean(latest)) if np.isfinite(latest).any() else float("nan"),
                force=(c == num_chunks - 1),
            )
            if on_chunk is not None and on_chunk(frames_done, _trial_score(rows_reward)) and c < num_chunks - 1:
                stopped = True
                progress.message(f"rlx: stopped early at {frames_done:,} frames/seed")
                break
    finally:
        if csv:
            csv.close()
        if ckpt:
            t_ck = time.perf_counter()
            ckpt.close()  # waits for the last asynchronous save
            ckpt_s += time.perf_counter() - t_ck
    jax.block_until_ready(state)
    train_s = time.perf_counter() - t_train
    wall_s = time.perf_counter() - t_start

    frames = np.asarray(rows_frames)
    total_reward = np.asarray(rows_reward).T  # (seeds, points)
    from rlx.envs.baseline import random_return

    r_rand = random_return(config.env, config.env_kwargs)
    opt_steps = -(-frames // F) * algo.grad_steps_per_update  # the update each log point belongs to
    result = slm.trial_metrics(frames, total_reward, opt_steps, r_rand)
    trial = result["trial"]
    frames_trained = done_updates * F  # may pass the last log point (log points sit on log_frequency multiples)
    line = slm.format_trial_line(frames_trained, trial)
    summary = {
        "env": config.env,
        "algo": config.algo.name,
        "bench": config.bench,
        "frames_per_seed": frames_trained,
        "num_seeds": num_seeds,
        "num_envs": algo.env.num_envs,
        "random_return": r_rand,
        "trial": trial,
        "sessions": [{"seed": config.seed + i, **s} for i, s in enumerate(result["sessions"])],
        "wall_s": wall_s,
        "compile_s": compile_s,
        "train_s": train_s,
        "checkpoint_s": ckpt_s,
        "train_fps": float(frames_trained * num_seeds / train_s),
        "stopped_early": stopped,
        "versions": versions(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if write:
        tmp = run_dir / "trial_metrics.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2))
        tmp.replace(run_dir / "trial_metrics.json")
        if config.logger.plot and config.logger.csv:
            try:
                from rlx.evaluate.plot import plot_run

                plot_run(run_dir)
            except Exception as err:  # a plot must never cost the run
                progress.message(f"rlx: plot skipped ({err})")
        if wb:
            wb.finish(summary, run_dir / "plots")
        if config.hub.repo_id:
            try:
                from rlx.experiment import hub

                url = hub.push(run_dir, config.hub.repo_id, repo_type=config.hub.repo_type)
                progress.message(f"rlx: pushed the run folder to {url}")
            except Exception as err:  # the run is on disk; a failed upload can be retried with rlx.hub push
                progress.message(
                    f"rlx: {err}; retry with: python -m rlx.hub push {run_dir} --repo {config.hub.repo_id}"
                )
    progress.message(f"rlx: {train_s:.1f}s training, {summary['train_fps']:,.0f} frames/s, wall {wall_s:.1f}s")
    print(line, flush=True)
    return TrialResult(
        run_dir if write else None,
        trial,
        result["sessions"],
        frames,
        total_reward,
        wall_s,
        compile_s,
        state,
        frames_trained,
    )
