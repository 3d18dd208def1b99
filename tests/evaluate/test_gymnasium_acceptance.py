"""Acceptance (slow suite): a bench trained through the CLI, then only ``rlx.load(run).act(obs)`` in a plain
Gymnasium loop, with no rlx env: the policy carries its observation normaliser and action bounds itself.

Budgets and thresholds were picked on seeds 100-101 and 200-201 (the figures in each test's docstring);
the tests run the bench's seeds 0 and 1."""

import gymnasium
import numpy as np
import pytest

import rlx
from rlx.cli.train import main as train


def _cli_train(tmp_path, *args):
    """The run folder of ``python -m rlx.train <args>`` (output only overridden)."""
    out = ["logger.name=run", f"logger.out_dir={tmp_path}", "logger.progress=false", "logger.plot=false"]
    assert train([*args, *out]) == 0
    return tmp_path / "run"


def _play(agent, env, episodes, seed=None):
    """``(returns, actions)`` of ``episodes`` episodes in a loop that calls nothing of rlx but ``agent.act``.
    ``env`` is a Gymnasium env (``seed`` seeds its first reset) or envpool's Gymnasium-style env of one
    copy (seeded when made; its arrays carry a leading axis of 1, which ``act`` keeps)."""
    returns, actions = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        total, done = 0.0, False
        while not done:
            action = agent.act(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            actions.append(action)
            total, done = total + float(np.sum(reward)), bool(np.any(terminated | truncated))
        returns.append(total)
    return np.asarray(returns), np.asarray(actions)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_cli_trained_cartpole_policy_solves_gymnasium_cartpole(tmp_path):
    """The bench as it is (4 seeds, 2e5 frames), the first seed's best checkpoint: mean >= 475 over 20 episodes."""
    agent = rlx.load(_cli_train(tmp_path, "+bench=classic/cartpole", "algo=ppo"), checkpoint="best")
    returns, _ = _play(agent, gymnasium.make("CartPole-v1"), episodes=20, seed=1000)
    assert np.mean(returns) >= 475, returns


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_normalised_lunar_lander_policy_lands_in_envpools_gymnasium_env(tmp_path):
    """PPO normalises LunarLander's observations; the statistics travel inside the agent.

    The bench's budget (3e5 frames a seed) on 2 of its 4 seeds, about 2 min here. History, so the bound
    is read right: under the 0.2.0 seed keys this test ran 2e5 frames with each seed >= 150 (tuning seeds
    185.8-266.1). With the 0.2.1 keys, tuning seeds 100, 101, 200, 201 at 2e5 gave 267.2, 216.7, 217.5,
    255.1, but seeds 0 and 1 gave 103.9 and 181.2 (seed 0 had not learned to land every time). The full
    bench command (4 seeds x 3e5, `/tmp` run of 2026-12-01) then scored 242.7, 280.4, 227.3, 249.9 in this
    loop, so the test now trains the bench's budget. Bounds: the mean over the seeds >= 150 (a trial, as
    SLM-Lab scores one) and every seed at least 200 above the random policy (-180). The two loops play
    different initial states, so their means are two samples of one return distribution: they must agree
    within 3 standard errors of the difference (a lost normaliser or a mangled observation moves the mean
    by far more)."""
    envpool = pytest.importorskip("envpool", reason="the envpool extra is not installed")
    run = _cli_train(tmp_path, "+bench=box2d/lunar", "algo=ppo", "num_seeds=2")
    means = []
    for seed in (0, 1):
        agent = rlx.load(run, checkpoint="best", seed=seed)
        assert agent.obs_rms is not None
        env = envpool.make_gymnasium("LunarLander-v3", num_envs=1, seed=1000 + seed)
        returns, actions = _play(agent, env, episodes=20)
        assert actions.shape == (actions.shape[0], 1) and set(np.unique(actions)) <= {0, 1, 2, 3}
        assert returns.mean() >= -180 + 200, (seed, returns)
        means.append(returns.mean())
        in_rlx = agent.evaluate(episodes=20)
        assert np.all(np.isfinite(in_rlx)), in_rlx  # every episode ended (LunarLander truncates at 1000 steps)
        stderr = np.sqrt(returns.var(ddof=1) / returns.size + in_rlx.var(ddof=1) / in_rlx.size)
        assert abs(returns.mean() - in_rlx.mean()) <= 3 * stderr, (seed, returns.mean(), in_rlx.mean(), stderr)
    assert np.mean(means) >= 150, means


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_continuous_pendulum_policy_acts_within_gymnasium_bounds(tmp_path):
    """SAC's tanh policy acts in [-1, 1]; the agent maps it onto Pendulum-v1's [-2, 2] itself.

    2 seeds x 5e4 frames (the bench: 4 x 3e5), about 70 s here (half of it compiling). Tuning seeds,
    Gymnasium-loop mean of 20 episodes: 100: -150.9 and 101: -151.9 (at 4e4 frames), 200: -155.4,
    201: -152.5 (the random policy: about -1200). At 3e4 frames seed 0's best checkpoint still failed to
    swing up from some starts (-321.2, CI 2026-12-07), too close to the edge; at 5e4 seeds 0 and 1 score
    -147.4 and -150.4, tuning seeds 100 and 101 -146.7 and -147.5. Each seed must reach -300, and ``agent.evaluate`` on
    rlx's own Pendulum must agree with the Gymnasium loop within 3 standard errors of the difference (it
    plays the policy in [-1, 1] through the env's RescaleAction; rescaling twice scored ~20 lower)."""
    run = _cli_train(tmp_path, "+bench=classic/pendulum", "algo=sac", "num_seeds=2", "max_frame=5e4")
    env = gymnasium.make("Pendulum-v1")
    low, high = env.action_space.low, env.action_space.high
    for seed in (0, 1):
        agent = rlx.load(run, checkpoint="best", seed=seed)
        returns, actions = _play(agent, env, episodes=20, seed=1000)
        assert actions.shape == (20 * 200, 1), actions.shape
        assert np.all((low <= actions) & (actions <= high)) and np.abs(actions).max() > 1.0  # bounds, not [-1, 1]
        assert returns.mean() >= -300, (seed, returns)
        in_rlx = agent.evaluate(episodes=20)
        stderr = np.sqrt(returns.var(ddof=1) / returns.size + in_rlx.var(ddof=1) / in_rlx.size)
        assert abs(returns.mean() - in_rlx.mean()) <= 3 * stderr, (seed, returns.mean(), in_rlx.mean(), stderr)
