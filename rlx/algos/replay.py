"""Experience replay held in the train state: uniform and prioritized, jittable, one per seed under vmap.

Storage is a flashbax item buffer (``flashbax.make_item_buffer``: a ring of single transitions,
pure ``init/add/sample`` over a pytree state). Prioritized replay (Schaul et al. 2016, proportional
variant) keeps its own sum tree beside that storage, indexed by the same ring slots, because
flashbax's sum tree propagates float32 *deltas* up the tree: rounding drift lets internal sums
disagree with their leaves, and a descent can end on a zero-priority (empty) slot (STYLE.md trap 9,
flashbax #52). Ours recomputes every touched parent as the sum of its two children (no drift) and
its descent never enters a subtree whose sum is zero, so an empty slot is never sampled.

Speed on CPU: the priority update is ordered after every read of the old tree (an optimisation
barrier with the sample's IS weights); without it XLA copies the whole tree for each of the
log2(capacity) level writes, which made PER about 5x slower than uniform replay under vmap.

Sizes are static; ``alpha`` is fixed at construction, ``beta`` (the importance-sampling exponent,
annealed towards 1 by the caller) is a traced argument of ``sample``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import flashbax
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class ReplayState:
    buffer: Any  # flashbax TrajectoryBufferState: experience (1, capacity, ...), current_index, is_full
    tree: jax.Array  # (2 * leaves,) sum tree over p_i^alpha, heap layout (root at 1); (1,) if uniform
    max_priority: jax.Array  # largest p_i^alpha seen: what new transitions get (Schaul et al. 2016, alg. 1)
    size: jax.Array  # int32 items stored


class Sample(NamedTuple):
    batch: Any  # pytree of (batch_size, ...) transitions
    indices: jax.Array  # ring slots the batch came from (for update_priorities)
    weights: jax.Array  # importance-sampling weights, max-normalised in the batch; ones when uniform


def memory_bytes(example_item, capacity: int, prioritized: bool = False) -> int:
    """Bytes one seed's replay holds: the transitions plus the sum tree (STYLE.md trap 12)."""
    per_item = sum(int(np.prod(np.shape(x))) * jnp.dtype(jnp.result_type(x)).itemsize
                   for x in jax.tree.leaves(example_item))
    tree = 2 * _leaves(capacity) * 4 if prioritized else 0
    return per_item * capacity + tree


def _leaves(capacity: int) -> int:
    return 1 << max(0, math.ceil(math.log2(capacity)))


# ---------------------------------------------------------------- sum tree (pure functions)


def tree_set(tree: jax.Array, slots: jax.Array, values: jax.Array) -> jax.Array:
    """Sets leaves ``slots`` to ``values`` and recomputes each ancestor from its two children.

    Duplicate slots must carry equal values (they do: a batch sampled twice has one TD error).
    """
    leaves = tree.shape[0] // 2
    node = slots + leaves
    tree = tree.at[node].set(values)
    for _ in range(int(math.log2(leaves))):
        node = node // 2
        tree = tree.at[node].set(tree[2 * node] + tree[2 * node + 1])
    return tree


def tree_find(tree: jax.Array, u: jax.Array) -> jax.Array:
    """The leaf whose prefix-sum interval holds ``u * total`` (``u`` in [0, 1)).

    The descent goes right only into a subtree with a positive sum, and left otherwise, so it ends on
    a positive leaf whenever the root is positive, whatever float32 rounding did to ``u * total``.
    """
    leaves = tree.shape[0] // 2

    def level(_, carry):
        node, q = carry
        left, right = tree[2 * node], tree[2 * node + 1]
        go_right = ((q >= left) & (right > 0)) | (left <= 0)
        return jnp.where(go_right, 2 * node + 1, 2 * node), jnp.where(go_right, q - left, q)

    node, _ = jax.lax.fori_loop(0, int(math.log2(leaves)), level, (jnp.ones_like(u, jnp.int32), u * tree[1]))
    return node - leaves


