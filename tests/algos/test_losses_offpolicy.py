"""Value-based and soft losses (rlx.algos.losses), each on small cases worked out by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.algos import losses


def test_td_loss_mse_and_huber_with_is_weights():
    q, y, w = jnp.array([0.0, 0.0]), jnp.array([0.5, 3.0]), jnp.array([1.0, 0.5])
    mse, td = losses.td_loss(q, y, w, "mse", 1.0)
    huber, td_h = losses.td_loss(q, y, w, "huber", 1.0)
    np.testing.assert_allclose(td, [-0.5, -3.0])
    np.testing.assert_allclose(td_h, td)
    assert float(mse) == pytest.approx((1.0 * 0.5 * 0.25 + 0.5 * 0.5 * 9.0) / 2)
    # |td| = 0.5 is inside delta (quadratic), 3.0 beyond it (linear: delta * (|td| - delta / 2))
    assert float(huber) == pytest.approx((1.0 * 0.5 * 0.25 + 0.5 * (3.0 - 0.5)) / 2)


def test_td_loss_huber_delta_moves_the_kink():
    q, y, w = jnp.array([0.0]), jnp.array([3.0]), jnp.array([1.0])
    wide, _ = losses.td_loss(q, y, w, "huber", 4.0)  # inside: 0.5 * 9
    narrow, _ = losses.td_loss(q, y, w, "huber", 2.0)  # beyond: 2 * (3 - 1)
    assert (float(wide), float(narrow)) == pytest.approx((4.5, 4.0))


def test_q_target_plain_and_double():
    q_next_target = jnp.array([[1.0, 5.0], [2.0, 0.0]])
    q_next_online = jnp.array([[3.0, 2.0], [0.0, 1.0]])
    r, term = jnp.array([1.0, 1.0]), jnp.array([0.0, 1.0])
    plain = losses.q_target(q_next_target, None, r, term, 0.5, double=False)
    double = losses.q_target(q_next_target, q_next_online, r, term, 0.5, double=True)
    np.testing.assert_allclose(plain, [1.0 + 0.5 * 5.0, 1.0])  # max of the target net; no bootstrap at termination
    np.testing.assert_allclose(double, [1.0 + 0.5 * 1.0, 1.0])  # target net evaluates the online net's argmax


def test_q_target_per_item_discount():
    """n-step samples carry gamma^steps per item."""
    q_next = jnp.array([[2.0], [2.0]])
    y = losses.q_target(q_next, None, jnp.zeros(2), jnp.zeros(2), jnp.array([0.5, 0.25]), double=False)
    np.testing.assert_allclose(y, [1.0, 0.5])


def test_soft_value_continuous_and_discrete():
    v = losses.soft_value((None, jnp.array([-1.0, 2.0])), jnp.array([3.0, 3.0]), 0.5, discrete=False)
    np.testing.assert_allclose(v, [3.5, 2.0])  # Q - alpha log pi
    probs = jnp.array([[0.5, 0.5]])
    v_d = losses.soft_value((probs, jnp.log(probs)), jnp.array([[1.0, 3.0]]), 1.0, discrete=True)
    np.testing.assert_allclose(v_d, [2.0 + np.log(2.0)], rtol=1e-6)  # E[Q] + alpha H, H = log 2


def test_soft_target_takes_twin_minimum_and_stops_at_termination():
    twins = jnp.array([[1.0, 5.0], [3.0, 2.0]])  # (2 critics, batch 2)
    out = (None, jnp.array([0.0, 0.0]))  # continuous: (action, log pi) with log pi = 0
    y = losses.soft_target(jnp.zeros(2), jnp.zeros(2), 1.0, twins, out, 0.5, discrete=False)
    np.testing.assert_allclose(y, [1.0, 2.0])
    y_term = losses.soft_target(jnp.ones(2), jnp.array([0.0, 1.0]), 0.5, twins, out, 0.5, discrete=False)
    np.testing.assert_allclose(y_term, [1.5, 1.0])
    # discrete: expectation over the policy of (min Q - alpha log pi)
    twins_d = jnp.array([[[1.0, 4.0]], [[2.0, 3.0]]])  # (2, batch 1, actions 2)
    probs = jnp.array([[0.25, 0.75]])
    y_d = losses.soft_target(jnp.zeros(1), jnp.zeros(1), 1.0, twins_d, (probs, jnp.log(probs)), 0.0, discrete=True)
    np.testing.assert_allclose(y_d, [0.25 * 1.0 + 0.75 * 3.0], rtol=1e-6)


def test_soft_target_mean_reduction_averages_the_twins():
    """``twin_reduce="mean"`` (the acrobot CrossQ bench): the twins' average, not their minimum."""
    twins = jnp.array([[1.0, 5.0], [3.0, 2.0]])
    out = (None, jnp.array([0.0, 0.0]))
    y = losses.soft_target(jnp.zeros(2), jnp.zeros(2), 1.0, twins, out, 0.5, discrete=False, twin_reduce="mean")
    np.testing.assert_allclose(y, [2.0, 3.5])


