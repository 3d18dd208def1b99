"""Experience replay held in the train state: uniform and prioritized, jittable, one per seed under vmap.

Storage is a flashbax item buffer (``flashbax.make_item_buffer``: a ring of single transitions,
pure ``init/add/sample`` over a pytree state). Prioritized replay (Schaul et al. 2016, proportional
variant) keeps its own sum tree beside that storage, indexed by the same ring slots, because
flashbax's sum tree propagates float32 *deltas* up the tree: rounding drift lets internal sums
disagree with their leaves, and a descent can end on a zero-priority (empty) slot (docs/style.md trap 9,
flashbax #52). Ours recomputes every touched parent as the sum of its two children (no drift) and
its descent never enters a subtree whose sum is zero, so an empty slot is never sampled.

Speed: the add and the priority update write the tree in place, with no copy of it in the compiled
update (``benchmarks/per_hlo.py`` lists any). XLA copies a buffer before an in-place write unless every
read of it is upstream of that write by data alone, so the only reads are the descent (whose sampled
slots the update writes) and the update's own; the descent also returns the sampled leaves'
priorities, all the IS weights need. Weights read from the tree after the descent feed only the loss,
not the new priorities, and cost two copies of the whole tree per update (4 MB each at 4 seeds x 100k slots).

Multi-step returns (Sutton 1988; Rainbow, Hessel et al. 2018, uses n = 3): with ``n_step > 1`` a
sampled item ``i`` becomes ``sum_k gamma^k r_{i+k}`` over its next ``n`` steps in the same env, cut
at the first termination or truncation and at the newest item written so far, and bootstraps from
that step's ``next_obs`` with ``gamma^(steps taken)`` (``Sample.gamma``; zero after a termination).
It is computed when sampling, from the ring itself: items arrive ``num_envs`` at a time in env order
(``offpolicy`` adds ``(num_steps, num_envs)`` time-major), so an env's next step is always
``num_envs`` slots further on. Nothing is stored twice and ``gamma`` stays a traced hyperparameter.
Like Rainbow's, the returns are uncorrected for the exploration the behaviour policy took (a small
bias towards the behaviour policy's value that n = 3 keeps small). SAC / CrossQ add the entropy bonus
only at the bootstrap step, not at the n - 1 steps in between (the common n-step SAC simplification).

Sizes are static; ``alpha`` is fixed at construction, ``beta`` (the importance-sampling exponent,
annealed towards 1 by the caller) and ``gamma`` are traced arguments of ``sample``.
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
    batch: Any  # pytree of (batch_size, ...) transitions; n-step: reward is the discounted n-step sum
    indices: jax.Array  # ring slots the batch came from (for update_priorities)
    weights: jax.Array  # importance-sampling weights, max-normalised in the batch; ones when uniform
    gamma: jax.Array  # (batch_size,) discount of the bootstrap: gamma, or gamma^steps for n-step


def memory_bytes(example_item, capacity: int, prioritized: bool = False) -> int:
    """Bytes one seed's replay holds: the transitions plus the sum tree (docs/style.md trap 12)."""
    per_item = sum(
        int(np.prod(np.shape(x))) * jnp.dtype(jnp.result_type(x)).itemsize for x in jax.tree.leaves(example_item)
    )
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