def stratified_find(tree: jax.Array, key: jax.Array, batch_size: int) -> jax.Array:
    """One draw from each of ``batch_size`` equal strata of the total (Schaul et al. 2016, appendix B.2.1)."""
    u = (jnp.arange(batch_size, dtype=jnp.float32) + jax.random.uniform(key, (batch_size,))) / batch_size
    return tree_find(tree, jnp.minimum(u, 1.0 - 1e-7))


# ---------------------------------------------------------------- the replay interface


class Replay:
    """``init(example_item) -> state``; ``add(state, items)`` with a leading batch axis;
    ``sample(state, key, beta) -> Sample``; ``update_priorities(state, indices, td_abs)``.
    """

    def __init__(self, capacity: int, batch_size: int, *, prioritized: bool = False,
                 alpha: float = 0.6, eps: float = 1e-6):
        if batch_size > capacity:
            raise ValueError(f"replay: batch_size {batch_size} exceeds capacity {capacity}")
        self.capacity, self.batch_size = int(capacity), int(batch_size)
        self.prioritized, self.alpha, self.eps = prioritized, float(alpha), float(eps)
        self._fbx = flashbax.make_item_buffer(
            max_length=self.capacity, min_length=1, sample_batch_size=self.batch_size,
            add_sequences=False, add_batches=True,
        )

    def init(self, example_item) -> ReplayState:
        n = 2 * _leaves(self.capacity) if self.prioritized else 1
        return ReplayState(self._fbx.init(example_item), jnp.zeros(n, jnp.float32),
                           jnp.ones((), jnp.float32), jnp.zeros((), jnp.int32))

    def add(self, state: ReplayState, items) -> ReplayState:
        n = jax.tree.leaves(items)[0].shape[0]
        tree = state.tree
        if self.prioritized:
            slots = (state.buffer.current_index + jnp.arange(n)) % self.capacity
            tree = tree_set(tree, slots, jnp.full((n,), state.max_priority))
        buffer = self._fbx.add(state.buffer, items)
        return state.replace(buffer=buffer, tree=tree, size=jnp.minimum(state.size + n, self.capacity))

    def sample(self, state: ReplayState, key: jax.Array, beta=1.0) -> Sample:
        if not self.prioritized:
            batch = self._fbx.sample(state.buffer, key).experience
            return Sample(batch, jnp.zeros(self.batch_size, jnp.int32), jnp.ones(self.batch_size, jnp.float32))
        slots = stratified_find(state.tree, key, self.batch_size)
        batch = jax.tree.map(lambda x: x[0, slots], state.buffer.experience)
        prob = state.tree[slots + state.tree.shape[0] // 2] / state.tree[1]
        # w_i = (N P(i))^-beta, normalised by the batch's largest weight (Schaul et al. 2016, sec. 3.4)
        w = (state.size.astype(jnp.float32) * prob) ** (-beta)
        return Sample(batch, slots, w / jnp.max(w))

    def update_priorities(self, state: ReplayState, sample: Sample, td_abs: jax.Array, mask=True) -> ReplayState:
        """New priorities ``(|td| + eps)^alpha`` for the sampled slots; ``mask=False`` keeps the old ones."""
        if not self.prioritized:
            return state
        # every read of the old priorities (the sample's weights) happens before the in-place writes;
        # without this ordering XLA copies the whole tree for each written level on every update
        tree, _ = jax.lax.optimization_barrier((state.tree, sample.weights))
        p = (jnp.abs(td_abs) + self.eps) ** self.alpha  # p_i = |delta_i| + eps, stored as p_i^alpha
        p = jnp.where(mask, p, tree[sample.indices + tree.shape[0] // 2])
        return state.replace(tree=tree_set(tree, sample.indices, p),
                             max_priority=jnp.maximum(state.max_priority, jnp.where(mask, jnp.max(p), 0.0)))

    def can_sample(self, state: ReplayState) -> jax.Array:
        return state.size >= self.batch_size
