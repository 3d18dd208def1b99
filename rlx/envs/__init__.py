"""``rlx.envs.make``: a named env from any source, vectorised and wrapped the same way.

Names are ``source:Id`` (``gymnax:CartPole-v1``) or a bare id looked up in each source in turn.
A source's factory returns a batched, auto-resetting env of ``num_envs`` copies; the shared
statistics and normalisation wrappers go on top of every source alike.
"""

from __future__ import annotations

from collections.abc import Callable

from rlx.envs.core import Env, Step, Wrapper
from rlx.envs.spaces import Box, Discrete
from rlx.envs.wrappers import (
    AutoReset,
    EpisodeStats,
    EpisodicLife,
    NormalizeObs,
    NormalizeReward,
    RescaleAction,
    SignReward,
    VecEnv,
    find_state,
    recent_episode_stats,
)

__all__ = [
    "Env",
    "Step",
    "Wrapper",
    "Box",
    "Discrete",
    "make",
    "make_batched",
    "resolve",
    "SOURCES",
    "EpisodeStats",
    "NormalizeObs",
    "NormalizeReward",
    "episode_metrics",
]


def _gymnax_ids():
    from rlx.envs.gymnax_env import gymnax_env_ids

    return gymnax_env_ids()


def _gymnax_factory(env_id: str, num_envs: int, **kwargs) -> Env:
    from rlx.envs.gymnax_env import GymnaxEnv

    env = GymnaxEnv(env_id, **kwargs)
    if isinstance(env.action_space, Box):
        env = RescaleAction(env)
    return VecEnv(AutoReset(env), num_envs)


class Source:
    def __init__(self, ids: Callable[[], list[str]], factory: Callable[..., Env]):
        self.ids, self.factory = ids, factory


#: source name -> (list of ids, factory). Other sources (envpool, playground) register here.
SOURCES: dict[str, Source] = {"gymnax": Source(_gymnax_ids, _gymnax_factory)}


def _envpool_ids():
    from rlx.envs.envpool import envpool_env_ids

    return envpool_env_ids()


def _envpool_factory(env_id: str, num_envs: int, **kwargs) -> Env:
    """envpool's host simulators (Box2D, MuJoCo v5, Atari) bridged into jit: already batched and
    auto-resetting, and one pool serves every vmapped seed (rlx.envs.envpool)."""
    from rlx.envs.envpool import EnvpoolEnv

    env = EnvpoolEnv(env_id, num_envs, **kwargs)
    if isinstance(env.action_space, Box):
        env = RescaleAction(env)  # broadcasts over the env axis
    return env


SOURCES["envpool"] = Source(_envpool_ids, _envpool_factory)


def _playground_ids():
    from rlx.envs.playground import playground_env_ids

    return playground_env_ids()


def _playground_factory(env_id: str, num_envs: int, **kwargs) -> Env:
    """MuJoCo Playground (MJX): pure JAX, vectorised and auto-reset by rlx (rlx.envs.playground)."""
    from rlx.envs.playground import PlaygroundEnv

    return VecEnv(AutoReset(RescaleAction(PlaygroundEnv(env_id, **kwargs))), num_envs)


SOURCES["playground"] = Source(_playground_ids, _playground_factory)


def _mjx_ids():
    from rlx.envs.mjx import mjx_env_ids

    return mjx_env_ids()


def _mjx_factory(env_id: str, num_envs: int, **kwargs) -> Env:
    """The Gymnasium MuJoCo tasks on MJX (``mjx:Hopper-v5``): pure JAX, for many envs on a GPU."""
    from rlx.envs.mjx import MjxEnv

    return VecEnv(AutoReset(RescaleAction(MjxEnv(env_id, **kwargs))), num_envs)


SOURCES["mjx"] = Source(_mjx_ids, _mjx_factory)


def resolve(name: str) -> tuple[str, str]:
    """``(source, id)`` for a name, or ValueError naming what is allowed."""
    if ":" in name:
        source, env_id = name.split(":", 1)
        if source not in SOURCES:
            raise ValueError(f"env: unknown source {source!r}; allowed: {', '.join(SOURCES)}")
        ids = SOURCES[source].ids()
        if env_id not in ids:
            raise ValueError(f"env: {env_id!r} is not a {source} env; allowed: {', '.join(ids)}")
        return source, env_id
    for source, src in SOURCES.items():
        if name in src.ids():
            return source, name
    known = ", ".join(i for src in SOURCES.values() for i in src.ids()[:12])
    raise ValueError(f"env: unknown env {name!r}; allowed (e.g.): {known}, ... or source:Id")


def make_batched(name: str, num_envs: int, **kwargs) -> Env:
    """The source's batched auto-resetting env, without statistics or normalisation."""
    source, env_id = resolve(name)
    return SOURCES[source].factory(env_id, num_envs, **kwargs)


def make(
    name: str,
    num_envs: int = 1,
    *,
    normalize_obs: bool = False,
    normalize_reward: bool = False,
    gamma: float = 0.99,
    clip_obs: float = 10.0,
    clip_reward: float = 10.0,
    stats_window: int = 100,
    episodic_life: bool = False,
    sign_reward: bool = False,
    **kwargs,
) -> Env:
    env = make_batched(name, num_envs, **kwargs)
    env = EpisodeStats(env, stats_window)
    # training-only signals (Atari): outside EpisodeStats, so it still records full-game raw returns
    if episodic_life:
        env = EpisodicLife(env)
    if sign_reward:
        env = SignReward(env)
    if normalize_obs:
        env = NormalizeObs(env, clip=clip_obs)
    if normalize_reward:
        env = NormalizeReward(env, gamma=gamma, clip=clip_reward)
    return env


def episode_metrics(env: Env, env_state) -> dict:
    """Window means of raw episode return and length, and the completed-episode count."""
    return recent_episode_stats(find_state(env, env_state, EpisodeStats))
