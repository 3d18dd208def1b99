"""Algorithm registry: name -> module that defines ``Config``, ``make_algo`` and ``make_train``."""

from __future__ import annotations

import importlib

ALGOS = {
    "ppo": "rlx.algos.ppo",
    "reinforce": "rlx.algos.reinforce",
    "a2c": "rlx.algos.a2c",
    "sarsa": "rlx.algos.sarsa",
    "dqn": "rlx.algos.dqn",
    "ddqn_per": "rlx.algos.dqn",
    "sac": "rlx.algos.sac",
    "crossq": "rlx.algos.crossq",
}


def algo_module(name: str):
    return importlib.import_module(ALGOS[name])


def algo_config_class(name: str):
    return algo_module(name).Config
