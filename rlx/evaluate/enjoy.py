"""Replay a trained run: ``python -m rlx.enjoy <run folder> [key=value ...]``.

Loads a checkpoint of the run (``checkpoint=latest|best|<update>``), runs ``episodes`` evaluation
episodes per seed with the algorithm's ``act(params, obs, key, deterministic)`` and prints their
returns. Options: ``episodes=10``, ``seed=<a seed of the run, as in metrics.csv>`` (default: all),
``deterministic=false`` (true: the distribution's mode), ``key=0`` (evaluation PRNG seed),
``video=false|true|<path.mp4|.gif>`` (one episode of the first chosen seed), ``max_steps=100000``.

Evaluation never updates normaliser statistics: the eval env is a fresh ``num_envs=episodes`` copy
whose ``NormalizeObs`` is ``frozen=True`` and starts from the checkpoint's statistics; each env
plays exactly one episode, and its raw return (``EpisodeStats``, before any normalisation) counts.
"""

from __future__ import annotations

import os
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

from rlx import envs
from rlx.envs.wrappers import NormalizeObs, Wrapped, find_state
from rlx.errors import first_line


class EnjoyError(RuntimeError):
    """``str(err)`` is the one line the CLI prints."""


# ---------------------------------------------------------------- evaluation


def make_eval_env(config, num_envs: int):
    """The run's env without reward normalisation, its obs normaliser frozen (read-only statistics)."""
    env = envs.make_batched(config.env, num_envs, **config.env_kwargs)
    env = envs.EpisodeStats(env)
    if config.wrappers.normalize_obs:
        env = NormalizeObs(env, clip=config.wrappers.clip_obs, frozen=True)
    return env


def _reset(eval_env, key, train_env, train_env_state):
    """Reset ``eval_env``; a frozen obs normaliser gets the trained statistics before the first obs."""
    if isinstance(eval_env, NormalizeObs):
        rms = find_state(train_env, train_env_state, NormalizeObs)
        inner, raw_obs = eval_env.env.reset(key)
        return Wrapped(inner, rms), eval_env._normalize(rms, raw_obs)
    return eval_env.reset(key)


def evaluate(algo, eval_env, state, key, deterministic: bool = False, max_steps: int = 100_000):
    """One episode in each of ``eval_env``'s envs for one seed's ``state``.

    Returns ``(returns, lengths, finished, final_env_state)``, each per env; ``finished`` is False
    for an episode still running after ``max_steps`` (its return is then partial)."""
    n = eval_env.num_envs
    k_reset, k_loop = jax.random.split(key)
    env_state, obs = _reset(eval_env, k_reset, algo.env, state.carry.env_state)

    def cond(c):
        return jnp.logical_and(~jnp.all(c["done"]), c["t"] < max_steps)

    def body(c):
        key, k_act, k_env = jax.random.split(c["key"], 3)
        action = algo.act(algo.policy_params(state), c["obs"], k_act, deterministic)
        out = eval_env.step(c["env_state"], action, k_env)
        first = jnp.logical_and(out.info["episode_done"], ~c["done"])
        return {
            "env_state": out.state,
            "obs": out.obs,
            "key": key,
            "t": c["t"] + 1,
            "done": jnp.logical_or(c["done"], out.info["episode_done"]),
            "ret": jnp.where(first, out.info["episode_return"], c["ret"]),
            "len": jnp.where(first, out.info["episode_length"], c["len"]),
            "run_ret": jnp.where(c["done"], c["run_ret"], c["run_ret"] + out.reward),
        }

    zeros = jnp.zeros(n, jnp.float32)
    c = {
        "env_state": env_state,
        "obs": obs,
        "key": k_loop,
        "t": jnp.zeros((), jnp.int32),
        "done": jnp.zeros(n, bool),
        "ret": zeros,
        "len": zeros,
        "run_ret": zeros,
    }
    c = jax.lax.while_loop(cond, body, c)
    returns = jnp.where(c["done"], c["ret"], c["run_ret"])
    return returns, c["len"], c["done"], c["env_state"]


def _raw_state(env, state):
    """The source env's (batched) state under rlx's stateful wrappers."""
    while isinstance(env, envs.Wrapper):
        if getattr(env, "stateful", False):
            state = state.inner
        env = env.env
    return state


