"""Replay buffers: uniform ring, proportional PER sum tree, IS weights, vmap over seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.algos.replay import Replay, memory_bytes, stratified_find, tree_find, tree_set

ITEM = {"x": jnp.zeros((), jnp.float32), "a": jnp.zeros((), jnp.int32)}


def _items(values):
    v = jnp.asarray(values, jnp.float32)
    return {"x": v, "a": v.astype(jnp.int32)}


def test_uniform_samples_only_written_items_and_wraps():
    r = Replay(8, 4)
    s = r.init(ITEM)
    s = r.add(s, _items([1, 2, 3]))
    xs = np.concatenate([np.asarray(r.sample(s, k).batch["x"]) for k in jax.random.split(jax.random.key(0), 50)])
    assert set(xs.tolist()) == {1.0, 2.0, 3.0}
    for start in range(4, 40, 3):  # overwrite the ring several times
        s = r.add(s, _items([start, start + 1, start + 2]))
    assert int(s.size) == 8
    xs = np.concatenate([np.asarray(r.sample(s, k).batch["x"]) for k in jax.random.split(jax.random.key(1), 50)])
    assert set(xs.tolist()) == set(range(32, 40))  # exactly the last 8 written


def test_sum_tree_sampling_frequencies_match_priorities():
    """Chi-square goodness of fit of 40k stratified draws to p_i / sum p (fixed key)."""
    leaves = 8
    p = jnp.array([0.1, 2.0, 0.0, 5.0, 1.0, 0.3, 0.0, 1.6], jnp.float32)
    tree = tree_set(jnp.zeros(2 * leaves, jnp.float32), jnp.arange(leaves), p)
    assert np.isclose(float(tree[1]), float(p.sum()), rtol=1e-6)
    idx, value = jax.vmap(lambda k: stratified_find(tree, k, 64))(jax.random.split(jax.random.key(0), 625))
    np.testing.assert_array_equal(np.asarray(value), np.asarray(p[idx]))  # each draw's own priority
    idx = idx.ravel()
    counts = np.bincount(np.asarray(idx), minlength=leaves)
    assert counts[2] == 0 and counts[6] == 0  # zero priority: never
    expected = np.asarray(p / p.sum()) * idx.size
    nz = expected > 0
    chi2 = (((counts - expected) ** 2)[nz] / expected[nz]).sum()
    assert chi2 < 20.5  # chi-square, 5 dof, p = 0.001


def test_sum_tree_never_samples_zero_priority_slots_at_the_edges():
    """docs/style.md trap 9: u close to 1 with float32 rounding must not land on an empty slot."""
    leaves = 1 << 12
    p = jnp.zeros(leaves).at[:1001].set(jax.random.uniform(jax.random.key(3), (1001,)) * 1e3 + 1e-3)
    tree = tree_set(jnp.zeros(2 * leaves, jnp.float32), jnp.arange(leaves), p)
    u = jnp.concatenate([1.0 - jnp.logspace(-8, -1, 200), jnp.linspace(0.0, 1.0 - 1e-7, 2000)])
    idx, value = tree_find(tree, u.astype(jnp.float32))
    assert np.all(np.asarray(p[idx]) > 0)
    np.testing.assert_array_equal(np.asarray(value), np.asarray(p[idx]))
    # parents are exact sums of their children after many overwrites (no drift)
    for k in jax.random.split(jax.random.key(4), 20):
        slots = jax.random.randint(k, (64,), 0, 1001)
        tree = tree_set(tree, slots, jax.random.uniform(k, (64,)) * 1e-3)
    leaves_v = tree[leaves:]
    assert np.allclose(np.asarray(tree[leaves // 2 : leaves]), np.asarray(leaves_v[0::2] + leaves_v[1::2]))


def test_importance_weights_follow_schaul_formula():
    r = Replay(4, 4, prioritized=True, alpha=1.0, eps=0.0)
    s = r.add(r.init(ITEM), _items([0, 1, 2, 3]))
    first = r.sample(s, jax.random.key(1))
    s = r.update_priorities(s, first._replace(indices=jnp.arange(4)), jnp.array([1.0, 2.0, 3.0, 4.0]))
    beta = 0.5
    out = r.sample(s, jax.random.key(0), beta)
    prob = np.array([1.0, 2.0, 3.0, 4.0])[np.asarray(out.indices)] / 10.0
    w = (4 * prob) ** -beta
    np.testing.assert_allclose(np.asarray(out.weights), w / w.max(), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(out.batch["x"]), np.asarray(out.indices, np.float32))
    # new items get the largest priority seen so far
    s2 = r.add(s, _items([9]))
    assert float(s2.tree[s2.tree.shape[0] // 2 + 0]) == pytest.approx(4.0)


class _ReferencePER:
    """Prioritized replay as the straightforward loops it stands for (NumPy, float32): after each add
    or priority write every parent is the sum of its children, a draw descends from the root, and the
    IS weights are (N P(i))^-beta over the batch's largest (as the replay computed them up to 0.2.0)."""

    def __init__(self, capacity, alpha, eps):
        self.leaves = 1 << int(np.ceil(np.log2(capacity)))
        self.tree = np.zeros(2 * self.leaves, np.float32)
        self.capacity, self.alpha, self.eps = capacity, alpha, eps
        self.index, self.size, self.max_p = 0, 0, np.float32(1.0)

    def _set(self, slots, values):
        self.tree[self.leaves + np.asarray(slots)] = values
        for node in range(self.leaves - 1, 0, -1):
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]

    def add(self, n):
        self._set((self.index + np.arange(n)) % self.capacity, self.max_p)
        self.index, self.size = (self.index + n) % self.capacity, min(self.size + n, self.capacity)

    def sample(self, u, beta):
        slots = []
        for q in np.float32(u) * self.tree[1]:
            node = 1
            while node < self.leaves:
                left, right = self.tree[2 * node], self.tree[2 * node + 1]
                node, q = (2 * node + 1, q - left) if (q >= left and right > 0) or left <= 0 else (2 * node, q)
            slots.append(node - self.leaves)
        w = (self.size * self.tree[self.leaves + np.array(slots)] / self.tree[1]) ** -beta
        return np.array(slots), w / w.max()

    def update(self, slots, td_abs, mask):
        p = ((np.abs(td_abs) + self.eps) ** self.alpha).astype(np.float32)
        p = p if mask else self.tree[self.leaves + slots]
        self._set(slots, p)
        self.max_p = max(self.max_p, p.max()) if mask else self.max_p


