"""The written-out Threefry hash draws JAX's own bits, so moving the rollout onto it changes no result."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.algos import threefry
from rlx.algos.rollout import rollout, reset
from rlx import envs

DRAWS = {
    "split": lambda k: jax.random.split(k, 5),
    "split 2-d": lambda k: jax.random.split(k, (3, 4)),
    "fold_in": lambda k: jax.random.fold_in(k, 123456789),
    "bits uint8": lambda k: jax.random.bits(k, (7,), jnp.uint8),
    "bits uint16": lambda k: jax.random.bits(k, (3, 5), jnp.uint16),
    "bits uint32": lambda k: jax.random.bits(k, (11,)),
    "uniform scalar": lambda k: jax.random.uniform(k),
    "uniform": lambda k: jax.random.uniform(k, (4, 3), minval=-0.05, maxval=0.05),
    "normal": lambda k: jax.random.normal(k, (6,)),
    "categorical": lambda k: jax.random.categorical(k, jnp.log(jnp.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]))),
    "permutation": lambda k: jax.random.permutation(k, 512),
    "randint": lambda k: jax.random.randint(k, (9,), 0, 100),
    "bernoulli": lambda k: jax.random.bernoulli(k, 0.3, (8,)),
    "split then draw": lambda k: jax.random.normal(jax.random.split(jax.random.fold_in(k, 7))[1], (2,)),
}


def _raw(x):
    return np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x)


@pytest.mark.parametrize("name", DRAWS)
def test_every_draw_is_jaxs_own_bits(name):
    draw = DRAWS[name]
    for seed in (0, 1, 2**31 - 1):
        key = jax.random.key(seed)
        np.testing.assert_array_equal(_raw(draw(threefry.unrolled(key))), _raw(draw(key)))
    # and under jit and vmap, as the rollout uses it
    keys = jax.random.split(jax.random.key(3), 3)
    batched = jax.jit(jax.vmap(draw))
    np.testing.assert_array_equal(_raw(batched(jax.vmap(threefry.unrolled)(keys))), _raw(batched(keys)))


def test_other_keys_are_returned_unchanged():
    rbg = jax.random.key(0, impl="rbg")
    assert threefry.unrolled(rbg) is rbg
    raw = jax.random.PRNGKey(0)
    assert threefry.unrolled(raw) is raw
    once = threefry.unrolled(jax.random.key(0))
    assert threefry.unrolled(once) is once


def test_a_rollout_draws_what_jaxs_keys_draw():
    """The rollout (written-out hash) against the same loop on JAX's keys: equal transitions, bit for bit."""
    env = envs.make("CartPole-v1", 4)
    logits = jnp.array([0.3, -0.2])

    def act(obs, key):
        action = jax.random.categorical(key, jnp.broadcast_to(logits, (obs.shape[0], 2)))
        return action, action, {"u": jax.random.uniform(key, (obs.shape[0],))}

    carry = reset(env, jax.random.key(5))
    _, traj = jax.jit(lambda c, k: rollout(env, act, c, k, 64))(carry, jax.random.key(9))

    def reference(carry, key):
        def step(carry, key):
            key_act, key_env = jax.random.split(key)
            action, env_action, extras = act(carry.obs, key_act)
            out = env.step(carry.env_state, env_action, key_env)
            return type(carry)(out.state, out.obs), (carry.obs, action, out.reward, out.terminated, extras["u"])

        return jax.lax.scan(step, carry, jax.random.split(key, 64))[1]

    obs, action, reward, terminated, u = jax.jit(reference)(carry, jax.random.key(9))
    assert bool(terminated.any())  # episodes ended, so the env's reset draws were compared too
    for got, want in ((traj.obs, obs), (traj.action, action), (traj.reward, reward), (traj.extras["u"], u)):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
