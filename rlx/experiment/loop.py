"""The chunk loop that every trial goes through: plain runs, sweep groups and search trials.

The batch axis is ``trials x seeds`` (trial-major; a plain run is one trial). ``jit(vmap(init))``
once, then ``jit(vmap(scan(update, chunk_len)))`` per chunk: all chunks have the same length (the
last one masks its surplus updates with a ``cond`` on an unbatched count), so the chunk program
compiles once. Between chunks, on the host, the loop turns the chunk's metrics into log points (one
rule for everyone: ``log_frames``) and hands a ``Chunk`` to its sinks (CSV, checkpoints, progress...,
``rlx.experiment.sinks``). Log points, rows and trial scores are computed here and nowhere else, so a
sweep trial and the plain run with the same settings log the same rows.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from rlx.experiment import parallel
from rlx.experiment import scoring as slm
from rlx.experiment.interrupt import Interrupts

TARGET_CHUNKS = 20
EVAL_STREAM = 0x65766C  # "evl": folded into a seed's key for its evaluation episodes


class TrainingDiverged(RuntimeError):
    """A non-finite loss: the run stops at the chunk that produced it. ``str(err)`` is one line naming
    the first bad update, its frame and the seeds; the CLI exits with ``exit_status``."""

    exit_status = 3


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


@dataclasses.dataclass(frozen=True)
class Plan:
    num_updates: int
    chunk_len: int
    num_chunks: int
    frames_per_update: int
    log_frequency: int
    grad_steps_per_update: int
    is_log: np.ndarray = dataclasses.field(repr=False, compare=False)
    is_eval: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)  # None: no evaluation

    def eval_at(self, start: int) -> np.ndarray:
        """The chunk from update ``start`` (0-based): each slot's update number (1-based) where it
        evaluates, else -1 (past the run's end too), as the chunk program takes it."""
        at = np.full(self.chunk_len, -1, np.int32)
        if self.is_eval is not None:
            due = self.is_eval[start : start + self.chunk_len]
            at[: len(due)] = np.where(due, start + 1 + np.arange(len(due)), -1)
        return at


def eval_mask(num_updates: int, frames_per_update: int, every_frames: int) -> np.ndarray:
    """Updates that evaluate: those crossing a multiple of ``every_frames``, and the last one. With
    ``every_frames`` a multiple of ``log_frequency`` each is a log point's update, so every
    evaluation lands in a metrics.csv row."""
    frames = (np.arange(num_updates, dtype=np.int64) + 1) * frames_per_update
    due = frames // every_frames > (frames - frames_per_update) // every_frames
    due[-1] = True
    return due


def plan_for(config, algo) -> Plan:
    """Equal chunks of about ``TARGET_CHUNKS`` (``num_chunks`` overrides)."""
    num_updates = algo.num_updates
    if config.num_chunks > num_updates:
        from rlx.config import ConfigError

        raise ConfigError(
            f"num_chunks: at most the run's {num_updates:,} updates (0: about {TARGET_CHUNKS}), "
            f"got {config.num_chunks:,}"
        )
    every = config.eval.every_frames
    if every % config.log_frequency:
        from rlx.config import ConfigError

        raise ConfigError(
            f"eval.every_frames: a multiple of log_frequency ({config.log_frequency:,}) so each evaluation "
            f"is a metrics.csv row, got {every:,}"
        )
    num_chunks = config.num_chunks or min(TARGET_CHUNKS, num_updates)
    chunk_len = math.ceil(num_updates / num_chunks)
    num_chunks = math.ceil(num_updates / chunk_len)
    F = algo.frames_per_update
    mask = log_point_mask(num_updates, F, config.log_frequency)
    evals = eval_mask(num_updates, F, every) if every else None
    return Plan(num_updates, chunk_len, num_chunks, F, config.log_frequency, algo.grad_steps_per_update, mask, evals)


def compile_chunk(algo, state, eval_keys, chunk_len: int, evaluate=None):
    """``jit(vmap(scan(update, chunk_len)))`` compiled ahead of time for ``state``'s batch and layout.

    Called as ``compiled(state, n_valid, eval_at, eval_keys)``: updates past ``n_valid`` (an unbatched
    count) are masked by a ``cond``, so a ragged last chunk reuses the same program. With an
    ``evaluate(state, key) -> return`` (``rlx.evaluate.episodes.make_evaluator``), the slots where
    ``eval_at`` (unbatched, ``Plan.eval_at``) holds an update number evaluate the state after that
    update with ``fold_in(eval_keys[seed], update)``, logged as ``eval_return`` (NaN elsewhere); the
    predicate is unbatched, so the ``cond`` stays a branch under ``vmap`` and costs nothing between evaluations.
    """
    metric_shape = jax.eval_shape(lambda s: algo.update(s)[1], jax.tree.map(lambda x: x[0], state))

    def skip(s):
        return s, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shape)

    def chunk(s, n_valid, eval_at, eval_key):
        def body(s, x):
            i, at = x
            s, m = jax.lax.cond(i < n_valid, algo.update, skip, s)
            if evaluate is not None:
                m = dict(m)
                m["eval_return"] = jax.lax.cond(
                    at >= 0,
                    lambda s: evaluate(s, jax.random.fold_in(eval_key, at)).astype(jnp.float32),
                    lambda s: jnp.float32(jnp.nan),
                    s,
                )
            return s, m

        return jax.lax.scan(body, s, (jnp.arange(chunk_len), eval_at))

    chunk_jit = jax.jit(jax.vmap(chunk, in_axes=(0, None, None, 0)), donate_argnums=0)
    at = jax.ShapeDtypeStruct((chunk_len,), jnp.int32)
    return chunk_jit.lower(parallel.abstract(state), jnp.int32(chunk_len), at, parallel.abstract(eval_keys)).compile()