def test_prioritized_replay_matches_the_reference_loops():
    """Adds, draws and priority writes over a wrapping ring (duplicates, masked updates included) give
    the reference's slots and tree bit for bit and its IS weights to float rounding. alpha = 1 keeps the
    new priorities exact (XLA's and NumPy's float32 powers differ in the last bit)."""
    capacity, batch, alpha, eps, beta = 24, 16, 1.0, 0.25, 0.4
    r = Replay(capacity, batch, prioritized=True, alpha=alpha, eps=eps)
    ref = _ReferencePER(capacity, alpha, eps)
    s = r.init(ITEM)
    step = jax.jit(lambda s, x, key, mask: _per_step(r, s, x, key, mask))
    drawn_twice = 0
    for t, key in enumerate(jax.random.split(jax.random.key(7), 12)):
        x = jnp.arange(5.0) + 5 * t
        s, out = step(s, x, key, t % 4 != 1)
        ref.add(5)
        u = (np.arange(batch) + np.asarray(jax.random.uniform(key, (batch,)))) / batch
        slots, w = ref.sample(np.minimum(u, 1.0 - 1e-7).astype(np.float32), beta)
        np.testing.assert_array_equal(np.asarray(out.indices), slots)
        np.testing.assert_allclose(np.asarray(out.weights), w, rtol=2e-6)
        ref.update(slots, np.asarray(out.batch["x"]), mask=t % 4 != 1)  # one TD error per slot
        np.testing.assert_array_equal(np.asarray(s.tree), ref.tree)
        drawn_twice += batch - len(np.unique(slots))
    assert drawn_twice > 0 and int(s.size) == capacity  # duplicates and a wrapped ring were covered


def _per_step(r, s, x, key, mask):
    """One off-policy update's replay traffic: add, draw, new priorities from the drawn items."""
    s = r.add(s, _items(x))
    out = r.sample(s, key, 0.4)
    return r.update_priorities(s, out, out.batch["x"], mask), out


def test_replay_is_per_seed_under_vmap():
    r = Replay(16, 4, prioritized=True)

    def run(key, offset):
        s = r.init(ITEM)
        s = r.add(s, _items(jnp.arange(4.0) + offset))
        return r.sample(s, key).batch["x"]

    xs = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 3), jnp.array([0.0, 100.0, 200.0]))
    for i, lo in enumerate([0, 100, 200]):
        assert np.all((np.asarray(xs[i]) >= lo) & (np.asarray(xs[i]) < lo + 4))


