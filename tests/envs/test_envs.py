"""Env adapter and wrappers: auto-reset, truncation, raw-reward statistics, per-seed normalisers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx import envs
from rlx.envs.wrappers import NormalizeObs, NormalizeReward, RescaleAction, find_state


def _run(env, state, actions, key):
    def body(s, xs):
        a, k = xs
        out = env.step(s, a, k)
        return out.state, (out.obs, out.reward, out.terminated, out.truncated, out.info)

    keys = jax.random.split(key, actions.shape[0])
    return jax.jit(lambda s: jax.lax.scan(body, s, (actions, keys)))(state)


def test_gymnax_cartpole_spaces():
    env = envs.make("CartPole-v1", 3)
    assert env.num_envs == 3
    assert env.action_space == envs.Discrete(2)
    assert env.observation_space.shape == (4,)
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == (3, 4) and obs.dtype == jnp.float32


def test_auto_reset_keeps_final_observation():
    env = envs.make("CartPole-v1", 1)
    state, obs0 = env.reset(jax.random.key(1))
    actions = jnp.ones((60, 1), jnp.int32)  # always push right: the pole falls within ~10 steps
    _, (obs, rew, term, trunc, info) = _run(env, state, actions, jax.random.key(2))
    t = int(np.argmax(np.asarray(term[:, 0])))
    assert term[t, 0] and not trunc[t, 0]
    final = np.asarray(info["final_obs"][t, 0])
    # the final observation is out of bounds (that is why it terminated); the returned obs is a fresh reset
    assert abs(final[2]) > 0.2 or abs(final[0]) > 2.4
    assert np.all(np.abs(np.asarray(obs[t, 0])) <= 0.05)
    # away from episode ends final_obs is simply the next observation
    np.testing.assert_allclose(info["final_obs"][t - 1, 0], obs[t - 1, 0])


def test_time_limit_is_truncation_not_termination():
    env = envs.make("Pendulum-v1", 2)
    state, _ = env.reset(jax.random.key(0))
    actions = jnp.zeros((450, 2, 1))
    _, (_, _, term, trunc, info) = _run(env, state, actions, jax.random.key(1))
    assert not bool(term.any())
    ends = np.nonzero(np.asarray(trunc[:, 0]))[0]
    np.testing.assert_array_equal(ends, [199, 399])  # Gymnasium's 200-step limit


def test_episode_stats_window_is_last_completed_raw_returns():
    env = envs.make("CartPole-v1", 4, normalize_reward=True, normalize_obs=True)
    state, _ = env.reset(jax.random.key(3))
    key_a, key_s = jax.random.split(jax.random.key(4))
    actions = jax.random.randint(key_a, (2000, 4), 0, 2)
    state, (_, reward, term, trunc, info) = _run(env, state, actions, key_s)
    done = np.asarray(info["episode_done"])
    rets = np.asarray(info["episode_return"])
    # completed returns in completion order (row-major: step, then env index — the wrapper's order)
    completed = rets[done]
    stats = envs.episode_metrics(env, state)
    assert int(stats["episodes"]) == len(completed) > 100
    np.testing.assert_allclose(float(stats["episode_return"]), completed[-100:].mean(), rtol=1e-5)
    # CartPole pays 1 per step: a raw return equals the episode length, while training reward is scaled
    np.testing.assert_allclose(np.asarray(info["episode_length"])[done], completed)
    assert not np.allclose(np.asarray(reward), 1.0)


def test_no_episode_yet_gives_nan():
    env = envs.make("Pendulum-v1", 2)
    state, _ = env.reset(jax.random.key(0))
    stats = envs.episode_metrics(env, state)
    assert np.isnan(float(stats["episode_return"])) and float(stats["episodes"]) == 0


def test_normalizer_statistics_are_per_seed_under_vmap():
    env = envs.make("Pendulum-v1", 4, normalize_obs=True, normalize_reward=True)
    keys = jax.random.split(jax.random.key(7), 3)

    def run_one(key):
        k_reset, k_act, k_step = jax.random.split(key, 3)
        state, _ = env.reset(k_reset)
        actions = jax.random.uniform(k_act, (300, 4, 1), minval=-1, maxval=1)
        state, _ = _run(env, state, actions, k_step)
        return find_state(env, state, NormalizeObs), find_state(env, state, NormalizeReward).rms

    obs_rms, rew_rms = jax.vmap(run_one)(keys)
    assert obs_rms.mean.shape == (3, 3)
    # each seed has its own statistics, equal to a run of that seed alone
    assert not np.allclose(obs_rms.mean[0], obs_rms.mean[1])
    alone_obs, alone_rew = run_one(keys[1])
    np.testing.assert_allclose(obs_rms.mean[1], alone_obs.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rew_rms.var[1], alone_rew.var, rtol=1e-5)


def test_running_mean_std_matches_numpy():
    from rlx.envs.wrappers import RunningMeanStd

    data = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 5, 2)).astype(np.float32)
    rms = RunningMeanStd.create((2,))
    for batch in data:
        rms = rms.update(jnp.asarray(batch))
    flat = data.reshape(-1, 2)
    np.testing.assert_allclose(rms.mean, flat.mean(0), rtol=1e-3)
    np.testing.assert_allclose(rms.var, flat.var(0), rtol=1e-3)


def test_rescale_action_maps_unit_box_to_bounds():
    env = envs.make("Pendulum-v1", 1)
    assert float(env.action_space.low[0]) == -1.0 and float(env.action_space.high[0]) == 1.0
    inner = env
    while not isinstance(inner, RescaleAction):
        inner = inner.env
    captured = {}

    class Probe:
        action_space = inner.env.action_space

        def step(self, state, action, key):
            captured["a"] = action
            return None

    probe = RescaleAction.__new__(RescaleAction)
    probe.env, probe._low, probe._high = Probe(), inner._low, inner._high
    for a, expected in [(1.0, 2.0), (-1.0, -2.0), (0.5, 1.0), (3.0, 2.0)]:
        probe.step(None, jnp.array([a]), None)
        np.testing.assert_allclose(captured["a"], [expected])


def test_unknown_env_names_what_is_allowed():
    with pytest.raises(ValueError, match="env: unknown env 'NoSuchEnv-v0'; allowed"):
        envs.make("NoSuchEnv-v0", 1)
    with pytest.raises(ValueError, match="unknown source"):
        envs.make("nosource:CartPole-v1", 1)


def test_any_gymnax_env_by_name():
    env = envs.make("gymnax:MountainCarContinuous-v0", 2)
    state, obs = env.reset(jax.random.key(0))
    out = env.step(state, jnp.zeros((2, 1)), jax.random.key(1))
    assert out.obs.shape == (2, 2) and out.reward.shape == (2,)
    env = envs.make("MountainCar-v0", 2)
    assert env.action_space == envs.Discrete(3)