def tree_find(tree: jax.Array, u: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The leaf whose prefix-sum interval holds ``u * total`` (``u`` in [0, 1)), and its value.

    The descent goes right only into a subtree with a positive sum, and left otherwise, so it ends on
    a positive leaf whenever the root is positive, whatever float32 rounding did to ``u * total``.
    The descent carries the current node's value (the root's, then each child's it enters), so the
    leaf's comes with it and a caller needs no second read of the tree.
    """
    leaves = tree.shape[0] // 2

    def level(_, carry):
        node, q, _ = carry
        left, right = tree[2 * node], tree[2 * node + 1]
        go_right = ((q >= left) & (right > 0)) | (left <= 0)
        return (
            jnp.where(go_right, 2 * node + 1, 2 * node),
            jnp.where(go_right, q - left, q),
            jnp.where(go_right, right, left),
        )

    start = (jnp.ones_like(u, jnp.int32), u * tree[1], jnp.full_like(u, tree[1]))
    node, _, value = jax.lax.fori_loop(0, int(math.log2(leaves)), level, start)
    return node - leaves, value


def stratified_find(tree: jax.Array, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """One draw from each of ``batch_size`` equal strata of the total (Schaul et al. 2016, appendix B.2.1)."""
    u = (jnp.arange(batch_size, dtype=jnp.float32) + jax.random.uniform(key, (batch_size,))) / batch_size
    return tree_find(tree, jnp.minimum(u, 1.0 - 1e-7))


# ---------------------------------------------------------------- the replay interface


class Replay:
    """``init(example_item) -> state``; ``add(state, items)`` with a leading batch axis;
    ``sample(state, key, beta) -> Sample``; ``update_priorities(state, sample, td_abs, mask)``.
    """

    def __init__(
        self,
        capacity: int,
        batch_size: int,
        *,
        prioritized: bool = False,
        alpha: float = 0.6,
        eps: float = 1e-6,
        n_step: int = 1,
        stride: int = 1,
    ):
        if batch_size > capacity:
            raise ValueError(f"replay: batch_size {batch_size} exceeds capacity {capacity}")
        if n_step < 1 or (n_step - 1) * stride >= capacity:
            raise ValueError(f"replay: n_step {n_step} x stride {stride} must fit in capacity {capacity}")
        self.capacity, self.batch_size = int(capacity), int(batch_size)
        # n-step: an env's next transition is ``stride`` (= num_envs) slots after its current one
        self.n_step, self.stride = int(n_step), int(stride)
        self.prioritized, self.alpha, self.eps = prioritized, float(alpha), float(eps)
        self._fbx = flashbax.make_item_buffer(
            max_length=self.capacity,
            min_length=1,
            sample_batch_size=self.batch_size,
            add_sequences=False,
            add_batches=True,
        )

    def init(self, example_item) -> ReplayState:
        n = 2 * _leaves(self.capacity) if self.prioritized else 1
        return ReplayState(
            self._fbx.init(example_item), jnp.zeros(n, jnp.float32), jnp.ones((), jnp.float32), jnp.zeros((), jnp.int32)
        )

    def add(self, state: ReplayState, items) -> ReplayState:
        n = jax.tree.leaves(items)[0].shape[0]
        tree = state.tree
        if self.prioritized:
            slots = (state.buffer.current_index + jnp.arange(n)) % self.capacity
            tree = tree_set(tree, slots, jnp.full((n,), state.max_priority))
        buffer = self._fbx.add(state.buffer, items)
        return state.replace(buffer=buffer, tree=tree, size=jnp.minimum(state.size + n, self.capacity))

    def sample(self, state: ReplayState, key: jax.Array, beta=1.0, gamma=0.99) -> Sample:
        gamma = jnp.asarray(gamma, jnp.float32)
        ones = jnp.ones(self.batch_size, jnp.float32)
        if not self.prioritized:
            if self.n_step == 1:
                batch = self._fbx.sample(state.buffer, key).experience
                return Sample(batch, jnp.zeros(self.batch_size, jnp.int32), ones, gamma * ones)
            # items fill slots [0, size) before the ring wraps, all of [0, capacity) after
            slots = jax.random.randint(key, (self.batch_size,), 0, jnp.maximum(state.size, 1))
            batch, gammas = self._n_step_batch(state, slots, gamma)
            return Sample(batch, slots, ones, gammas)
        slots, priority = stratified_find(state.tree, key, self.batch_size)
        if self.n_step == 1:
            batch, gammas = jax.tree.map(lambda x: x[0, slots], state.buffer.experience), gamma * ones
        else:
            batch, gammas = self._n_step_batch(state, slots, gamma)
        # w_i = (N P(i))^-beta over the batch's largest weight (Schaul et al. 2016, sec. 3.4), P(i) = p_i / total:
        # N and the total cancel, leaving (min_j p_j / p_i)^beta, from the priorities the descent read
        return Sample(batch, slots, (jnp.min(priority) / priority) ** beta, gammas)

    def _n_step_batch(self, state: ReplayState, slots: jax.Array, gamma):
        """The n-step transitions starting at ``slots`` (see the module doc) and their bootstrap discounts."""
        exp = jax.tree.map(lambda x: x[0], state.buffer.experience)
        n, k = self.n_step, jnp.arange(self.n_step)
        chain = (slots[:, None] + k[None] * self.stride) % self.capacity  # (batch, n): the env's next steps
        # items written after each start: step k of the chain exists once k * stride of them are in
        newer = (state.buffer.current_index - 1 - slots) % self.capacity
        has_next = (k[None] + 1) * self.stride <= newer[:, None]
        terminated = exp["terminated"][chain]
        ends = (terminated > 0) | (exp["truncated"][chain] > 0) | ~has_next
        last = jnp.argmax(ends.at[:, n - 1].set(True), axis=1)  # the chain's final step, 0 .. n-1
        taken = k[None] <= last[:, None]
        reward = jnp.sum(jnp.where(taken, gamma ** k[None] * exp["reward"][chain], 0.0), axis=1)
        end_slot = jnp.take_along_axis(chain, last[:, None], axis=1)[:, 0]
        batch = jax.tree.map(lambda x: x[slots], exp)
        batch = {
            **batch,
            "reward": reward,
            "terminated": exp["terminated"][end_slot],
            "next_obs": jax.tree.map(lambda x: x[end_slot], exp["next_obs"]),
        }
        return batch, gamma ** (last + 1).astype(jnp.float32)

    def update_priorities(self, state: ReplayState, sample: Sample, td_abs: jax.Array, mask=True) -> ReplayState:
        """New priorities ``(|td| + eps)^alpha`` for the sampled slots; ``mask=False`` keeps the old ones."""
        if not self.prioritized:
            return state
        p = (jnp.abs(td_abs) + self.eps) ** self.alpha  # p_i = |delta_i| + eps, stored as p_i^alpha
        p = jnp.where(mask, p, state.tree[sample.indices + state.tree.shape[0] // 2])
        return state.replace(
            tree=tree_set(state.tree, sample.indices, p),
            max_priority=jnp.maximum(state.max_priority, jnp.where(mask, jnp.max(p), 0.0)),
        )

    def can_sample(self, state: ReplayState) -> jax.Array:
        return state.size >= self.batch_size
