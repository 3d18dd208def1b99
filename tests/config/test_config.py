"""Config composition: precedence, defaults, immutability. Bad values: tests/cli/test_bad_input.py."""

import dataclasses

import pytest

from rlx.config.compose import compose_dict, load


def test_precedence_cli_over_tuned_over_defaults():
    data = compose_dict(["+bench=classic/pendulum"])
    assert data["env"] == "Pendulum-v1" and data["max_frame"] == 300000
    assert data["wrappers"]["normalize_obs"] is True  # from tuned.ppo
    tuned_lr = data["algo"]["lr"]
    cfg = load("+bench=classic/pendulum", "algo.lr=0.123", "max_frame=1e4")
    assert cfg.algo.lr == 0.123 != tuned_lr
    assert cfg.max_frame == 10000 and isinstance(cfg.max_frame, int)
    assert cfg.bench == "classic/pendulum"


def test_default_is_ppo_on_cartpole_bench():
    cfg = load()
    assert cfg.env == "CartPole-v1" and cfg.algo.name == "ppo"
    assert (cfg.num_envs, cfg.max_frame, cfg.num_seeds, cfg.log_frequency) == (4, 200000, 4, 500)
    assert cfg.bench == "classic/cartpole"


def test_config_is_frozen():
    cfg = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_envs = 8