def test_soft_target_has_no_gradient():
    g = jax.grad(lambda q: losses.soft_target(0.0, 0.0, 1.0, q, (None, 0.0), 0.1, False).sum())(jnp.ones((2, 3)))
    np.testing.assert_array_equal(g, 0.0)


def test_twin_critic_loss_is_the_mean_of_weighted_squares():
    q = jnp.array([[1.0, 2.0], [3.0, 0.0]])  # (twins, batch)
    loss, td = losses.twin_critic_loss(q, jnp.array([1.0, 1.0]), jnp.array([1.0, 0.5]))
    np.testing.assert_allclose(td, [[0.0, 1.0], [2.0, -1.0]])
    assert float(loss) == pytest.approx((0.0 + 0.5 * 1.0 + 4.0 + 0.5 * 1.0) / 4)


def test_sac_actor_loss_continuous_and_discrete():
    loss, ent = losses.sac_actor_loss((None, jnp.array([-1.0, 1.0])), jnp.array([2.0, 4.0]), 0.5, discrete=False)
    assert float(loss) == pytest.approx(((-0.5 - 2.0) + (0.5 - 4.0)) / 2)
    np.testing.assert_allclose(ent, [1.0, -1.0])
    probs = jnp.array([[0.5, 0.5]])
    loss_d, ent_d = losses.sac_actor_loss((probs, jnp.log(probs)), jnp.array([[1.0, 3.0]]), 1.0, discrete=True)
    assert float(loss_d) == pytest.approx(-np.log(2.0) - 2.0, rel=1e-6)  # E[alpha log pi - Q]
    np.testing.assert_allclose(ent_d, [np.log(2.0)], rtol=1e-6)


def test_temperature_loss_value_and_gradient_sign():
    """alpha must grow when the policy's entropy is below the target and shrink when above."""
    log_alpha = jnp.log(jnp.float32(2.0))
    assert float(losses.temperature_loss(log_alpha, jnp.array([0.5, 1.5]), 3.0)) == pytest.approx(2.0 * (1.0 - 3.0))
    g_low = jax.grad(losses.temperature_loss)(jnp.float32(0.0), jnp.array([0.1, 0.2]), 1.0)
    g_high = jax.grad(losses.temperature_loss)(jnp.float32(0.0), jnp.array([2.0, 3.0]), 1.0)
    assert float(g_low) < 0 < float(g_high)  # gradient descent: log alpha up, then down
    # the entropy is a constant of this loss: no gradient flows back into the policy
    g_ent = jax.grad(lambda e: losses.temperature_loss(jnp.float32(0.0), e, 1.0))(jnp.ones(2))
    np.testing.assert_array_equal(g_ent, 0.0)
