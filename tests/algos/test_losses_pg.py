"""The policy-gradient losses of rlx.algos.losses on small arrays whose values are worked out by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.algos import losses

LOG_PROB = jnp.array([-1.0, -2.0])
ADV = jnp.array([2.0, 1.0])
ENT = jnp.array([1.0, 3.0])
VALUE = jnp.array([1.0, 2.0])
TARGET = jnp.array([2.0, 0.0])


def test_weighted_mean_and_standardize_ignore_masked_entries():
    x = jnp.array([1.0, 3.0, 100.0])
    w = jnp.array([1.0, 1.0, 0.0])
    assert float(losses.weighted_mean(x, w)) == pytest.approx(2.0)
    assert float(losses.weighted_mean(x)) == pytest.approx(104.0 / 3)
    np.testing.assert_allclose(losses.standardize(x, w)[:2], [-1.0, 1.0], rtol=1e-5)
    # an all-zero mask divides by 1, not 0
    assert float(losses.weighted_mean(x, jnp.zeros(3))) == 0.0


def test_vanilla_pg_loss_by_hand():
    loss, aux = losses.vanilla_pg_loss(LOG_PROB, ADV, ENT, VALUE, TARGET, 0.5, 0.1)
    # policy -mean(-2, -2) = 2; entropy mean 2; value 0.5 * mean(1, 4) = 1.25
    assert float(aux["policy_loss"]) == pytest.approx(2.0)
    assert float(aux["entropy"]) == pytest.approx(2.0)
    assert float(aux["value_loss"]) == pytest.approx(1.25)
    assert float(loss) == pytest.approx(2.0 - 0.1 * 2.0 + 0.5 * 1.25)
    # the mask keeps the first step only
    loss, aux = losses.vanilla_pg_loss(LOG_PROB, ADV, ENT, VALUE, TARGET, 0.5, 0.1, weight=jnp.array([1.0, 0.0]))
    assert float(loss) == pytest.approx(2.0 - 0.1 * 1.0 + 0.5 * 0.5)
    # no baseline: the value loss is left out and reads 0
    loss, aux = losses.vanilla_pg_loss(LOG_PROB, ADV, ENT, VALUE, TARGET, 0.5, 0.1, use_value=False)
    assert float(loss) == pytest.approx(1.8) and float(aux["value_loss"]) == 0.0
    # the score-function gradient: d loss / d log pi(a|s) = -A / N
    g = jax.grad(lambda lp: losses.vanilla_pg_loss(lp, ADV, ENT, VALUE, TARGET, 0.5, 0.1)[0])(LOG_PROB)
    np.testing.assert_allclose(g, -ADV / 2, rtol=1e-6)


R = jnp.array([1.5, 0.5, 1.1])  # ratios pi / pi_old
A3 = jnp.array([1.0, 1.0, -1.0])


def test_clipped_surrogate_by_hand():
    loss, ratio, log_ratio = losses.clipped_surrogate(jnp.log(R), jnp.zeros(3), A3, 0.2)
    # min(1.5, 1.2) = 1.2; min(0.5, 0.8) = 0.5; min(-1.1, -1.1) = -1.1
    assert float(loss) == pytest.approx(-(1.2 + 0.5 - 1.1) / 3, rel=1e-5)
    np.testing.assert_allclose(ratio, R, rtol=1e-6)
    # no gradient through the clipped ratio (r > 1 + eps with A > 0), -r A / N elsewhere
    g = jax.grad(lambda lp: losses.clipped_surrogate(lp, jnp.zeros(3), A3, 0.2)[0])(jnp.log(R))
    np.testing.assert_allclose(g, [0.0, -0.5 / 3, 1.1 / 3], rtol=1e-5, atol=1e-7)


def test_value_loss_clipping_by_hand():
    value, target = jnp.array([1.0, 3.0]), jnp.array([2.0, 2.0])
    assert float(losses.value_loss(value, target)) == pytest.approx(0.5)
    # the old value equal to the new one: clipping changes nothing
    assert float(losses.value_loss(value, target, value, 0.2)) == pytest.approx(0.5)
    # old values 0: the clipped prediction 0.2 misses by 1.8 on both, which beats the error of 1
    assert float(losses.value_loss(value, target, jnp.zeros(2), 0.2)) == pytest.approx(0.5 * 1.8**2, rel=1e-5)


def test_ppo_loss_composes_its_terms():
    value, old_value, target = jnp.array([1.0, 3.0, 2.0]), jnp.zeros(3), jnp.array([2.0, 2.0, 2.0])
    ent = jnp.array([0.5, 1.0, 1.5])
    args = (jnp.log(R), jnp.zeros(3), A3, ent, value, old_value, target, 0.2, 0.5, 0.01)
    loss, aux = losses.ppo_loss(*args, False)
    pg = -(1.2 + 0.5 - 1.1) / 3
    vl = 0.5 * (1.0 + 1.0 + 0.0) / 3
    assert float(aux["policy_loss"]) == pytest.approx(pg, rel=1e-5)
    assert float(aux["value_loss"]) == pytest.approx(vl, rel=1e-5)
    assert float(aux["entropy"]) == pytest.approx(1.0)
    assert float(loss) == pytest.approx(pg + 0.5 * vl - 0.01 * 1.0, rel=1e-5)
    assert float(aux["clip_frac"]) == pytest.approx(2 / 3)
    kl = np.mean((np.asarray(R) - 1) - np.log(np.asarray(R)))
    assert float(aux["approx_kl"]) == pytest.approx(kl, rel=1e-5)
    _, clipped = losses.ppo_loss(*args, True)
    # clipped predictions 0.2 miss the targets by 1.8 everywhere
    assert float(clipped["value_loss"]) == pytest.approx(0.5 * 1.8**2, rel=1e-5)
