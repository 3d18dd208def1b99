"""A trained policy as one object: ``rlx.load(path)`` -> ``Agent``, ``agent.act(obs)`` on raw observations.

Training runs the policy inside an env stack (``rlx.envs.make``): observations are standardised by
``NormalizeObs`` with statistics the run learned, and continuous actions come out in [-1, 1] and are
mapped onto the env's bounds by ``RescaleAction``. An ``Agent`` carries both pieces (the frozen
statistics and the bounds), so a user's own loop (Gymnasium, a robot) feeds it what the env gives
and gets back what the env takes: nothing else to reconstruct.

``rlx.load`` reads a run folder (``config.yaml`` + ``checkpoints/``, a sweep trial folder too) at a
checkpoint (``"best"``, ``"latest"`` or an update number) for one of its seeds, or a policy file
written by ``Agent.save``: parameters, normaliser statistics, bounds and the config, without the
optimiser state or the replay buffer (a Pendulum SAC policy is tens of kB, its checkpoint ~12 MB).
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rlx.config import ConfigError, RunConfig, to_dict
from rlx.evaluate.episodes import action_bounds, eval_env, normalize, normalizer, play_episodes

POLICY_FORMAT = 1
POLICY_SUFFIX = ".rlx"


class AgentError(ConfigError):
    """A path that holds no policy, a seed or checkpoint the run does not have; one line."""


@dataclasses.dataclass
class Agent:
    """One seed's policy with its observation normaliser and action bounds (see the module doc)."""

    config: RunConfig
    params: Any  # what the algorithm's ``act`` takes (``Algo.policy_params`` of one seed's state)
    obs_rms: Any = None  # RunningMeanStd (or a dict of them for dict observations), frozen
    obs_clip: float = 10.0
    obs_eps: float = 1e-8
    action_low: np.ndarray | None = None  # env bounds when the policy acts in [-1, 1]
    action_high: np.ndarray | None = None
    seed: int = 0  # the run's seed this policy is (as in metrics.csv)
    checkpoint: int | None = None  # the update number of the checkpoint it came from
    _key: jax.Array = dataclasses.field(default_factory=lambda: jax.random.key(0), repr=False)

    # ------------------------------------------------------------ acting

    @functools.cached_property
    def _algo(self):
        from rlx.algos import algo_module

        return algo_module(self.config.algo.name).make_algo(self.config)

    @property
    def observation_space(self):
        return self._algo.env.observation_space

    @property
    def action_space(self):
        """The env's action space (its real bounds, not the policy's [-1, 1])."""
        space = self._algo.env.action_space
        if self.action_low is None:
            return space
        from rlx.envs.spaces import Box

        return Box(self.action_low, self.action_high, space.shape)

    @property
    def notes(self) -> str:
        """A line on what this policy needs from the env that it cannot carry itself ('' if nothing)."""
        if self.config.env.startswith("envpool:") and "ALE/" in self.config.env:
            return (
                "acts on envpool's preprocessed Atari frames (84x84 grey, 4 stacked, uint8); a Gymnasium ALE env "
                "needs the same AtariPreprocessing and FrameStackObservation(4) first"
            )
        return ""

    @functools.cached_property
    def agent_policy(self):
        """``(params, rms, obs, key, deterministic) -> action`` in the training env's action space (the
        source's ``RescaleAction`` maps it onto the bounds): what rlx envs take, jitted once."""
        algo, clip, eps = self._algo, self.obs_clip, self.obs_eps

        def policy(params, rms, obs, key, deterministic):
            return algo.act(params, normalize(rms, obs, clip, eps), key, deterministic)

        return jax.jit(policy, static_argnums=4)

    @functools.cached_property
    def policy_fn(self):
        """``(params, rms, obs, key, deterministic) -> env action`` for a batch: ``agent_policy`` with
        ``RescaleAction``'s mapping of [-1, 1] onto the bounds applied, jitted once."""
        policy, low, high = self.agent_policy, self.action_low, self.action_high

        def env_policy(params, rms, obs, key, deterministic):
            action = policy(params, rms, obs, key, deterministic)
            if low is not None:
                action = low + (jnp.clip(action, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
            return action

        return jax.jit(env_policy, static_argnums=4)

    def _batched(self, obs):
        """``(obs as float32 batch, whether a batch axis was added)``; dict observations per entry."""
        space = self.observation_space
        if isinstance(space, dict):
            single = all(np.ndim(obs[k]) == len(s.shape) for k, s in space.items())
            obs = {k: jnp.asarray(v, jnp.float32) for k, v in obs.items()}
            return (jax.tree.map(lambda x: x[None], obs) if single else obs), single
        dtype = jnp.uint8 if getattr(space, "dtype", "float32") == "uint8" else jnp.float32
        obs = jnp.asarray(obs, dtype)
        single = obs.ndim == len(space.shape)
        return (obs[None] if single else obs), single

    def act(self, obs, deterministic: bool = True, key: jax.Array | None = None) -> np.ndarray:
        """Env actions for raw env observations: one observation or a batch, numpy or jax."""
        if key is None:
            self._key, key = jax.random.split(self._key)
        obs, single = self._batched(obs)
        action = np.asarray(self.policy_fn(self.params, self.obs_rms, obs, key, bool(deterministic)))
        return action[0] if single else action

    # ------------------------------------------------------------ evaluating

    def evaluate(self, env=None, episodes: int = 10, deterministic: bool = True, seed: int = 0, max_steps=None):
        """Returns of ``episodes`` episodes: ``env`` is an rlx env name (default: the run's env, run
        compiled, one env per episode) or a Gymnasium env (a plain Python loop on ``act``)."""
        if env is None or isinstance(env, str):
            return self._evaluate_rlx(env or self.config.env, episodes, deterministic, seed, max_steps or 100_000)
        return self._evaluate_gymnasium(env, episodes, deterministic, seed, max_steps)

    def _evaluate_gymnasium(self, env, episodes, deterministic, seed, max_steps):
        returns = []
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            total, steps, done = 0.0, 0, False
            while not done and (max_steps is None or steps < max_steps):
                obs, reward, terminated, truncated, _ = env.step(self.act(obs, deterministic))
                total, steps, done = total + float(reward), steps + 1, terminated or truncated
            returns.append(total)
        return np.asarray(returns, np.float32)

    def _evaluate_rlx(self, name, episodes, deterministic, seed, max_steps):
        config = self.config if name == self.config.env else dataclasses.replace(self.config, env=name, env_kwargs={})
        env, policy, params, rms = eval_env(config, episodes), self.agent_policy, self.params, self.obs_rms

        def run(key):
            return play_episodes(env, lambda obs, k: policy(params, rms, obs, k, deterministic), max_steps, key)

        returns, _, finished = jax.device_get(jax.jit(run)(jax.random.key(seed)))
        return np.where(finished, returns, np.nan).astype(np.float32)  # NaN: cut at max_steps

    # ------------------------------------------------------------ saving

    def save(self, path) -> pathlib.Path:
        """A self-contained policy file (``.rlx``, msgpack) that ``rlx.load`` reads."""
        from flax import serialization

        path = pathlib.Path(path)
        if path.suffix != POLICY_SUFFIX:
            path = path.with_suffix(POLICY_SUFFIX)
        payload = {
            "format": POLICY_FORMAT,
            "config": _yaml(to_dict(self.config)),
            "params": serialization.to_state_dict(self.params),
            "obs_rms": None if self.obs_rms is None else serialization.to_state_dict(self.obs_rms),
            "obs_clip": self.obs_clip,
            "obs_eps": self.obs_eps,
            "action_low": self.action_low,
            "action_high": self.action_high,
            "seed": self.seed,
            "checkpoint": -1 if self.checkpoint is None else self.checkpoint,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(serialization.msgpack_serialize(jax.device_get(payload)))
        tmp.replace(path)  # a crash mid-write never leaves a truncated policy behind
        return path


def _yaml(data: dict) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(data))


# ---------------------------------------------------------------- loading


def load(path, checkpoint: str | int = "best", seed: int | None = None) -> Agent:
    """The policy at ``path``: a run folder (``checkpoint`` and ``seed``, a seed of the run as in
    metrics.csv, default its first) or a policy file written by ``Agent.save``."""
    path = pathlib.Path(path)
    if path.is_file():
        return _load_file(path)
    agents = load_seeds(path, checkpoint, None if seed is None else [seed])
    return agents[0]


def load_seeds(run_dir, checkpoint: str | int = "best", seeds: list[int] | None = None) -> list[Agent]:
    """One ``Agent`` per requested seed of a run folder, from one restore of its checkpoint."""
    from rlx.algos import algo_module
    from rlx.config import load_run
    from rlx.experiment import checkpoint as ckpt_lib
    from rlx.experiment.seeds import seed_keys

    config = load_run(run_dir)
    run_seeds = [config.seed + i for i in range(config.num_seeds)]
    seeds = run_seeds[:1] if seeds is None else seeds
    missing = [s for s in seeds if s not in run_seeds]
    if missing:
        raise AgentError(f"seed: {missing[0]} is not a seed of this run; its seeds: {', '.join(map(str, run_seeds))}")
    algo = algo_module(config.algo.name).make_algo(config)
    keys = seed_keys(config.seed, config.num_seeds)
    state, _, step = ckpt_lib.load(run_dir, jax.eval_shape(jax.vmap(algo.init), keys), checkpoint)
    rms, clip, eps = normalizer(algo.env, state.carry.env_state)
    low, high = action_bounds(algo.env)
    agents = []
    for s in seeds:
        i = run_seeds.index(s)
        one = functools.partial(jax.tree.map, lambda x, i=i: x[i])
        agent = Agent(config, one(algo.policy_params(state)), None if rms is None else one(rms), clip, eps, low, high)
        agent.seed, agent.checkpoint = s, step
        agent.__dict__["_algo"] = algo  # built once for every seed
        agents.append(agent)
    return agents


def _load_file(path: pathlib.Path) -> Agent:
    from flax import serialization
    from omegaconf import OmegaConf

    from rlx.algos import algo_module
    from rlx.config import run_config_from_dict

    try:
        payload = serialization.msgpack_restore(path.read_bytes())
    except Exception:
        raise AgentError(f"{path}: not a policy file (rlx.load reads run folders and files from Agent.save)") from None
    if not isinstance(payload, dict) or payload.get("format") != POLICY_FORMAT:
        raise AgentError(f"{path}: not a policy file of format {POLICY_FORMAT}")
    config = run_config_from_dict(OmegaConf.to_container(OmegaConf.create(payload["config"])))
    algo = algo_module(config.algo.name).make_algo(config)
    shape = jax.eval_shape(algo.init, jax.random.key(0))
    params = serialization.from_state_dict(algo.policy_params(shape), payload["params"])
    rms = payload["obs_rms"]
    if rms is not None:
        rms = serialization.from_state_dict(normalizer(algo.env, shape.carry.env_state)[0], rms)
    agent = Agent(config, params, rms, float(payload["obs_clip"]), float(payload["obs_eps"]))
    agent.action_low, agent.action_high = payload["action_low"], payload["action_high"]
    agent.seed, agent.checkpoint = int(payload["seed"]), (None if payload["checkpoint"] < 0 else payload["checkpoint"])
    agent.__dict__["_algo"] = algo
    return agent
