"""Returns against hand-computed cases with a truncation and a termination mid-rollout."""

import jax.numpy as jnp
import numpy as np

from rlx.algos.returns import discounted_returns, gae, lambda_returns, nstep_returns

G, L = 0.9, 0.8
R = jnp.array([1.0, 2.0, 3.0, 4.0])
V = jnp.array([0.5, 1.0, 1.5, 2.0])
# next_values[t] = V(real next state); at t=1 the episode is truncated, so it is V(final obs) = 10
NV = jnp.array([1.0, 10.0, 2.0, 7.0])
TERM = jnp.array([False, False, False, True])
TRUNC = jnp.array([False, True, False, False])


def test_gae_hand_computed_with_truncation_and_termination():
    adv, target = gae(R, V, NV, TERM, TRUNC, G, L)
    d3 = 4.0 - 2.0  # terminated: no bootstrap
    d2 = 3.0 + G * 2.0 - 1.5
    d1 = 2.0 + G * 10.0 - 1.0  # truncated: bootstraps from the final observation
    d0 = 1.0 + G * 1.0 - 0.5
    a3 = d3
    a2 = d2 + G * L * a3
    a1 = d1  # the trace is cut at the episode boundary
    a0 = d0 + G * L * a1
    np.testing.assert_allclose(adv, [a0, a1, a2, a3], rtol=1e-6)
    np.testing.assert_allclose(target, np.array([a0, a1, a2, a3]) + np.asarray(V), rtol=1e-6)


def test_truncation_is_not_termination():
    """Trap 1 (PureJaxRL/rejax, Stoix #142): merging the flags drops the bootstrap."""
    adv_ok, _ = gae(R, V, NV, TERM, TRUNC, G, L)
    adv_merged, _ = gae(R, V, NV, TERM | TRUNC, jnp.zeros_like(TRUNC), G, L)
    assert float(adv_ok[1] - adv_merged[1]) == np.float32(G * 10.0)


def test_gae_batched_matches_per_env():
    rng = np.random.default_rng(0)
    T, N = 7, 3
    r = jnp.asarray(rng.normal(size=(T, N)), jnp.float32)
    v = jnp.asarray(rng.normal(size=(T, N)), jnp.float32)
    nv = jnp.asarray(rng.normal(size=(T, N)), jnp.float32)
    term = jnp.asarray(rng.random((T, N)) < 0.2)
    trunc = jnp.asarray(rng.random((T, N)) < 0.2) & ~term
    adv, _ = gae(r, v, nv, term, trunc, G, L)
    for n in range(N):
        a_n, _ = gae(r[:, n], v[:, n], nv[:, n], term[:, n], trunc[:, n], G, L)
        np.testing.assert_allclose(adv[:, n], a_n, rtol=1e-5)
    assert adv.dtype == jnp.float32


def test_lambda_one_is_nstep_return():
    # inside episodes next_values[t] == values[t+1]; these make the lambda=1 targets telescope
    v = jnp.array([0.5, 1.0, 1.5, 2.0])
    nv = jnp.array([1.0, 10.0, 2.0, 7.0])
    targets = lambda_returns(R, v, nv, TERM, TRUNC, G, 1.0)
    g3 = 4.0
    g2 = 3.0 + G * g3
    g1 = 2.0 + G * 10.0
    g0 = 1.0 + G * g1
    np.testing.assert_allclose(targets, [g0, g1, g2, g3], rtol=1e-6)
    np.testing.assert_allclose(nstep_returns(R, nv, TERM, TRUNC, G), [g0, g1, g2, g3], rtol=1e-6)


def test_nstep_bootstraps_at_rollout_end():
    r = jnp.array([1.0, 1.0])
    nv = jnp.array([5.0, 3.0])
    no = jnp.array([False, False])
    out = nstep_returns(r, nv, no, no, G)
    np.testing.assert_allclose(out, [1.0 + G * (1.0 + G * 3.0), 1.0 + G * 3.0], rtol=1e-6)


def test_monte_carlo_returns_restart_at_episode_boundaries():
    r = jnp.array([1.0, 1.0, 1.0, 1.0])
    term = jnp.array([False, True, False, False])
    no = jnp.zeros(4, bool)
    out = discounted_returns(r, term, no, G)
    np.testing.assert_allclose(out, [1 + G, 1.0, 1 + G, 1.0], rtol=1e-6)


# ---- on-policy family: Monte-Carlo returns with a truncation and a termination mid-rollout,
# the complete-episode mask (REINFORCE), and the bootstrap choices at the rollout's end

R6 = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
TERM6 = jnp.array([False, True, False, False, False, False])  # episode A ends (terminated) at t=1
TRUNC6 = jnp.array([False, False, False, True, False, False])  # episode B cut by the time limit at t=3
NV6 = jnp.array([9.0, 9.0, 9.0, 10.0, 9.0, 8.0])  # V(real next state); V(final obs of B) = 10


def test_discounted_returns_pure_monte_carlo_with_truncation_and_termination():
    out = discounted_returns(R6, TERM6, TRUNC6, G)
    # no bootstrap anywhere: A = [1, 2], B = [3, 4] (truncated, no value), C = [5, 6] (unfinished)
    want = [1 + G * 2, 2, 3 + G * 4, 4, 5 + G * 6, 6]
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_discounted_returns_bootstrap_at_truncation_and_rollout_end():
    out = discounted_returns(R6, TERM6, TRUNC6, G, bootstrap=NV6)
    # A terminated: NV6[1] ignored; B truncated: + G * 10; C at the rollout's end: + G * 8
    want = [1 + G * 2, 2, 3 + G * (4 + G * 10), 4 + G * 10, 5 + G * (6 + G * 8), 6 + G * 8]
    np.testing.assert_allclose(out, want, rtol=1e-6)
    # a bootstrap only at truncations (REINFORCE with a baseline, "mask"/"cut"): C gets none
    only_trunc = jnp.where(TRUNC6, NV6, 0.0)
    out = discounted_returns(R6, TERM6, TRUNC6, G, bootstrap=only_trunc)
    np.testing.assert_allclose(out[4:], [5 + G * 6, 6], rtol=1e-6)
    np.testing.assert_allclose(out[2:4], want[2:4], rtol=1e-6)


def test_complete_episode_mask_drops_the_unfinished_tail():
    from rlx.algos.returns import complete_episode_mask

    np.testing.assert_array_equal(complete_episode_mask(TERM6, TRUNC6), [1, 1, 1, 1, 0, 0])
    # batched (T, N): each env column on its own; an env with no episode end is all zero
    term = jnp.stack([TERM6, jnp.zeros(6, bool), jnp.zeros(6, bool).at[5].set(True)], axis=1)
    trunc = jnp.stack([TRUNC6, jnp.zeros(6, bool), jnp.zeros(6, bool)], axis=1)
    mask = complete_episode_mask(term, trunc)
    np.testing.assert_array_equal(mask[:, 0], [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(mask[:, 1], np.zeros(6))
    np.testing.assert_array_equal(mask[:, 2], np.ones(6))
    assert mask.dtype == jnp.float32