def eval_keys_for(seed_keys):
    """Each batch entry's evaluation stream, apart from everything its training key draws."""
    return jax.vmap(lambda k: jax.random.fold_in(k, EVAL_STREAM))(seed_keys)


def check_memory(compiled) -> None:
    """Refuses, in one line and before it runs, a chunk program whose buffers (XLA's own estimate)
    would not fit the device: ``num_envs=1e7`` should not ask the allocator for a terabyte first."""
    from rlx.algos.common import device_memory_bytes

    try:
        m = compiled.memory_analysis()
        need = m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes - m.alias_size_in_bytes
    except Exception:  # no estimate on this backend: let it run
        return
    limit = device_memory_bytes()
    if limit and need > 0.9 * limit:
        from rlx.config import ConfigError

        raise ConfigError(
            f"num_envs: the training program needs {need / 2**30:,.1f} GiB, the device has {limit / 2**30:,.1f} GiB; "
            "lower num_envs, algo.num_steps, num_seeds or algo.buffer_size"
        )


def nan_mean(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN (log points before any episode ended); NaN if none."""
    ok = np.isfinite(x)
    count = ok.sum(0)
    return np.where(count > 0, np.where(ok, x, 0.0).sum(0) / np.maximum(count, 1), np.nan)


@dataclasses.dataclass(frozen=True)
class Batch:
    trials: int
    seeds: int

    @property
    def size(self) -> int:
        return self.trials * self.seeds

    def of(self, t: int) -> slice:
        return slice(t * self.seeds, (t + 1) * self.seeds)


@dataclasses.dataclass
class History:
    """Every log point so far, for the whole batch: the moving average, the trial scores and the
    metrics come from it, and a checkpoint carries it so a resumed run continues the same average."""

    frames: list = dataclasses.field(default_factory=list)
    reward: list = dataclasses.field(default_factory=list)  # (batch,) per log point
    eval_frames: list = dataclasses.field(default_factory=list)
    eval_return: list = dataclasses.field(default_factory=list)  # (batch,) per evaluation

    def add(self, frame: int, reward: np.ndarray) -> np.ndarray:
        """Appends a log point; returns SLM-Lab's MA column at it (mean of the last 100 points)."""
        self.frames.append(int(frame))
        self.reward.append(reward)
        return nan_mean(np.asarray(self.reward[-slm.MA_WINDOW :]))

    def score(self, sl: slice = slice(None)) -> float:
        """SLM-Lab's trial score so far: mean over seeds of the MA of total_reward at the last point."""
        if not self.reward:
            return float("nan")
        ma = nan_mean(np.asarray(self.reward[-slm.MA_WINDOW :]))[sl]
        return float(np.nanmean(ma)) if np.isfinite(ma).any() else float("nan")

    def total_reward(self, sl: slice = slice(None)) -> np.ndarray:
        """(seeds, log points) of the batch slice ``sl``."""
        return np.asarray(self.reward).T[sl] if self.reward else np.zeros((0, 0))

    def evaluations(self, sl: slice = slice(None)) -> np.ndarray:
        """(evaluations, seeds) of the batch slice ``sl``."""
        return np.asarray(self.eval_return, np.float32).reshape(len(self.eval_return), -1)[:, sl]

    def to_host(self, sl: slice) -> dict:
        def plain(points):
            return [[None if not np.isfinite(v) else float(v) for v in r[sl]] for r in points]

        return {
            "rows_frames": [int(f) for f in self.frames],
            "rows_reward": plain(self.reward),
            "eval_frames": [int(f) for f in self.eval_frames],
            "eval_return": plain(self.eval_return),
        }

    @classmethod
    def from_hosts(cls, hosts: list[dict]) -> History:
        """The batch's history from each trial's checkpointed slice (trial-major, as the batch is)."""

        def batch(key):
            parts = [np.asarray([[np.nan if v is None else v for v in r] for r in h.get(key, [])]) for h in hosts]
            return list(np.concatenate(parts, axis=1).astype(np.float32)) if parts[0].size else []

        h = hosts[0]
        return cls(list(h["rows_frames"]), batch("rows_reward"), list(h.get("eval_frames", [])), batch("eval_return"))


@dataclasses.dataclass
class Chunk:
    """What the sinks see at a chunk boundary."""

    index: int  # 0-based
    done_updates: int  # after this chunk
    metrics: dict  # name -> (valid updates, batch)
    points: list  # (frame, update, row index in metrics, MA (batch,)) per log point of this chunk
    elapsed: float  # training seconds so far
    fps: float  # frames per second over the whole batch
    frames_done: int  # per seed
    last: bool

    def rows(self, sl: slice, seed0: int, grad_steps: int) -> list[dict]:
        """metrics.csv rows of the batch slice ``sl`` (one trial): one per log point per seed."""
        rows = []
        ret = self.metrics["episode_return"]
        for frame, u, j, ma in self.points:
            for s, b in enumerate(range(sl.start, sl.stop)):
                row = {
                    "seed": seed0 + s,
                    "frame": frame,
                    "update": u,
                    "opt_steps": u * grad_steps,
                    "total_reward": float(ret[j, b]),
                    "total_reward_ma": float(ma[b]),
                }
                row.update({k: float(v[j, b]) for k, v in self.metrics.items() if k != "episode_return"})
                row.update({"wall_s": round(self.elapsed, 3), "fps": round(self.fps, 1)})
                rows.append(row)
        return rows

    def latest_return(self) -> float:
        latest = self.metrics["episode_return"][-1]
        return float(np.nanmean(latest)) if np.isfinite(latest).any() else float("nan")


class Sink:
    """Called by the loop: ``start`` before the first chunk, ``chunk`` after each (a true return stops
    the run there), ``close`` always (also on an error; ``loop.interrupted`` after a Ctrl-C at a chunk
    boundary), ``finish`` with the trials' summaries."""

    def start(self, loop: Loop):
        pass

    def chunk(self, loop: Loop, chunk: Chunk) -> bool | None:
        return None

    def close(self, loop: Loop):
        pass

    def finish(self, loop: Loop, summaries: list[dict]):
        pass


class Loop:
    """The state of a batch of trials between chunks, and the loop that advances it."""

    def __init__(
        self, algo, plan: Plan, batch: Batch, state, compiled, eval_keys, compile_s: float, resumed: dict | None = None
    ):
        self.algo, self.plan, self.batch, self.state, self.compiled = algo, plan, batch, state, compiled
        self.eval_keys = eval_keys
        self.compile_s = compile_s
        resumed = resumed or {}
        self.history = resumed.get("history") or History()
        self.next_chunk = resumed.get("chunk", 0)
        self.done_updates = resumed.get("done_updates", 0)
        self.train_before = resumed.get("train_s", 0.0)
        # a sweep trial's non-finite loss, kept in its checkpoint so a resumed sweep still ranks it last
        self.diverged = np.asarray(resumed.get("diverged", np.zeros(batch.trials, bool)), bool)
        self.raise_on_divergence = True
        self.warn = print  # one-line warnings (the progress stream, when there is one)
        self.nonfinite_grad_updates = np.zeros(batch.trials, np.int64)  # per trial, over the run so far
        self.stopped = False
        self.interrupted = False  # a Ctrl-C stopped the loop at a chunk boundary (state and host agree)
        self.train_s = 0.0
        self._t_train = time.perf_counter() - self.train_before

    @property
    def frames_per_seed(self) -> int:
        return self.done_updates * self.plan.frames_per_update

    def run(self, sinks: list[Sink]):
        """Every chunk left, each handed to the sinks; a Ctrl-C stops at the next chunk boundary
        (``rlx.experiment.interrupt``): the sinks take that chunk and finish writing, then
        KeyboardInterrupt."""
        t_train = self._t_train = time.perf_counter() - self.train_before
        with Interrupts() as interrupts:
            try:
                with interrupts.deferred():
                    for s in sinks:
                        s.start(self)
                for c in range(self.next_chunk, self.plan.num_chunks):
                    chunk = self._step(c, t_train)
                    with interrupts.deferred():
                        stop = [bool(s.chunk(self, chunk)) for s in sinks]
                    if interrupts.requested:  # at a boundary: the sinks' close saves what it left
                        self.interrupted = True
                        raise KeyboardInterrupt
                    if any(stop) and not chunk.last:
                        self.stopped = True
                        break
            finally:
                with interrupts.deferred():  # the last asynchronous save finishes whole
                    self._close(sinks)
        jax.block_until_ready(self.state)
        self.train_s = time.perf_counter() - t_train

    def _close(self, sinks: list[Sink]):
        """Closes every sink even when one fails (on a full disk the CSV fails first, and the
        checkpointer must still wait for its save thread), then raises the first failure."""
        errors = []
        for s in sinks:
            try:
                s.close(self)
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]

    def _step(self, c: int, t_train: float) -> Chunk:
        p, start = self.plan, self.done_updates
        n_valid = min(p.chunk_len, p.num_updates - start)
        self.state, m = self.compiled(self.state, jnp.int32(n_valid), jnp.asarray(p.eval_at(start)), self.eval_keys)
        m = parallel.fetch(m)  # (batch, chunk_len) per metric; blocks until the chunk is done
        m = {k: np.asarray(v).T[:n_valid] for k, v in m.items()}  # (updates, batch)
        self._check_divergence(m, start, n_valid)
        elapsed = time.perf_counter() - t_train
        points = []
        for j in np.nonzero(p.is_log[start : start + n_valid])[0]:
            u = start + int(j) + 1
            for frame in log_frames(u, p.frames_per_update, p.log_frequency):
                points.append((frame, u, int(j), self.history.add(frame, m["episode_return"][j])))
            if p.is_eval is not None and p.is_eval[start + j]:  # an eval point is a log point (plan_for)
                self.history.eval_frames.append(points[-1][0])
                self.history.eval_return.append(m["eval_return"][j])
        self.done_updates += n_valid
        self.next_chunk = c + 1
        frames = self.frames_per_seed
        fps = frames * self.batch.size / max(elapsed, 1e-9)
        return Chunk(c, self.done_updates, m, points, elapsed, fps, frames, c == p.num_chunks - 1)

    def _check_divergence(self, m: dict, start: int, n_valid: int):
        """Non-finite gradient norms are counted and reported once; a non-finite loss diverges the
        trial (a run stops before its sinks see the chunk: rows and checkpoints stay finite)."""
        shape = (n_valid, self.batch.trials, self.batch.seeds)
        if "grad_norm" in m:
            bad_grad = (~np.isfinite(m["grad_norm"])).reshape(shape).any(axis=2).sum(axis=0)
            if bad_grad.any() and not self.nonfinite_grad_updates.any():
                u, seeds = self._first_bad(m["grad_norm"], start)
                self.warn(
                    f"rlx: warning: non-finite gradient norm at update {u} (frame {u * self.plan.frames_per_update:,}) "
                    f"in seed(s) {seeds}; counted in trial_metrics.json (nonfinite_grad_updates)"
                )
            self.nonfinite_grad_updates += bad_grad
        if "loss" not in m:
            return
        bad = (~np.isfinite(m["loss"])).reshape(shape).any(axis=(0, 2))
        if bad.any() and self.raise_on_divergence:
            u, seeds = self._first_bad(m["loss"], start)
            raise TrainingDiverged(
                f"non-finite loss at update {u} (frame {u * self.plan.frames_per_update:,}) in seed(s) {seeds}; "
                "the run folder keeps every row and checkpoint before it; lower algo.lr or check the env's rewards"
            )
        self.diverged |= bad

    def _first_bad(self, values: np.ndarray, start: int) -> tuple[int, str]:
        """The first update (1-based) with a non-finite value, and the batch positions of it, as seeds."""
        bad = ~np.isfinite(values)
        j = int(np.nonzero(bad.any(axis=1))[0][0])
        cols = np.nonzero(bad[j])[0]
        return start + j + 1, ", ".join(str(int(b) % self.batch.seeds) for b in cols)

    def host(self, t: int) -> dict:
        """Trial ``t``'s host-side state for its checkpoint (the plain run folder's layout)."""
        return {
            "chunk": self.next_chunk,
            "done_updates": self.done_updates,
            "csv_rows": len(self.history.frames) * self.batch.seeds,
            "num_updates": self.plan.num_updates,
            "chunk_len": self.plan.chunk_len,
            "train_s": time.perf_counter() - self._t_train,
            "diverged": bool(self.diverged[t]),
            **self.history.to_host(self.batch.of(t)),
        }

    def trial_metrics(self, t: int, random_return: float) -> dict:
        """SLM-Lab's session and trial metrics of trial ``t`` over the log points reached."""
        frames = np.asarray(self.history.frames)
        opt_steps = -(-frames // self.plan.frames_per_update) * self.plan.grad_steps_per_update
        result = slm.trial_metrics(frames, self.history.total_reward(self.batch.of(t)), opt_steps, random_return)
        if self.history.eval_frames:
            slm.add_eval_metrics(result, self.history.evaluations(self.batch.of(t)))
        if self.diverged[t]:  # a non-finite loss: ranked last, whatever its returns were
            result["trial"] = {k: float("nan") for k in result["trial"]}
        return result
