"""PPO: the compiled program, seed independence, determinism, sweeps, learning over seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.config.schema import traced_names
from rlx.algos import ppo
from rlx.config.compose import load
from rlx.config import RunConfig


def _small(env="CartPole-v1", **algo):
    return RunConfig(
        algo=ppo.Config(num_steps=16, num_minibatches=2, num_epochs=2, **algo),
        env=env,
        num_envs=4,
        max_frame=16 * 4 * 5,
    )


@pytest.mark.timeout(120)
def test_train_is_one_program_and_seeds_differ():
    cfg = _small()
    train = jax.jit(jax.vmap(ppo.make_train(cfg)))
    keys = jax.random.split(jax.random.key(0), 3)
    # jax 0.11's key-reuse checker flags any vmapped scan over split keys (a false positive), so
    # key reuse is checked on the one-seed program; vmap adds no key handling of its own
    with jax.debug_key_reuse(True):
        jax.jit(ppo.make_train(cfg))(keys[0])
    state, metrics = train(keys)
    assert metrics["loss"].shape == (3, 5)  # (seeds, updates)
    assert np.all(np.isfinite(np.asarray(metrics["loss"])))
    leaves = jax.tree.leaves(state.params)
    assert all(x.dtype == jnp.float32 for x in leaves)  # no silent float64
    first = jax.tree.leaves(state.params)[0]
    assert not np.allclose(first[0], first[1])  # each seed its own run (PureJaxRL #35)
    # same key, same numbers
    state2, metrics2 = train(keys)
    np.testing.assert_array_equal(metrics["loss"], metrics2["loss"])
    # a seed in a batch equals that seed run alone
    _, alone = jax.jit(ppo.make_train(cfg))(keys[1])
    np.testing.assert_allclose(alone["loss"], metrics["loss"][1], rtol=1e-5, atol=1e-6)


@pytest.mark.timeout(120)
def test_hparams_vmap_is_a_sweep():
    cfg = _small()
    algo = ppo.make_algo(cfg)
    lrs = jnp.array([1e-4, 1e-3], jnp.float32)
    base = {k: jnp.full((2,), getattr(cfg.algo, k), jnp.float32) for k in traced_names(cfg.algo)}
    hp = {**base, "lr": lrs}
    keys = jnp.stack([jax.random.key(0)] * 2)
    state = jax.vmap(algo.init)(keys, hp)
    state, m = jax.jit(jax.vmap(algo.update))(state)
    np.testing.assert_allclose(m["lr"], lrs * (1 - 4 / (5 * 4)), rtol=1e-5)  # linear decay after 4 steps
    assert not np.allclose(jax.tree.leaves(state.params)[0][0], jax.tree.leaves(state.params)[0][1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("dist", ["normal", "tanh_normal"])
def test_continuous_actions_run(dist):
    cfg = _small("Pendulum-v1", dist=dist)
    state, m = jax.jit(ppo.make_train(cfg))(jax.random.key(0))
    assert np.all(np.isfinite(np.asarray(m["loss"])))
    assert np.all(np.isfinite(np.asarray(m["entropy"])))


@pytest.mark.timeout(300)
def test_ppo_learns_cartpole_over_four_seeds():
    """The bench config (SLM-Lab's 4 envs, 2e5 frames), 4 seeds vmapped: every seed must learn."""
    cfg = load(bench="classic/cartpole", algo="ppo")
    train = jax.jit(jax.vmap(ppo.make_train(cfg)))
    _, m = train(jax.random.split(jax.random.key(0), 4))
    ret = np.asarray(m["episode_return"])
    final = ret[:, -100:].mean(axis=1)  # SLM-Lab's total_reward_ma per session (one point per update)
    assert np.all(final > 350), final
    assert final.mean() > 420, final
