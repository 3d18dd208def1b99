"""Trials that share one compiled program (a plain run is a group of one): started fresh or restored.

The batch is trials x seeds, trial-major; every trial uses the plain run's seed keys
(``rlx.experiment.seeds.seed_keys``: common random numbers), so a trial differs from the plain run with
its values only by its hyperparameters. Each trial keeps its checkpoints in its own run folder, in a
plain run's layout (its seeds' slice of the batch), so a group is restored by restoring each trial
against a fresh init's structure and concatenating the slices: bit for bit the state that was saved.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from rlx.config import RunConfig
from rlx.config.schema import traced_names
from rlx.experiment import checkpoint, parallel
from rlx.evaluate.episodes import make_evaluator
from rlx.experiment.loop import Batch, History, Loop, check_memory, compile_chunk, eval_keys_for, plan_for
from rlx.experiment.seeds import seed_keys


@dataclasses.dataclass
class Trial:
    config: RunConfig
    dir: pathlib.Path | None = None  # its run folder; None writes nothing


def make_algo(config: RunConfig):
    from rlx.algos import algo_module

    return algo_module(config.algo.name).make_algo(config)


def hparams_batch(configs: list[RunConfig], num_seeds: int, names: tuple | None = None) -> dict:
    """The traced hyperparameters of several trials as one batch for ``vmap(train)(keys, hparams)``:
    ``{name: float32[trials * seeds]}``, trial-major (trial ``t``, seed ``s`` at ``t * num_seeds + s``),
    each trial's value repeated over its seeds. ``names`` defaults to the algorithm's traced fields;
    the configs must differ only in those (anything else changes the program's shapes)."""
    names = traced_names(configs[0].algo) if names is None else names
    return {
        n: jnp.asarray(np.repeat([float(getattr(c.algo, n)) for c in configs], num_seeds), jnp.float32) for n in names
    }


class Group:
    def __init__(self, trials: list[Trial]):
        self.trials = trials
        self.config = config = trials[0].config
        self.algo = make_algo(config)
        self.plan = plan_for(config, self.algo)
        self.batch = Batch(len(trials), config.num_seeds)
        self.keys = seed_keys(config.seed, config.num_seeds)
        self.sharding = parallel.seed_sharding(self.batch.size, config.distributed.devices)
        # the state's structure, traced without running: what a restore fills, and init's own refusals
        # (a replay that would not fit) come here, before the run prints or writes anything
        self.target = jax.eval_shape(jax.vmap(self.algo.init), self.keys)

    def common_step(self) -> int | None:
        """The latest checkpoint every trial finished (a kill can land between the trials' saves)."""
        steps = [set(checkpoint.complete_steps(t.dir)) for t in self.trials]
        common = set.intersection(*steps) if steps else set()
        return max(common) if common else None

    def restore(self, which: str | int = "latest", on_skip=None) -> dict:
        """The loop's state at a checkpoint (a plain run: ``which``, by default the newest that restores;
        a group: the latest every trial finished). Reads only, and raises ``CheckpointError`` with one
        line (the folders untouched) when there is none or it does not fit this config; the caller
        drops the steps after the one restored (``drop_later``) once it goes on."""
        t0 = time.perf_counter()
        step = which if self.batch.trials == 1 else self.common_step()
        if step is None:
            raise checkpoint.CheckpointError(f"{self.trials[0].dir}: no checkpoint common to its group's trials")
        parts = [checkpoint.load(t.dir, self.target, step, on_skip) for t in self.trials]
        host, step = parts[0][1], parts[0][2]
        p = self.plan
        if (host.get("num_updates"), host.get("chunk_len")) != (p.num_updates, p.chunk_len):
            raise checkpoint.CheckpointError(
                f"checkpoint {step} was taken with {host.get('num_updates')} updates in chunks of "
                f"{host.get('chunk_len')}, this config has {p.num_updates} in chunks of {p.chunk_len}"
            )
        states = [s for s, _, _ in parts]
        state = states[0] if len(states) == 1 else jax.tree.map(lambda *xs: jnp.concatenate(xs), *states)
        for t in self.trials if len(self.trials) > 1 else ():
            checkpoint.drop_steps_after(t.dir, step)
        return {
            "state": state,
            "history": History.from_hosts([h for _, h, _ in parts]),
            "diverged": [bool(h.get("diverged", False)) for _, h, _ in parts],
            "chunk": host["chunk"],
            "done_updates": host["done_updates"],
            "train_s": host["train_s"],
            "step": step,
            "restore_s": time.perf_counter() - t0,
        }

    def _init(self):
        """The initial state, its program's memory checked before anything is allocated (a replay buffer
        or ``num_envs`` too large for the device is one line, not an allocator failure)."""
        init = jax.jit(jax.vmap(self.algo.init), out_shardings=self.sharding)
        args = (self.keys,)  # a plain run: the config's own values, as it has always been built
        if self.batch.trials > 1:
            # every traced hyperparameter goes in the batch; those the group is not keyed on (gamma under
            # reward normalisation) are equal within it
            args = (
                jnp.tile(self.keys, self.batch.trials),
                hparams_batch([t.config for t in self.trials], self.batch.seeds),
            )
        compiled = init.lower(*args).compile()
        check_memory(compiled)
        return compiled(*args)

    def start(self, progress, resumed: dict | None = None, raise_on_divergence: bool = True) -> Loop:
        """Builds (or places the restored) state and compiles the chunk program for it. A sweep marks a
        diverged trial (``raise_on_divergence=False``) and ranks it last; a run stops."""
        if self.sharding is not None:
            progress.message(f"rlx: seeds sharded over {parallel.describe(self.sharding)}")
        if resumed is not None:
            p = self.plan
            progress.message(
                f"rlx: resumed from checkpoint {resumed['step']} (update {resumed['done_updates']}/{p.num_updates}, "
                f"chunk {resumed['chunk']}/{p.num_chunks}) in {resumed['restore_s']:.1f}s"
            )
        t0 = time.perf_counter()
        state = self._init() if resumed is None else parallel.shard(resumed["state"], self.sharding)
        # built by a program like the state, so a mesh over several processes' devices places them too
        eval_keys = jax.jit(eval_keys_for, out_shardings=self.sharding)(jnp.tile(self.keys, self.batch.trials))
        evaluate = make_evaluator(self.config, self.algo) if self.plan.is_eval is not None else None
        compiled = compile_chunk(self.algo, state, eval_keys, self.plan.chunk_len, evaluate)
        check_memory(compiled)
        jax.block_until_ready(state)
        compile_s = time.perf_counter() - t0
        progress.message(f"rlx: compiled in {compile_s:.1f}s")
        loop = Loop(self.algo, self.plan, self.batch, state, compiled, eval_keys, compile_s, resumed)
        loop.raise_on_divergence = raise_on_divergence
        return loop
