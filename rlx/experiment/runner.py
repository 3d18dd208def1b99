"""Runs a trial: ``num_seeds`` sessions vmapped in one compiled program, in chunks (``rlx.experiment.loop``).

``run`` is wiring: a group of one trial (``rlx.experiment.group``), the sinks its config asks for
(``rlx.experiment.sinks``), the loop, then the trial's summary. ``run(config, run_dir, resume=True)``
continues an interrupted run from its latest checkpoint: the same chunk program on a bit-identical
state, so a deterministic run ends with the same numbers as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import pathlib
import platform
import time

import jax
import numpy as np

from rlx.config import RunConfig, to_dict
from rlx.experiment import parallel, paths
from rlx.experiment import scoring as slm
from rlx.experiment.group import Group, Trial
from rlx.experiment.loop import (  # noqa: F401  (the public names runs have always had)
    TARGET_CHUNKS,
    TrainingDiverged,
    compile_chunk,
    log_frames,
    log_point_mask,
)
from rlx.experiment.paths import enable_compilation_cache, run_dir_for  # noqa: F401
from rlx.experiment.progress import Progress
from rlx.experiment.sinks import Callback
from rlx.experiment.sinks.progress import ProgressSink


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("rlx", "jax", "jaxlib", "flax", "optax", "distrax", "gymnax", "envpool", "playground"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[pkg] = md.version(pkg)
    out["device"] = str(jax.devices()[0].device_kind)
    return out


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


def trial_summary(config: RunConfig, loop, t: int, wall_s: float, checkpoint_s: float = 0.0) -> dict:
    """trial_metrics.json of trial ``t`` of ``loop``'s batch: the same keys for a run and a sweep trial."""
    from rlx.envs.baseline import random_return

    r_rand = random_return(config.env, config.env_kwargs)
    result = loop.trial_metrics(t, r_rand)
    frames = loop.frames_per_seed  # may pass the last log point (log points sit on log_frequency multiples)
    return {
        "env": config.env,
        "algo": config.algo.name,
        "bench": config.bench,
        "frames_per_seed": frames,
        "num_seeds": config.num_seeds,
        "num_envs": loop.algo.env.num_envs,
        "random_return": r_rand,
        "trial": result["trial"],
        "sessions": [{"seed": config.seed + i, **s} for i, s in enumerate(result["sessions"])],
        "diverged": bool(loop.diverged[t]),
        "nonfinite_grad_updates": int(loop.nonfinite_grad_updates[t]),
        "wall_s": wall_s,
        "compile_s": loop.compile_s,
        "train_s": loop.train_s,
        "checkpoint_s": checkpoint_s,
        "train_fps": float(frames * loop.batch.size / max(loop.train_s, 1e-9)),
        "stopped_early": loop.stopped,
        "versions": versions(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def run_sinks(config: RunConfig, run_dir, progress, resume: bool = False) -> list:
    """The sinks of a plain run writing ``run_dir``, in the order they must run."""
    from rlx.experiment.sinks.checkpoint import CheckpointSink
    from rlx.experiment.sinks.csv import CsvSink
    from rlx.experiment.sinks.hub import HubSink
    from rlx.experiment.sinks.plot import PlotSink
    from rlx.experiment.sinks.wandb import WandbSink

    log = config.logger
    sinks = [CsvSink([run_dir], config.seed, resume)] if log.csv else []
    sinks += [PlotSink(run_dir, progress)] if log.plot and log.csv else []
    sinks += [WandbSink(config, run_dir, resume)] if log.wandb else []
    ckpt = None
    if config.checkpoint.enabled and jax.process_count() == 1:
        ckpt = CheckpointSink([run_dir], config.checkpoint.every_chunks, config.checkpoint.max_to_keep, progress)
        sinks.append(ckpt)
    sinks += [HubSink(config, run_dir, progress, ckpt)] if config.hub.repo_id else []
    return sinks


def _run_dir(config: RunConfig, run_dir, resume: bool) -> pathlib.Path | None:
    """The folder this run writes (None: nothing), checked for ``resume`` before anything is built."""
    write = run_dir is not False and parallel.is_main_process()
    if resume and not (write and run_dir):
        from rlx.experiment.checkpoint import CheckpointError

        raise CheckpointError("resume needs a run folder")
    if not write:
        return None
    run_dir = pathlib.Path(run_dir) if run_dir else paths.run_dir_for(config)
    if not resume:
        paths.check_new_folder(run_dir)
    _check_writable(run_dir)
    return run_dir


def _check_extras(config: RunConfig):
    """An optional package a setting needs is one line before anything compiles, not a traceback after."""
    import importlib.util

    if config.logger.wandb and importlib.util.find_spec("wandb") is None:
        from rlx.config import ConfigError

        raise ConfigError("logger.wandb: needs the wandb package: pip install 'rlx[wandb]'")


def _check_writable(run_dir: pathlib.Path):
    """A folder the run cannot write is one line before anything compiles, not a traceback after."""
    import os

    existing = run_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        from rlx.config import ConfigError

        raise ConfigError(f"logger.out_dir: cannot write {run_dir} ({existing} is not writable)")


def run(
    config: RunConfig,
    run_dir: pathlib.Path | None | bool = None,
    progress_stream=None,
    resume: bool = False,
    on_chunk=None,
    checkpoint: str | int = "latest",
) -> TrialResult:
    """Trains ``config`` and writes its run folder (``run_dir=False``: write nothing).

    ``resume=True`` continues ``run_dir`` from ``checkpoint`` (``latest``: the newest that restores,
    skipping damaged ones with a line each; ``best``; an update number); the checkpoints after it are
    removed once the run goes on. A folder killed before its first checkpoint starts over, with a line.
    Nothing restorable, or one that does not fit the config: ``CheckpointError``, one line, folder untouched.
    ``on_chunk(frames, score)`` is called after every chunk with the frames per seed so far and the
    trial score so far (``rlx.search`` reports it to its scheduler); returning ``True`` stops the run
    there, and its metrics are computed over the log points reached.
    """
    t_start = time.perf_counter()
    parallel.initialize(config.distributed)  # several machines: before anything touches a device
    paths.enable_compilation_cache()
    _check_extras(config)
    run_dir = _run_dir(config, run_dir, resume)
    group = Group([Trial(config, run_dir)])
    progress = Progress(config.max_frame, enabled=config.logger.progress, stream=progress_stream)
    resume = resume and _has_checkpoint(run_dir, progress)
    resumed = _restore(group, checkpoint, progress) if resume else None  # first: the folder unchanged on failure
    progress.message(_start_line(config, group, run_dir))
    loop = group.start(progress, resumed)  # built and compiled before the folder exists: a refusal leaves none
    if resumed is not None:
        _drop_later(run_dir, resumed["step"], progress)
    if run_dir:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            paths.write_yaml(run_dir / "config.yaml", to_dict(config))
    loop.warn = progress.notice
    sinks = run_sinks(config, run_dir, progress, resume) if run_dir else []
    sinks += [ProgressSink(progress)] + ([Callback(on_chunk)] if on_chunk else [])
    try:
        loop.run(sinks)
    except TrainingDiverged as err:  # the folder gets the metrics of every finite chunk, then the one line
        if run_dir:
            summary = trial_summary(config, loop, 0, time.perf_counter() - t_start)
            paths.write_json(run_dir / "trial_metrics.json", {**summary, "diverged": True, "error": str(err)})
        raise
    except KeyboardInterrupt:  # the loop stopped at a chunk boundary with its checkpoint written
        if not run_dir:
            raise
        done = f"{loop.done_updates:,} of {loop.plan.num_updates:,}"
        raise KeyboardInterrupt(f"interrupted after update {done}; continue with: rlx-train resume={run_dir}") from None
    summary = _finish(config, loop, sinks, run_dir, progress, t_start)
    sessions = [{k: v for k, v in s.items() if k != "seed"} for s in summary["sessions"]]
    frames, reward = np.asarray(loop.history.frames), loop.history.total_reward()
    fields = (summary["trial"], sessions, frames, reward, summary["wall_s"], loop.compile_s, loop.state)
    return TrialResult(run_dir, *fields, loop.frames_per_seed)


def _restore(group: Group, which, progress) -> dict:
    """The group's state at checkpoint ``which``; each damaged checkpoint skipped on the way is a line."""
    skipped = []
    resumed = group.restore(which, lambda step, why: skipped.append((step, why)))
    for step, why in skipped:
        progress.notice(f"rlx: skipped checkpoint {step}: {why}")
    return resumed


def _drop_later(run_dir: pathlib.Path, step: int, progress):
    """Removes the checkpoints after the one resumed (damaged, or passed over by ``checkpoint=``): the
    resumed run writes those steps again."""
    from rlx.experiment.checkpoint import drop_steps_after

    dropped = drop_steps_after(run_dir, step)
    if dropped:
        progress.notice(f"rlx: removed checkpoints {', '.join(map(str, dropped))} (after the one resumed)")


def _has_checkpoint(run_dir: pathlib.Path, progress) -> bool:
    """Whether a folder to resume has a checkpoint; a run killed before its first starts over."""
    from rlx.experiment.checkpoint import DIRNAME, _step_dirs

    if _step_dirs(run_dir / DIRNAME):
        return True
    if not (run_dir / "config.yaml").is_file():
        from rlx.experiment.checkpoint import CheckpointError

        raise CheckpointError(f"{run_dir}: not a run folder (no config.yaml)")
    progress.notice(f"rlx: {run_dir} has no checkpoint yet (killed before the first): starting the run over")
    return False


def _start_line(config: RunConfig, group: Group, run_dir) -> str:
    p = group.plan
    return (
        f"rlx: {config.algo.name} on {config.env} | {config.num_seeds} seeds x {group.algo.env.num_envs} envs | "
        f"{p.num_updates * p.frames_per_update:,} frames/seed in {p.num_updates} updates, {p.num_chunks} chunks"
        + (f" | {run_dir}" if run_dir else "")
    )


def _finish(config: RunConfig, loop, sinks: list, run_dir, progress, t_start: float) -> dict:
    """trial_metrics.json, then the sinks' end of run (plots, wandb summary, hub push), then the trial line."""
    if loop.stopped:
        progress.message(f"rlx: stopped early at {loop.frames_per_seed:,} frames/seed")
    ckpt_s = sum(getattr(s, "seconds", 0.0) for s in sinks)
    summary = trial_summary(config, loop, 0, time.perf_counter() - t_start, ckpt_s)
    if run_dir:
        paths.write_json(run_dir / "trial_metrics.json", summary)
        for s in sinks:
            s.finish(loop, [summary])
    progress.message(
        f"rlx: {loop.train_s:.1f}s training, {summary['train_fps']:,.0f} frames/s, wall {summary['wall_s']:.1f}s"
    )
    print(slm.format_trial_line(loop.frames_per_seed, summary["trial"]), flush=True)
    return summary
