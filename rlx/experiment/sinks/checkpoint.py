"""Each trial's checkpoints, in its own run folder (``rlx.experiment.checkpoint``'s layout).

A trial's step holds its seeds' slice of the batch and its slice of the log history, so it can be
resumed or replayed as a plain run. In a group, every trial's previous save is finished before any
trial starts the next one: a kill then leaves every trial with a step in common to resume from.
"""

from __future__ import annotations

import math
import pathlib
import time

import jax

from rlx.experiment.loop import Sink


class CheckpointSink(Sink):
    def __init__(self, dirs: list[pathlib.Path], every_chunks: int, max_to_keep: int, progress=None):
        self.dirs, self.every, self.keep, self.progress = dirs, every_chunks, max_to_keep, progress
        self.ckpts, self.best, self.seconds = [], [], 0.0
        self.new_best: list[bool] = []  # per trial, at the last chunk: did its score improve
        self.unsaved = False  # the last chunk seen fell between saves (checkpoint.every_chunks)

    def start(self, loop):
        from rlx.experiment.checkpoint import Checkpointer

        self.ckpts = [Checkpointer(d, self.keep) for d in self.dirs]
        self.best = [float("-inf")] * len(self.dirs)
        self.new_best = [False] * len(self.dirs)
        state_gb = sum(x.nbytes for x in jax.tree.leaves(loop.state) if hasattr(x, "nbytes")) / 2**30
        if state_gb > 0.5 and self.progress:  # e.g. a large replay buffer: every save writes all of it
            self.progress.message(
                f"rlx: each checkpoint writes {state_gb:.1f} GiB (every {self.every} chunk(s)); "
                "raise checkpoint.every_chunks or set checkpoint.enabled=false to write less"
            )

    def chunk(self, loop, chunk):
        self.new_best = [False] * len(self.dirs)
        self.unsaved = bool((chunk.index + 1) % self.every) and not chunk.last
        if not self.unsaved:
            self._save(loop)

    def _save(self, loop):
        t0 = time.perf_counter()
        if len(self.ckpts) > 1:
            for ck in self.ckpts:
                ck.wait()
        for t, ck in enumerate(self.ckpts):
            sl = loop.batch.of(t)
            state = loop.state if len(self.ckpts) == 1 else jax.tree.map(lambda x, sl=sl: x[sl], loop.state)
            score = loop.history.score(sl)
            ck.save(loop.done_updates, state, loop.host(t), score)
            if math.isfinite(score) and score > self.best[t]:
                self.best[t], self.new_best[t] = score, True
        self.seconds += time.perf_counter() - t0

    def close(self, loop):
        try:
            if loop.interrupted and self.unsaved:  # a Ctrl-C between saves: the chunk it stopped at too
                self._save(loop)
        finally:
            t0 = time.perf_counter()
            for ck in self.ckpts:
                ck.close()  # waits for the last asynchronous save
            self.seconds += time.perf_counter() - t0
