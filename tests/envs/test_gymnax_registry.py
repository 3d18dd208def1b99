"""Every env gymnax registers trains with rlx's default PPO settings: reset, step, one update.

The fast test covers one env of each observation kind (a flat vector, a channels-last MinAtar frame,
a rank-2 bsuite board); the sweep over the whole registry is marked slow (about 26
compiles of a PPO update). Envs that cannot run here for a reason outside rlx are skipped by name
with that reason.
"""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx import envs
from rlx.algos import ppo
from rlx.config import RunConfig
from rlx.nets import ActorCritic, space_shape

# (env id, what is outside rlx): skipped only when making the env fails with this cause
NEEDS_NETWORK = {
    "MNISTBandit-bsuite": "gymnax downloads the MNIST data set when the env is made (gymnax.utils.load_mnist), "
    "which needs network access the test machine may not have",
}

FAST = ("CartPole-v1", "Breakout-MinAtar", "Catch-bsuite")


def _accepted_ids():
    ids = []
    for env_id in gymnax.registered_envs:
        try:
            envs.resolve(env_id)
        except ValueError:
            continue
        ids.append(env_id)
    return ids


def _make(env_id, num_envs=2):
    try:
        return envs.make(env_id, num_envs)
    except OSError as err:  # urllib's URLError is an OSError
        if env_id in NEEDS_NETWORK:
            pytest.skip(f"{env_id}: {NEEDS_NETWORK[env_id]} ({err})")
        raise


def _check(env_id):
    env = _make(env_id)
    shape = env.observation_space.shape
    # reset and a few steps of random actions: observations keep the space's shape
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == (2, *shape), (env_id, obs.shape, shape)
    keys = jax.random.split(jax.random.key(1), 2)
    action = jax.vmap(env.action_space.sample)(keys)
    out = jax.jit(env.step)(state, action, jax.random.key(2))
    assert out.obs.shape == (2, *shape) and out.reward.shape == (2,)

    # one PPO update with the default settings, tiny shapes
    cfg = RunConfig(algo=ppo.Config(num_steps=8, num_minibatches=1, num_epochs=1), env=env_id, num_envs=2, max_frame=16)
    algo = ppo.make_algo(cfg)
    s = algo.init(jax.random.key(0))
    s, metrics = jax.jit(algo.update)(s)
    assert np.isfinite(float(metrics["loss"])), (env_id, metrics["loss"])
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(s.params))


def test_every_registered_env_is_accepted():
    """rlx resolves every id gymnax registers (no gymnax env silently unreachable)."""
    assert set(_accepted_ids()) == set(gymnax.registered_envs)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("env_id", FAST)
def test_representative_gymnax_envs_train(env_id):
    _check(env_id)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("env_id", [e for e in gymnax.registered_envs if e not in FAST])
def test_every_gymnax_env_trains(env_id):
    _check(env_id)


def test_networks_flatten_only_the_observation_axes():
    """The MLP merges exactly the observation's axes, whatever the leading (batch, time) axes, so
    one network gives the same output for an obs alone, in a batch, time-major and under vmap."""
    shape = (10, 10, 4)
    net = ActorCritic(action_dim=3, obs_shape=shape)
    obs = jax.random.uniform(jax.random.key(0), (3, 2, *shape))  # (T, envs, *obs_shape)
    params = net.init(jax.random.key(1), obs[0, 0])
    head, _, value = net.apply(params, obs)
    assert head.shape == (3, 2, 3) and value.shape == (3, 2)
    assert params["params"]["actor"]["Dense_0"]["kernel"].shape == (400, 64)
    alone, _, v_alone = net.apply(params, obs[1, 0])
    np.testing.assert_allclose(alone, head[1, 0], rtol=1e-5, atol=1e-6)
    vm, _, _ = jax.vmap(lambda o: net.apply(params, o))(obs)
    np.testing.assert_allclose(vm, head, rtol=1e-5, atol=1e-6)
    # a scalar state gains a feature axis; a rank-2 board is flattened
    for shp in ((), (10, 5)):
        n = ActorCritic(action_dim=2, obs_shape=shp)
        p = n.init(jax.random.key(0), jnp.zeros((4, *shp)))
        assert n.apply(p, jnp.zeros((4, *shp)))[0].shape == (4, 2)


def test_space_shape_of_dict_spaces_is_hashable():
    box = envs.Box(np.zeros(3), np.ones(3), (3,))
    shape = space_shape({"state": box, "privileged_state": envs.Box(np.zeros(5), np.ones(5), (5,))})
    hash(shape)
    net = ActorCritic(action_dim=2, dist="normal", obs_shape=shape, critic_obs_key="privileged_state")
    obs = {"state": jnp.zeros((4, 3)), "privileged_state": jnp.zeros((4, 5))}
    p = net.init(jax.random.key(0), obs)
    assert p["params"]["critic"]["Dense_0"]["kernel"].shape == (5, 64)
    assert net.apply(p, obs)[2].shape == (4,)
