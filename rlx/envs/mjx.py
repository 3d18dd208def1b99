"""The 11 Gymnasium MuJoCo tasks as pure-JAX envs (MJX), for thousands of envs on a GPU.

``mjx:Hopper-v5`` etc. are brax's ``brax.envs`` task definitions run on brax's ``mjx`` backend
(MuJoCo XLA), given the Gymnasium v5 episode protocol: a 1000-step time limit (50 for Reacher,
100 for Pusher) reported as *truncation*, brax's unhealthy ``done`` as *termination* (never set by
the tasks that cannot fail), float32 observations, and the action bounds of the model's actuator
control ranges (``RescaleAction`` maps the agent's [-1, 1] onto them, as for envpool). They plug in
where envpool's CPU-threaded v5 tasks do: the mujoco benches keep every setting and switch backend
with the env name, ``python -m rlx.train +bench=mujoco/hopper env=mjx:Hopper-v5`` (bare
``Hopper-v5`` stays envpool's exact v5 simulation).

Where brax's definitions (and so these envs) differ from Gymnasium v5, from brax's task code and
docs (not yet measured side by side here; ``MjxEnv(id).observation_space`` shows the sizes):

* **Observations**: brax leaves out the contact-force block that v5 includes by default (Ant's
  ``cfrc_ext``: v5 has 105 dims with it; Humanoid/HumanoidStandup v5 have 348), and some tasks keep
  older (v4) layouts. Hopper, HalfCheetah, Walker2d, Swimmer, InvertedPendulum and Pusher use v5's
  layout (positions without the root x, then velocities).
* **Rewards**: the same terms and default weights as v5, except that the contact costs of v5's
  Ant and Humanoid need the contact forces brax does not observe by default.
* **Physics**: brax ships its own copies of the XML models (v5 changed e.g. Walker2d's foot
  friction), and MJX's solver settings differ from MuJoCo C's, so trajectories drift from
  envpool's exact v5 simulation over an episode.
* **Termination and time limits** follow v5: the 1000-step limit (Reacher 50, Pusher 100) is a
  truncation; brax's unhealthy ``done`` is a termination, never raised for tasks v5 never ends.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlx.envs.core import Env, Step
from rlx.envs.spaces import Box

#: Gymnasium v5 id -> (brax env name, episode limit in steps)
TASKS = {
    "Ant-v5": ("ant", 1000),
    "HalfCheetah-v5": ("halfcheetah", 1000),
    "Hopper-v5": ("hopper", 1000),
    "Humanoid-v5": ("humanoid", 1000),
    "HumanoidStandup-v5": ("humanoidstandup", 1000),
    "InvertedDoublePendulum-v5": ("inverted_double_pendulum", 1000),
    "InvertedPendulum-v5": ("inverted_pendulum", 1000),
    "Pusher-v5": ("pusher", 100),
    "Reacher-v5": ("reacher", 50),
    "Swimmer-v5": ("swimmer", 1000),
    "Walker2d-v5": ("walker2d", 1000),
}

# tasks whose brax definition can never set done (v5: no termination either)
_NEVER_TERMINATE = {"HalfCheetah-v5", "Swimmer-v5", "Reacher-v5", "Pusher-v5", "HumanoidStandup-v5"}


def mjx_env_ids() -> list[str]:
    try:
        import brax.envs  # noqa: F401
    except ImportError:
        return []
    return list(TASKS)


def _raw_key(key):
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


@struct.dataclass
class MjxState:
    env: object  # brax State (pipeline_state, obs, reward, done, metrics, info)
    steps: jax.Array  # int32 steps in this episode


class MjxEnv(Env):
    """One Gymnasium-style MuJoCo task on brax's MJX backend (see the module docstring)."""

    def __init__(self, env_id: str, backend: str = "mjx", max_episode_steps: int | None = None, **kwargs):
        from brax import envs as brax_envs

        if env_id not in TASKS:
            raise ValueError(f"env: {env_id!r} is not an mjx task; allowed: {', '.join(TASKS)}")
        brax_name, limit = TASKS[env_id]
        self.env = brax_envs.get_environment(brax_name, backend=backend, **kwargs)
        self.name = env_id
        self.max_episode_steps = int(max_episode_steps or limit)
        self._can_terminate = env_id not in _NEVER_TERMINATE
        low, high = np.asarray(self.env.sys.actuator.ctrl_range, np.float32).T
        n = int(self.env.action_size)
        self.action_space = Box(low, high, (n,))
        m = int(self.env.observation_size)
        self.observation_space = Box(np.full(m, -np.inf, np.float32), np.full(m, np.inf, np.float32), (m,))

    def reset(self, key):
        s = self.env.reset(_raw_key(key))
        return MjxState(s, jnp.zeros((), jnp.int32)), jnp.asarray(s.obs, jnp.float32)

    def step(self, state, action, key):
        del key  # the tasks are deterministic given the state
        s = self.env.step(state.env, action)
        steps = state.steps + 1
        terminated = (s.done > 0) if self._can_terminate else jnp.zeros((), bool)
        truncated = jnp.logical_and(steps >= self.max_episode_steps, jnp.logical_not(terminated))
        return Step(
            MjxState(s, steps),
            jnp.asarray(s.obs, jnp.float32),
            jnp.asarray(s.reward, jnp.float32).reshape(()),
            terminated.reshape(()),
            truncated.reshape(()),
            {},
        )
