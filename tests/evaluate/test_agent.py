"""rlx.load: from a run folder (or a saved policy file) to actions on raw env observations."""

import gymnasium
import jax
import numpy as np
import pytest

import rlx
from rlx.config import load
from rlx.evaluate.agent import AgentError
from rlx.experiment import runner


def _train(tmp_path, env, *extra):
    cfg = load(
        f"env={env}", "algo=ppo", "max_frame=4096", "num_seeds=2", "algo.num_steps=64", "num_chunks=2",
        f"logger.out_dir={tmp_path}", "logger.name=run", "logger.progress=false", "logger.plot=false", *extra,
    )  # fmt: skip
    return runner.run(cfg).run_dir


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("cartpole"), "CartPole-v1", "wrappers.normalize_obs=true")


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("pendulum"), "Pendulum-v1", "wrappers.normalize_obs=true")


def test_acts_on_one_observation_or_a_batch(cartpole_run):
    agent = rlx.load(cartpole_run)
    one = agent.act(np.zeros(4, np.float32))
    batch = agent.act(np.zeros((7, 4), np.float32))
    assert one.shape == () and batch.shape == (7,)
    assert set(np.unique(batch)) <= {0, 1}


def test_the_normaliser_is_inside_the_agent(cartpole_run):
    """The same raw observation gives the same action as the policy on the normalised observation."""
    agent = rlx.load(cartpole_run)
    assert agent.obs_rms is not None and not np.allclose(agent.obs_rms.var, 1.0)
    obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    normed = np.clip((obs - agent.obs_rms.mean) / np.sqrt(agent.obs_rms.var + agent.obs_eps), -10, 10)
    by_hand = agent._algo.act(agent.params, normed, jax.random.key(0), True)
    np.testing.assert_array_equal(agent.act(obs), np.asarray(by_hand))


def test_continuous_actions_come_out_in_the_env_bounds(pendulum_run):
    agent = rlx.load(pendulum_run, checkpoint="latest")
    obs = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32) * 5
    action = agent.act(obs, deterministic=False)
    assert action.shape == (64, 1) and np.all(np.abs(action) <= 2.0)
    assert np.abs(action).max() > 1.0  # rescaled from [-1, 1] onto Pendulum's [-2, 2]
    env = gymnasium.make("Pendulum-v1")
    returns = agent.evaluate(env, episodes=2)
    assert returns.shape == (2,) and np.all(np.isfinite(returns))


def test_saved_policy_acts_like_the_checkpoint(cartpole_run, tmp_path):
    agent = rlx.load(cartpole_run, seed=1)
    path = agent.save(tmp_path / "cartpole")
    again = rlx.load(path)
    obs = np.random.default_rng(2).normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), again.act(obs))
    assert again.seed == 1 and again.checkpoint == agent.checkpoint
    assert path.stat().st_size < 100_000  # parameters and statistics only


def test_seeds_are_the_runs_own_and_evaluate_in_rlx(cartpole_run):
    seed0, seed1 = rlx.load(cartpole_run, seed=0), rlx.load(cartpole_run, seed=1)
    leaves0, leaves1 = jax.tree.leaves(seed0.params), jax.tree.leaves(seed1.params)
    assert any(not np.array_equal(a, b) for a, b in zip(leaves0, leaves1, strict=True))
    returns = seed0.evaluate(episodes=3)
    assert returns.shape == (3,) and np.all(returns >= 1)
    with pytest.raises(AgentError, match="seed: 5 is not a seed of this run; its seeds: 0, 1"):
        rlx.load(cartpole_run, seed=5)


def test_a_file_that_is_not_a_policy_is_one_line(tmp_path):
    bad = tmp_path / "x.rlx"
    bad.write_bytes(b"not msgpack")
    with pytest.raises(AgentError, match="not a policy file"):
        rlx.load(bad)
