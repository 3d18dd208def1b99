"""Algorithm registry: name -> (module defining ``make_algo`` and ``make_train``, its config class)."""

from __future__ import annotations

import importlib

ALGOS = {
    "ppo": ("rlx.algos.ppo", "Config"),
    "reinforce": ("rlx.algos.reinforce", "Config"),
    "a2c": ("rlx.algos.a2c", "Config"),
    "sarsa": ("rlx.algos.sarsa", "Config"),
    "dqn": ("rlx.algos.dqn", "Config"),
    "ddqn_per": ("rlx.algos.dqn", "DDQNPERConfig"),
    "sac": ("rlx.algos.sac", "Config"),
    "crossq": ("rlx.algos.crossq", "Config"),
}


def algo_module(name: str):
    return importlib.import_module(ALGOS[name][0])


def algo_config_class(name: str):
    """The config dataclass of ``name``: the one source of its defaults."""
    module, cls = ALGOS[name]
    return getattr(importlib.import_module(module), cls)
