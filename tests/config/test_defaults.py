"""One source of defaults: the Python route and the command line resolve to the same config."""

import typing

import pytest

from rlx.algos import ALGOS, algo_config_class
from rlx.config import RunConfig, load
from rlx.config.schema import traced_names

CONTINUOUS = {"ppo", "a2c", "reinforce", "sac", "crossq"}


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_python_and_cli_agree(name):
    env = "Pendulum-v1" if name in CONTINUOUS else "CartPole-v1"
    from_cli = load(f"env={env}", f"algo={name}")
    in_python = RunConfig(algo=algo_config_class(name)(), env=env)
    assert from_cli == in_python


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_traced_fields_are_declared_floats(name):
    """A traced hyperparameter becomes a float32 array in the train state: its field must be a float."""
    cls = algo_config_class(name)
    names, hints = traced_names(cls), typing.get_type_hints(cls)
    assert names, name
    assert all(hints[n] is float for n in names), {n: hints[n] for n in names}


def test_crossq_does_not_trace_the_target_rate_it_never_uses():
    assert "tau" in traced_names(algo_config_class("sac")())
    assert "tau" not in traced_names(algo_config_class("crossq")())


def test_ddqn_per_is_dqn_with_double_targets_and_priorities():
    dqn, ddqn = algo_config_class("dqn")(), algo_config_class("ddqn_per")()
    assert (ddqn.double, ddqn.prioritized) == (True, True)
    assert (dqn.double, dqn.prioritized) == (False, False)
