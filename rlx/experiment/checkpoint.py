"""Checkpoints of a whole trial: the vmapped train state plus the runner's host-side state.

Layout: ``<run>/checkpoints/<update>/`` (one orbax step per saved chunk boundary, named by the
number of updates done), each holding ``state`` (the vmapped train state: params, optimiser,
env state with its normaliser and episode statistics, replay buffer, typed PRNG keys, counters)
and ``host`` (JSON: chunk index, log history for the moving average, metrics.csv row count,
trial score). orbax writes a step into a temporary folder and renames it when complete, so an
interrupted save never replaces a good checkpoint; a leftover temporary folder is ignored.

Kept: the latest ``max_to_keep`` steps and the best one by trial score (the mean over seeds of
``total_reward_ma`` at the step's last log point, SLM-Lab's trial score). Restores are always
against a target structure (``jax.eval_shape`` of the vmapped init): orbax then gives back the
same TrainState, Adam state and typed PRNG keys bit for bit (docs/design.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import pathlib
from typing import Any

import jax

from rlx.errors import first_line
from rlx.experiment.paths import naming

DIRNAME = "checkpoints"


class CheckpointError(RuntimeError):
    """A missing or unreadable checkpoint; ``str(err)`` is one line."""


class _BackgroundTracebacks(logging.Filter):
    """orbax logs a failed background save (a full disk) with its traceback, then raises the same
    error in the main thread at the next save or wait, where it becomes the CLI's one line: the
    logged copy is dropped."""

    def filter(self, record):
        return not (record.exc_info and f"{os.sep}orbax{os.sep}" in record.pathname)


def _ocp():
    import orbax.checkpoint as ocp

    absl = logging.getLogger("absl")
    if not any(isinstance(f, _BackgroundTracebacks) for f in absl.filters):
        absl.addFilter(_BackgroundTracebacks())
    return ocp


def _score_key(metrics) -> float:
    score = (metrics or {}).get("score", float("-inf"))
    return score if score is not None and math.isfinite(score) else float("-inf")


def _fill_empty(tree):
    """orbax cannot save zero-size arrays (MJX's ``Data`` has some, e.g. ``act`` in a model without
    activations): each is saved as a one-element placeholder and rebuilt from the restore target."""

    def fill(x):
        if getattr(x, "size", 1) != 0:
            return x
        if isinstance(x, jax.ShapeDtypeStruct):
            return jax.ShapeDtypeStruct((1,), x.dtype)
        return jax.numpy.zeros((1,), x.dtype)

    return jax.tree.map(fill, tree)


def _restore_empty(target, restored):
    return jax.tree.map(
        lambda t, r: jax.numpy.zeros(t.shape, t.dtype) if getattr(t, "size", 1) == 0 else r, target, restored
    )


def _step_dirs(directory: pathlib.Path) -> list[int]:
    """Complete steps on disk (orbax names temporary folders ``<step>.orbax-checkpoint-tmp-*``)."""
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def complete_steps(run_dir: pathlib.Path) -> list[int]:
    """The steps of a run folder that a kill did not cut short: renamed from orbax's temporary name
    and holding its metadata (a step being deleted when the kill came loses that file first)."""
    directory = pathlib.Path(run_dir) / DIRNAME
    return [s for s in _step_dirs(directory) if (directory / str(s) / "_CHECKPOINT_METADATA").is_file()]


def drop_steps_after(run_dir: pathlib.Path, step: int) -> list[int]:
    """Removes the steps after ``step`` (complete or damaged): a run resumed from an earlier step than
    its newest (a damaged newest, ``checkpoint=<step|best>``, a sweep group's common step) saves those
    steps again. Returns the steps removed."""
    import shutil

    dropped = [s for s in _step_dirs(pathlib.Path(run_dir) / DIRNAME) if s > step]
    for s in dropped:
        shutil.rmtree(pathlib.Path(run_dir) / DIRNAME / str(s))
    return dropped


class Checkpointer:
    """Saves at chunk boundaries (asynchronously: the next chunk runs while the files are written)."""

    def __init__(self, run_dir: pathlib.Path, max_to_keep: int = 2, write: bool = True):
        ocp = _ocp()
        from orbax.checkpoint import checkpoint_managers as cm

        self.directory = pathlib.Path(run_dir).absolute() / DIRNAME
        policy = cm.AnyPreservationPolicy(
            [
                cm.LatestN(n=max_to_keep),
                cm.BestN(get_metric_fn=_score_key, n=1, keep_checkpoints_without_metrics=False),
            ]
        )
        options = ocp.CheckpointManagerOptions(
            preservation_policy=policy,
            create=write,
            cleanup_tmp_directories=write,  # only a writer tidies interrupted saves away
            enable_async_checkpointing=True,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "host"))

    def save(self, step: int, state: Any, host: dict, score: float | None = None):
        ocp = _ocp()
        host = {**host, "score": score if score is not None and math.isfinite(score) else None}
        with naming(self.directory):  # also the previous save's error, which orbax raises here
            self._check_space(step, state)
            self.manager.save(
                step,
                args=ocp.args.Composite(state=ocp.args.StandardSave(_fill_empty(state)), host=ocp.args.JsonSave(host)),
                metrics={"score": host["score"] if host["score"] is not None else float("-inf")},
                force=True,
            )

    def _check_space(self, step: int, state: Any):
        """Refuses a save the disk cannot hold before orbax starts it: a save that runs out of space
        half-way fails in orbax's threads, which report it as tracebacks, not as one line. Waits for
        the previous save first (orbax would), so the free space is what is really left."""
        import errno
        import shutil

        self.manager.wait_until_finished()
        need = sum(getattr(x, "nbytes", 0) for x in jax.tree.leaves(state)) + 2**16  # + orbax's metadata
        free = shutil.disk_usage(self.directory if self.directory.exists() else self.directory.parent).free
        if free < need:
            raise OSError(
                errno.ENOSPC,
                f"No space left on device for checkpoint {step} ({need / 2**20:.2f} MiB, {free / 2**20:.2f} MiB free)",
                str(self.directory),
            )

    def wait(self):
        with naming(self.directory):
            self.manager.wait_until_finished()

    def close(self):
        with naming(self.directory):
            self.manager.wait_until_finished()
            self.manager.close()

    def steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def host(self, step: int) -> dict:
        """The host-side JSON of a step (cheap: does not read the arrays)."""
        path = self.directory / str(step) / "host" / "metadata"  # where orbax's JsonSave puts it
        if not path.is_file():
            raise CheckpointError(f"checkpoint {self.directory / str(step)}: no host state")
        return json.loads(path.read_text())

    def best_step(self) -> int | None:
        best, best_score = None, float("-inf")
        for step in self.steps():
            try:
                score = self.host(step).get("score")
            except (CheckpointError, ValueError):
                continue
            if score is not None and (best is None or score >= best_score):
                best, best_score = step, score
        return best

    def restore(self, step: int, target: Any) -> tuple[Any, dict]:
        ocp = _ocp()
        out = self.manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(_fill_empty(target)), host=ocp.args.JsonRestore()),
        )
        return _restore_empty(target, out.state), dict(out.host)


def keep_final_and_best(run_dir: pathlib.Path):
    """Leaves a finished trial its last step and its best one: what replay and a longer run need.
    (While it trains, a sweep trial keeps two latest, so that a kill between the trials' saves still
    leaves a step every trial of its group has.)"""
    import shutil

    steps = complete_steps(run_dir)
    if len(steps) <= 2:
        return
    ckpt = Checkpointer(run_dir, write=False)
    try:
        best = ckpt.best_step()
    finally:
        ckpt.manager.close()
    for s in steps:
        if s not in (steps[-1], best):
            shutil.rmtree(pathlib.Path(run_dir) / DIRNAME / str(s))


def parse_which(which: str | int | None) -> str | int:
    """``checkpoint=``'s value: ``latest``, ``best`` or an update number (checked before anything is read)."""
    if which in ("latest", "best", None):
        return which or "latest"
    try:
        step = int(which)
    except (TypeError, ValueError):
        step = -1
    if step < 0:
        raise CheckpointError(f"checkpoint: {which!r} is not latest, best or an update number")
    return step


def resolve_step(ckpt: Checkpointer, which: str | int = "latest") -> int:
    steps = ckpt.steps()
    if not steps:
        raise CheckpointError(f"{ckpt.directory}: no checkpoint found")
    which = parse_which(which)
    if which == "latest":
        return steps[-1]
    if which == "best":
        best = ckpt.best_step()
        return best if best is not None else steps[-1]
    step = which
    if step not in steps:
        raise CheckpointError(f"checkpoint: no step {step}; saved steps: {', '.join(map(str, steps))}")
    return step


def load(run_dir: pathlib.Path, target: Any, which: str | int = "latest", on_skip=None) -> tuple[Any, dict, int]:
    """``(state, host, step)`` of a run folder's checkpoint, restored against ``target``.

    ``which="latest"`` takes the newest checkpoint that restores: a damaged one is skipped, and
    ``on_skip(step, reason)`` told (one line each), so one bad save never blocks a resume while an
    older one is intact. Reads only: nothing restorable raises ``CheckpointError`` with one line and
    leaves the run folder as it was.
    """
    if which in ("latest", None):
        steps = complete_steps(run_dir)[::-1] or [None]
        for i, step in enumerate(steps):
            try:
                return _load(run_dir, target, "latest" if step is None else step)
            except CheckpointError as err:
                if i == len(steps) - 1:
                    raise
                if on_skip is not None:
                    on_skip(step, str(err))
    return _load(run_dir, target, which)


def _load(run_dir: pathlib.Path, target: Any, which: str | int) -> tuple[Any, dict, int]:
    directory = pathlib.Path(run_dir) / DIRNAME
    if not _step_dirs(directory):
        raise CheckpointError(f"{run_dir}: no checkpoint in {directory}")
    try:
        ckpt = Checkpointer(run_dir, write=False)
    except Exception as err:  # orbax raises many kinds
        raise CheckpointError(f"{directory}: cannot open checkpoints ({first_line(err)})") from None
    try:
        step = resolve_step(ckpt, which)
        try:
            state, host = ckpt.restore(step, target)
        except Exception as err:
            reason = first_line(err) if len(first_line(err)) < 200 else type(err).__name__
            raise CheckpointError(
                f"checkpoint {directory / str(step)} is unreadable or does not fit this config ({reason})"
            ) from None
    finally:
        with contextlib.suppress(Exception):
            ckpt.manager.close()
    bad = [x for x in jax.tree.leaves(state) if not hasattr(x, "shape")]
    if bad:
        raise CheckpointError(f"checkpoint {directory / str(step)}: incomplete state")
    return state, host, step
