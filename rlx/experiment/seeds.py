"""The training keys of a run's sessions, in one place so the CLI, restore, replay and benches agree.

Session ``i`` of a run with ``seed=S`` trains from ``key(S + i)``: the seed labelled ``S + i`` in
metrics.csv is the same key whatever the run's ``seed`` and ``num_seeds``, so ``seed=2 num_seeds=1``
repeats session 2 of ``seed=0 num_seeds=4`` (the same arithmetic; different seed counts batch it
differently on XLA, so it agrees to float rounding, bit for bit only with the same program shape).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """``key(seed + i)`` for each session ``i < num_seeds``, stacked along the seed axis. The seeds are
    uint32 so ``seed + i`` past int32 (seed <= 2**31 - 1, num_seeds <= 2**16) is still the key
    ``jax.random.key(seed + i)`` would give."""
    return jax.vmap(jax.random.key)(jnp.arange(seed, seed + num_seeds, dtype=jnp.uint32))