def test_memory_estimate():
    item = {"obs": jnp.zeros(4), "action": jnp.zeros((), jnp.int32), "r": jnp.zeros(())}
    assert memory_bytes(item, 1000) == 1000 * (16 + 4 + 4)
    assert memory_bytes(item, 1000, prioritized=True) == 1000 * 24 + 2 * 1024 * 4


def _n_step_reference(steps, start_t, env, n, gamma, written_t):
    """Plain-loop n-step return for env ``env`` from time ``start_t``: (return, bootstrap obs, discount)."""
    g, t = 0.0, start_t
    for k in range(n):
        r, term, trunc, nxt = steps[t][env]
        g += gamma**k * r
        last_step = k == n - 1 or term or trunc or t + 1 >= written_t
        if last_step:
            return g, nxt, 0.0 if term else gamma ** (k + 1)
        t += 1


@pytest.mark.parametrize("prioritized", [False, True])
def test_n_step_returns_match_a_plain_loop_across_envs_episode_ends_and_the_ring(prioritized):
    """2 envs added time-major (as offpolicy does); terminations, truncations, the newest items and a
    wrapped ring all cut the chain where a per-env loop over the same steps cuts it."""
    num_envs, n, gamma, capacity = 2, 3, 0.9, 16
    rng = np.random.default_rng(0)
    item = {
        "obs": jnp.zeros(()),
        "next_obs": jnp.zeros(()),
        "reward": jnp.zeros(()),
        "terminated": jnp.zeros(()),
        "truncated": jnp.zeros(()),
    }
    r = Replay(capacity, 4, prioritized=prioritized, n_step=n, stride=num_envs)
    s = r.init(item)
    steps = []  # steps[t][env] = (reward, terminated, truncated, next_obs)
    for t in range(11):  # 22 items: the ring of 16 wraps
        rew = rng.normal(size=num_envs).round(2)
        term = (rng.random(num_envs) < 0.2).astype(np.float32)
        trunc = ((rng.random(num_envs) < 0.2) & (term == 0)).astype(np.float32)
        obs = 100.0 * t + np.arange(num_envs)
        steps.append([(rew[e], term[e], trunc[e], obs[e] + 0.5) for e in range(num_envs)])
        s = r.add(
            s,
            {
                "obs": jnp.asarray(obs, jnp.float32),
                "next_obs": jnp.asarray(obs + 0.5, jnp.float32),
                "reward": jnp.asarray(rew, jnp.float32),
                "terminated": jnp.asarray(term),
                "truncated": jnp.asarray(trunc),
            },
        )
    slots = jnp.arange(capacity)
    batch, gammas = r._n_step_batch(s, slots, gamma)
    checked = 0
    for slot in range(capacity):
        obs = float(batch["obs"][slot])
        t, env = int(obs // 100), int(round(obs % 100))
        g, nxt, disc = _n_step_reference(steps, t, env, n, gamma, written_t=len(steps))
        np.testing.assert_allclose(float(batch["reward"][slot]), g, rtol=1e-5, atol=1e-6)
        assert float(batch["next_obs"][slot]) == nxt
        np.testing.assert_allclose(float(gammas[slot]) * (1.0 - float(batch["terminated"][slot])), disc, rtol=1e-6)
        checked += 1
    assert checked == capacity
    # sample() hands the same chains out, with the per-item discounts
    smp = r.sample(s, jax.random.key(3), 0.5, gamma)
    full_batch = {k: np.asarray(v) for k, v in batch.items()}
    idx = np.asarray(smp.indices)
    np.testing.assert_allclose(np.asarray(smp.batch["reward"]), full_batch["reward"][idx], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(smp.gamma), np.asarray(gammas)[idx], rtol=1e-6)


def test_one_step_sample_discount_is_gamma():
    r = Replay(8, 4)
    s = r.add(r.init(ITEM), _items([1, 2, 3]))
    np.testing.assert_allclose(np.asarray(r.sample(s, jax.random.key(0), 1.0, 0.97).gamma), 0.97)


def test_one_slot_prioritized_replay_weighs_its_item_one():
    """A single leaf (no levels to descend): the draw is slot 0 with weight 1, as for any batch of one."""
    r = Replay(1, 1, prioritized=True)
    out = r.sample(r.add(r.init(ITEM), _items([5])), jax.random.key(0), 0.4)
    assert int(out.indices[0]) == 0 and float(out.weights[0]) == 1.0
