"""Algorithm registry: name -> module that defines ``Config``, ``make_algo`` and ``make_train``."""

from __future__ import annotations

import importlib

ALGOS = {
    "ppo": "rlx.algos.ppo",
}


def algo_module(name: str):
    return importlib.import_module(ALGOS[name])


def algo_config_class(name: str):
    return algo_module(name).Config