def record_episode(algo, config, state, key, deterministic: bool, max_steps: int = 1000):
    """Source-env states of one episode (env 0) as a host list, for rendering."""
    env = make_eval_env(config, 1)
    k_reset, k_loop = jax.random.split(key)
    env_state, obs = _reset(env, k_reset, algo.env, state.carry.env_state)

    def step(c, k):
        env_state, obs, done = c
        k_act, k_env = jax.random.split(k)
        action = algo.act(algo.policy_params(state), obs, k_act, deterministic)
        out = env.step(env_state, action, k_env)
        raw = jax.tree.map(lambda x: x[0], _raw_state(env, env_state))
        return (out.state, out.obs, jnp.logical_or(done, out.info["episode_done"][0])), (raw, done)

    _, (raws, done_before) = jax.jit(lambda c, ks: jax.lax.scan(step, c, ks))(
        (env_state, obs, jnp.zeros((), bool)), jax.random.split(k_loop, max_steps)
    )
    raws, done_before = jax.device_get((raws, done_before))
    length = int(np.argmax(done_before)) if done_before.any() else max_steps
    return [jax.tree.map(lambda x: x[t], raws) for t in range(length)], env


# ---------------------------------------------------------------- video


def _gymnax_renderer(base):
    """Gymnasium's classic-control renderer (pygame) fed gymnax states (gymnax.visualize.vis_gym)."""
    try:
        import gymnasium as gym
        from gymnax.visualize import vis_gym
    except ImportError as err:
        raise EnjoyError(f"video needs gymnasium and pygame ({err}): pip install 'rlx[video]'") from None
    if base.name not in vis_gym.SUPPORTED_GYM_ENVS:
        return None
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no display, no sound card: pygame draws off-screen
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    try:
        genv = gym.make(base.name, render_mode="rgb_array")
        genv.reset(seed=0)
    except Exception as err:  # pygame missing, or no renderer for this id
        raise EnjoyError(f"video: gymnasium cannot render {base.name} ({err}): pip install 'rlx[video]'") from None
    vis_gym.set_gym_params(genv.unwrapped, base.name, base.params)

    def render(state):
        genv.unwrapped.state = vis_gym.get_gym_state(state, base.name)
        if base.name == "Pendulum-v1":
            genv.unwrapped.last_u = np.asarray(state.last_u, dtype=np.float64)
        return np.asarray(genv.render())

    return lambda states: [render(s) for s in states]


def _mujoco_renderer(base):
    """MuJoCo Playground envs draw a list of their states (``MjxEnv.render``, mujoco.Renderer; EGL
    when headless); rlx's playground adapter keeps the playground state in ``state.env``."""

    def render_all(states):
        try:
            return [np.asarray(f) for f in base.env.render([s.env for s in states], height=240, width=320)]
        except Exception as err:  # no OpenGL (EGL / OSMesa) here
            raise EnjoyError(
                f"video: MuJoCo cannot render here ({first_line(err)}); try MUJOCO_GL=egl or osmesa"
            ) from None

    return render_all


def renderer_for(env):
    """``render_all(list of source states) -> list of HxWx3 uint8 frames``, or None when the env has
    no renderer here.

    A source adapter may define ``render(states) -> frames``; gymnax classic control is drawn by
    gymnasium's renderer, MuJoCo Playground envs by their own ``render`` (mujoco.Renderer)."""
    base = env.unwrapped() if isinstance(env, envs.Wrapper) else env
    if callable(getattr(base, "render", None)):
        return base.render
    inner = getattr(base, "env", None)
    if callable(getattr(inner, "render", None)) and hasattr(inner, "mj_model"):
        return _mujoco_renderer(base)
    from rlx.envs.gymnax_env import GymnaxEnv

    if isinstance(base, GymnaxEnv):
        return _gymnax_renderer(base)
    return None


def write_video(frames: list[np.ndarray], path: pathlib.Path, fps: int = 50) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return path
    if path.suffix.lower() == ".mp4":
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401  (ships its own ffmpeg)
        except ImportError:
            raise EnjoyError(
                "mp4 needs imageio and imageio-ffmpeg: pip install 'rlx[video]', or use video=<path>.gif"
            ) from None
        imageio.mimwrite(path, [np.asarray(f, np.uint8) for f in frames], fps=fps, macro_block_size=1)
        return path
    raise EnjoyError(f"video: {path.name}: use a .mp4 or .gif path")


def _default_video_ext() -> str:
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401

        return ".mp4"
    except ImportError:
        return ".gif"


