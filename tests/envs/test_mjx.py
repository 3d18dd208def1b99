"""The Gymnasium MuJoCo tasks on MJX (rlx.envs.mjx): protocol, time limit, the backend switch.

Building an MJX model and compiling its step takes minutes on 2 CPU cores, so these are ``slow``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("brax")

from rlx import envs  # noqa: E402
from rlx.experiment.runner import enable_compilation_cache  # noqa: E402

enable_compilation_cache()


def test_every_v5_task_is_listed_and_bare_names_stay_envpool():
    from rlx.envs.mjx import TASKS

    assert len(TASKS) == 11
    assert set(envs.SOURCES["mjx"].ids()) == set(TASKS)
    assert envs.resolve("mjx:Hopper-v5") == ("mjx", "Hopper-v5")
    if envs.SOURCES["envpool"].ids():
        assert envs.resolve("Hopper-v5")[0] == "envpool"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_hopper_protocol_and_time_limit():
    env = envs.make("mjx:Hopper-v5", 3, max_episode_steps=3)
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == (3, 11) and obs.dtype == jnp.float32  # v5's Hopper layout
    step = jax.jit(env.step)
    truncs = []
    for k in jax.random.split(jax.random.key(1), 4):
        out = step(state, jnp.zeros((3, 3)), k)
        truncs.append(bool(np.all(out.truncated)))
        assert out.reward.dtype == jnp.float32 and not np.any(out.terminated)
        state = out.state
    assert truncs == [False, False, True, False]
    stats = envs.episode_metrics(env, state)
    assert float(stats["episodes"]) == 3.0 and float(stats["episode_length"]) == 3.0
