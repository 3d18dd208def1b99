"""SLM-Lab's metrics on small cases computed by hand."""

import numpy as np

from rlx.experiment.scoring import format_trial_line, moving_average, session_metrics, trial_metrics


def test_session_metrics_by_hand():
    frames = np.array([100.0, 200.0, 300.0, 400.0])
    reward = np.array([10.0, 30.0, 20.0, 40.0])
    m = session_metrics(frames, reward, opt_steps=np.array([1.0, 2.0, 3.0, 4.0]), random_return=10.0)
    s = reward - 10.0  # [0, 20, 10, 30]
    assert m["total_reward_ma"] == 25.0
    assert m["strength"] == 15.0 and m["max_strength"] == 30.0 and m["final_strength"] == 30.0
    np.testing.assert_allclose(m["sample_efficiency"], np.sum(s / frames) / s.sum())
    np.testing.assert_allclose(m["training_efficiency"], np.sum(s / np.array([1, 2, 3, 4])) / s.sum())
    np.testing.assert_allclose(m["stability"], 1 - 10.0 / 60.0)  # one drop of 10 over a sum of 60


def test_total_reward_ma_is_last_100_points_and_skips_nan():
    reward = np.concatenate([[np.nan, np.nan], np.arange(150.0)])
    frames = np.arange(1, len(reward) + 1) * 500.0
    m = session_metrics(frames, reward, frames, random_return=0.0)
    assert m["total_reward_ma"] == np.arange(50.0, 150.0).mean()
    ma = moving_average(reward)
    assert np.isnan(ma[0]) and ma[-1] == np.arange(50.0, 150.0).mean()


def test_trial_consistency_and_means():
    frames = np.array([1.0, 2.0, 3.0])
    rewards = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    out = trial_metrics(frames, rewards, frames, random_return=0.0)
    assert out["trial"]["strength"] == np.mean([2.0, 4.0])
    std = rewards.std(axis=0).sum()
    mean = rewards.mean(axis=0).sum()
    np.testing.assert_allclose(out["trial"]["consistency"], 1 - 2 * std / mean)
    line = format_trial_line(3, out["trial"])
    assert line.startswith("trial_metrics: frame:3.00e+00 | total_reward_ma:3 | strength:3")
    assert "consistency:" in line
