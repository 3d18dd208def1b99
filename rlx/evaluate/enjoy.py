"""Replay a trained run: ``rlx-enjoy <run folder> [key=value ...]``.

Loads a checkpoint of the run (``checkpoint=latest|best|<update>``) as one ``Agent`` per seed
(``rlx.evaluate.agent``, the code ``rlx.load`` and the Hub pull use), runs ``episodes`` evaluation
episodes per seed and prints their returns. Options: ``episodes=10``, ``seed=<a seed of the run, as
in metrics.csv>`` (default: all), ``deterministic=false`` (true: the distribution's mode), ``key=0``
(evaluation PRNG seed), ``video=false|true|<path.mp4|.gif>`` (one episode of the first chosen seed),
``max_steps=100000``.

Evaluation never updates normaliser statistics: the agents carry the checkpoint's statistics frozen,
the eval env is a fresh ``num_envs=episodes`` copy of the run's env without normalisers, each env
plays exactly one episode, and its raw return (``EpisodeStats``) counts.
"""

from __future__ import annotations

import os
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

from rlx import envs
from rlx.errors import first_line
from rlx.evaluate.episodes import eval_env, play_episodes


class EnjoyError(RuntimeError):
    """``str(err)`` is the one line the CLI prints."""


# ---------------------------------------------------------------- evaluation


def evaluate_agents(agents, episodes: int, deterministic: bool, key: int, max_steps: int):
    """``(returns, lengths, finished)`` of shape ``(seeds, episodes)``: every agent (one per seed, the
    same network) plays ``episodes`` episodes in one compiled program, vmapped over seeds."""
    env = eval_env(agents[0].config, episodes)
    params = jax.tree.map(lambda *x: jnp.stack(x), *[a.params for a in agents])
    rms = None if agents[0].obs_rms is None else jax.tree.map(lambda *x: jnp.stack(x), *[a.obs_rms for a in agents])
    policy = agents[0].agent_policy
    keys = jax.random.split(jax.random.key(key), len(agents))

    def one(p, r, k):
        return play_episodes(env, lambda obs, k_act: policy(p, r, obs, k_act, deterministic), max_steps, k)

    return jax.device_get(jax.jit(jax.vmap(one, in_axes=(0, None if rms is None else 0, 0)))(params, rms, keys))


def record_episode(agent, key, deterministic: bool, max_steps: int = 1000):
    """``(source-env states of one episode, env)``, or ``(None, env)`` when the env has no renderer
    here (checked first, so a source without one costs no rollout)."""
    env = eval_env(agent.config, 1)
    if renderer_for(env) is None:
        return None, env
    policy = agent.agent_policy
    k_reset, k_loop = jax.random.split(key)
    env_state, obs = env.reset(k_reset)

    def step(c, k):
        env_state, obs, done = c
        k_act, k_env = jax.random.split(k)
        out = env.step(env_state, policy(agent.params, agent.obs_rms, obs, k_act, deterministic), k_env)
        raw = jax.tree.map(lambda x: x[0], _raw_state(env, env_state))
        return (out.state, out.obs, jnp.logical_or(done, out.info["episode_done"][0])), (raw, done)

    _, (raws, done_before) = jax.jit(lambda c, ks: jax.lax.scan(step, c, ks))(
        (env_state, obs, jnp.zeros((), bool)), jax.random.split(k_loop, max_steps)
    )
    raws, done_before = jax.device_get((raws, done_before))
    length = int(np.argmax(done_before)) if done_before.any() else max_steps
    return [jax.tree.map(lambda x, t=t: x[t], raws) for t in range(length)], env


def _raw_state(env, state):
    """The source env's (batched) state under rlx's stateful wrappers."""
    while isinstance(env, envs.Wrapper):
        if getattr(env, "stateful", False):
            state = state.inner
        env = env.env
    return state


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
    from rlx.config import load_run
    from rlx.evaluate.agent import load_seeds

    out = out or sys.stdout
    run_dir = pathlib.Path(run_dir)
    config = load_run(run_dir)
    seeds = [config.seed + i for i in range(config.num_seeds)] if seed is None else [seed]
    agents = load_seeds(run_dir, checkpoint, seeds)
    returns, lengths, finished = evaluate_agents(agents, episodes, deterministic, key, max_steps)
    step = agents[0].checkpoint
    result = {
        "run": str(run_dir),
        "checkpoint": step,
        "deterministic": deterministic,
        "seeds": seeds,
        "returns": returns.tolist(),
        "lengths": lengths.tolist(),
        "mean": float(returns.mean()),
        "std": float(returns.std()),
    }
    mode = "deterministic" if deterministic else "stochastic"
    print(
        f"rlx.enjoy: {config.algo.name} on {config.env}, checkpoint {step}, {episodes} {mode} episodes per seed",
        file=out,
    )
    for j, s in enumerate(seeds):
        partial = "" if finished[j].all() else f" ({int((~finished[j]).sum())} cut at max_steps)"
        print(
            f"  seed {s}: mean return {returns[j].mean():.2f} +- {returns[j].std():.2f} "
            f"(min {returns[j].min():.1f}, max {returns[j].max():.1f}, mean length {lengths[j].mean():.1f}){partial}",
            file=out,
        )
    final = _final_score(run_dir)
    ref = f" | the run's final total_reward {final:.2f}" if final is not None else ""
    print(f"mean return {result['mean']:.2f} +- {result['std']:.2f} over {returns.size} episodes{ref}", file=out)
    result["final_total_reward"] = final
    if video.lower() != "false":
        default = run_dir / "videos" / f"checkpoint{step}_seed{seeds[0]}{_default_video_ext()}"
        path = default if video.lower() == "true" else pathlib.Path(video)
        written = _video(agents[0], path, jax.random.key(key), deterministic, min(max_steps, 1000), out)
        if written:
            result["video"] = str(written)
    return result


def _video(agent, path, key, deterministic, max_steps, out) -> pathlib.Path | None:
    states, env = record_episode(agent, key, deterministic, max_steps)
    if states is None:
        print(
            f"rlx.enjoy: no video: {agent.config.env} has no renderer here (gymnax classic control and MuJoCo "
            "Playground envs have one; for others, play the policy in a Gymnasium env with render_mode="
            "'rgb_array': rlx.load(run).act(obs))",
            file=out,
        )
        return None
    frames = renderer_for(env)(states)
    write_video(frames, path)
    print(f"video: {path} ({len(frames)} frames)", file=out)
    return path


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