# ---------------------------------------------------------------- the command


def enjoy(
    run_dir: pathlib.Path,
    episodes: int = 10,
    seed: int | None = None,
    deterministic: bool = False,
    key: int = 0,
    checkpoint: str = "latest",
    video: str = "false",
    max_steps: int = 100_000,
    out=None,
) -> dict:
    """Evaluates a run folder's checkpoint; returns ``{"seeds", "returns"[seed][episode], "mean", ...}``."""
    out = out or sys.stdout
    from rlx.experiment import checkpoint as ckpt_lib
    from rlx.algos import algo_module
    from rlx.config.compose import load_run

    run_dir = pathlib.Path(run_dir)
    config = load_run(run_dir)
    algo = algo_module(config.algo.name).make_algo(config)
    if algo.act is None:
        raise EnjoyError(f"algo {config.algo.name} has no act(); it cannot be replayed")
    keys = jax.random.split(jax.random.key(config.seed), config.num_seeds)
    target = jax.eval_shape(jax.vmap(algo.init), keys)
    state, host, step = ckpt_lib.load(run_dir, target, checkpoint)
    seeds = [config.seed + i for i in range(config.num_seeds)]
    if seed is not None:
        if seed not in seeds:
            raise EnjoyError(f"seed: {seed} is not a seed of this run; its seeds: {', '.join(map(str, seeds))}")
        idx = [seeds.index(seed)]
    else:
        idx = list(range(len(seeds)))
    state = jax.tree.map(lambda x: x[np.asarray(idx)], state)
    eval_env = make_eval_env(config, episodes)
    eval_keys = jax.random.split(jax.random.key(key), len(idx))
    run = jax.jit(jax.vmap(lambda s, k: evaluate(algo, eval_env, s, k, deterministic, max_steps)[:3]))
    returns, lengths, finished = jax.device_get(run(state, eval_keys))
    result = {
        "run": str(run_dir),
        "checkpoint": step,
        "deterministic": deterministic,
        "seeds": [seeds[i] for i in idx],
        "returns": returns.tolist(),
        "lengths": lengths.tolist(),
        "mean": float(returns.mean()),
        "std": float(returns.std()),
    }
    mode = "deterministic" if deterministic else "stochastic"
    print(
        f"rlx.enjoy: {config.algo.name} on {config.env}, checkpoint {step} (update {host.get('done_updates')}), "
        f"{episodes} {mode} episodes per seed",
        file=out,
    )
    for j, i in enumerate(idx):
        partial = "" if finished[j].all() else f" ({int((~finished[j]).sum())} cut at max_steps)"
        print(
            f"  seed {seeds[i]}: mean return {returns[j].mean():.2f} +- {returns[j].std():.2f} "
            f"(min {returns[j].min():.1f}, max {returns[j].max():.1f}, mean length {lengths[j].mean():.1f}){partial}",
            file=out,
        )
    final = _final_score(run_dir)
    ref = f" | the run's final total_reward {final:.2f}" if final is not None else ""
    print(f"mean return {result['mean']:.2f} +- {result['std']:.2f} over {returns.size} episodes{ref}", file=out)
    result["final_total_reward"] = final

    if video.lower() != "false":
        path = (
            run_dir / "videos" / f"checkpoint{step}_seed{seeds[idx[0]]}{_default_video_ext()}"
            if video.lower() == "true"
            else pathlib.Path(video)
        )
        first = jax.tree.map(lambda x: x[0], state)
        states, env = record_episode(algo, config, first, eval_keys[0], deterministic, min(max_steps, 1000))
        render = renderer_for(env)
        if render is None:
            print(
                f"rlx.enjoy: no video: {config.env} has no renderer here (gymnax classic control and MuJoCo "
                "Playground envs have one; other sources need render(states) in their adapter)",
                file=out,
            )
        else:
            frames = render(states)
            write_video(frames, path)
            result["video"] = str(path)
            print(f"video: {path} ({len(frames)} frames)", file=out)
    return result


def _final_score(run_dir: pathlib.Path) -> float | None:
    """The mean over seeds of the last log point's total_reward (last-100-episode mean return)."""
    try:
        import csv

        with open(run_dir / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        last = max(int(r["frame"]) for r in rows)
        vals = [float(r["total_reward"]) for r in rows if int(r["frame"]) == last]
        return float(np.nanmean(vals))
    except Exception:
        return None
