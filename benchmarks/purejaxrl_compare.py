"""PPO on CartPole-v1, rlx against PureJaxRL, side by side on one machine (issue 16).

Both programs are ``jit(vmap(train))`` over seeds: PureJaxRL's ``make_train`` from its own
``purejaxrl/ppo.py`` and rlx's ``rlx.algos.ppo.make_train`` with the same hyperparameters (the
``__main__`` config of PureJaxRL's ppo.py). For each seed count: each program is lowered and compiled
ahead of time (``lower().compile()``, timed apart from training), then trained ``--repeats`` times,
alternating PureJaxRL and rlx (P R P R ...) so drifting machine load hits both alike; the table
gives the median train time, frames/s, the final returns (to show both learn) and the load average
before and after. ``--write`` puts the table in BENCHMARKS.md (measure on an otherwise idle machine).

    python benchmarks/purejaxrl_compare.py [--seeds 1 4 16 64] [--repeats 5] [--total-timesteps 5e5] [--write]
    python benchmarks/purejaxrl_compare.py --split [--seeds 1 16] [--repeats 3] [--total-timesteps 1.25e5]

``--split`` says where the time goes instead: each program trained with 1 and with 4 epochs (the rest of its
config unchanged), alternating, medians; a quarter of the difference over 3 is one epoch of minibatch
updates, the remainder the rollout, GAE and bookkeeping. It also times each program's env alone (rlx's
batched CartPole with its wrappers, gymnax's own auto-resetting step, 4 envs, a fixed policy).

PureJaxRL (Chris Lu et al., https://github.com/luchris429/purejaxrl, Apache-2.0) is not copied into
rlx: the script imports its ``purejaxrl/ppo.py`` and ``purejaxrl/wrappers.py`` unmodified from a
checkout, by default ``benchmarks/third_party/purejaxrl`` (git-ignored):

    git clone https://github.com/luchris429/purejaxrl benchmarks/third_party/purejaxrl
    git -C benchmarks/third_party/purejaxrl checkout 146b4856d593bcb4114b9c9fdb45798034696551

(the commit the comparison was written against; ``--purejaxrl DIR`` points elsewhere). It needs
flax, optax, distrax, chex and brax (wrappers.py imports it), all rlx dependencies.

One change around PureJaxRL, none in it: gymnax 1.0 (rlx's floor) steps to ``(obs, state, reward,
terminated, truncated, info)`` with ``terminated``, ``truncated`` and ``final_observation`` added to
``info``; PureJaxRL was written for gymnax 0.0.x's ``(obs, state, reward, done, info)``.
``GymnaxV0`` gives its ``gymnax.make`` the old interface: ``done = terminated or truncated`` and the
old ``info`` (the env's own, here ``discount``), so PureJaxRL computes exactly what it did on gymnax
0.0.x (same reset, same auto-reset, same CartPole dynamics).

Differences that cannot be matched (each is rlx's semantics, kept on purpose):
- truncation: rlx bootstraps a time-limit truncation from V(final observation), which costs one
  extra critic pass over the rollout's 512 next observations per update (about 4% of the CPU time
  at 16 seeds on the 2-core machine: rlx with that pass replaced by the shifted rollout values
  matched PureJaxRL); PureJaxRL merges done flags: a truncation is not bootstrapped at all.
- metrics: rlx's update returns scalars per update (loss terms, KL, clip fraction, grad norm, lr,
  window means of the last 100 episode returns and lengths); PureJaxRL returns its env ``info``
  for every step of every env (five arrays of ``updates x 128 x 4`` per seed). ``DEBUG`` (a host
  print callback every update in PureJaxRL's ``__main__``) is off: rlx prints nothing either.
- learning-rate anneal: PureJaxRL's steps down once per update (``count // (minibatches x epochs)``),
  rlx's decays every gradient step; both from 2.5e-4 to 0 over the run.
- the final return: PureJaxRL's is its own plot statistic, ``returned_episode_returns`` (the
  latest finished episode of each env) averaged over the last update's steps and envs; rlx's is
  ``episode_return``, the mean of the last 100 finished episodes. Both then averaged over seeds.
- frames: PureJaxRL runs ``total // 512`` updates; rlx's ``max_frame`` is set to the same count x 512.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_CHECKOUT = HERE / "third_party" / "purejaxrl"
UPSTREAM_COMMIT = "146b4856d593bcb4114b9c9fdb45798034696551"
SECTION = "purejaxrl_compare"

# PureJaxRL's ppo.py ``__main__`` config, DEBUG off (see the docstring); TOTAL_TIMESTEPS is the CLI's
PJX_CONFIG = {
    "LR": 2.5e-4,
    "NUM_ENVS": 4,
    "NUM_STEPS": 128,
    "UPDATE_EPOCHS": 4,
    "NUM_MINIBATCHES": 4,
    "GAMMA": 0.99,
    "GAE_LAMBDA": 0.95,
    "CLIP_EPS": 0.2,
    "ENT_COEF": 0.01,
    "VF_COEF": 0.5,
    "MAX_GRAD_NORM": 0.5,
    "ACTIVATION": "tanh",
    "ENV_NAME": "CartPole-v1",
    "ANNEAL_LR": True,
    "DEBUG": False,
}
FRAMES_PER_UPDATE = PJX_CONFIG["NUM_ENVS"] * PJX_CONFIG["NUM_STEPS"]


def fail(message: str):
    """A bad argument: one line naming it and what is allowed, status 2, before anything is built."""
    print(f"purejaxrl_compare: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.error = fail  # argparse's own errors: one line too
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 16, 64], help="seed counts, one row each")
    p.add_argument("--repeats", type=int, default=5, help="timed trainings per program and seed count")
    p.add_argument("--total-timesteps", type=float, default=5e5, help="frames per seed (PureJaxRL: 5e5)")
    p.add_argument("--purejaxrl", type=pathlib.Path, default=DEFAULT_CHECKOUT, help="a PureJaxRL checkout")
    p.add_argument("--write", action="store_true", help="upsert the table into BENCHMARKS.md")
    p.add_argument("--split", action="store_true", help="where the time goes: 1 vs 4 epochs, and the env alone")
    args = p.parse_args(argv)
    if any(n < 1 for n in args.seeds):
        fail(f"--seeds: seed counts must be >= 1, got {args.seeds}")
    if args.repeats < 1:
        fail(f"--repeats: must be >= 1, got {args.repeats}")
    if args.total_timesteps < FRAMES_PER_UPDATE:
        fail(f"--total-timesteps: must be >= {FRAMES_PER_UPDATE} (one update), got {args.total_timesteps:g}")
    missing = [f for f in ("ppo.py", "wrappers.py") if not (args.purejaxrl / "purejaxrl" / f).is_file()]
    if missing:
        fail(
            f"--purejaxrl: no purejaxrl/{missing[0]} under {args.purejaxrl}; clone "
            f"https://github.com/luchris429/purejaxrl there (commit {UPSTREAM_COMMIT[:8]})"
        )
    return args


class GymnaxV0:
    """A gymnax 1.0 env behind gymnax 0.0.x's interface, the one PureJaxRL was written for."""

    NEW_INFO = ("terminated", "truncated", "final_observation")

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        return getattr(self._env, name)

    def reset(self, key, params=None):
        return self._env.reset(key, params)

    def step(self, key, state, action, params=None):
        import jax.numpy as jnp

        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = {k: v for k, v in info.items() if k not in self.NEW_INFO}
        return obs, state, reward, jnp.logical_or(terminated, truncated), info


def load_purejaxrl(checkout: pathlib.Path):
    """PureJaxRL's ``purejaxrl.ppo`` module from ``checkout``, its ``gymnax.make`` giving ``GymnaxV0`` envs."""
    import types

    import gymnax

    sys.path.insert(0, str(checkout))
    try:
        from purejaxrl import ppo
    except ImportError as err:  # e.g. later wrappers.py imports navix
        fail(f"--purejaxrl: {checkout} does not import ({err}); check out commit {UPSTREAM_COMMIT[:8]}")

    def make(name, **kwargs):
        env, params = gymnax.make(name, **kwargs)
        return GymnaxV0(env), params

    ppo.gymnax = types.SimpleNamespace(make=make)
    return ppo


def rlx_config(num_updates: int):
    """PureJaxRL's hyperparameters on rlx keys (``rlx.algos.ppo.Config``; the README's notebook route)."""
    from rlx.algos import ppo
    from rlx.config import RunConfig

    c = PJX_CONFIG
    algo = ppo.Config(
        num_steps=c["NUM_STEPS"],
        num_epochs=c["UPDATE_EPOCHS"],
        num_minibatches=c["NUM_MINIBATCHES"],
        hidden=(64, 64),
        activation=c["ACTIVATION"],
        lr=c["LR"],
        lr_schedule="linear" if c["ANNEAL_LR"] else "constant",
        gamma=c["GAMMA"],
        gae_lambda=c["GAE_LAMBDA"],
        clip_eps=c["CLIP_EPS"],
        clip_value=True,  # PureJaxRL clips the value loss with CLIP_EPS
        ent_coef=c["ENT_COEF"],
        ent_schedule="constant",
        vf_coef=c["VF_COEF"],
        max_grad_norm=c["MAX_GRAD_NORM"],
        normalize_advantages=True,  # per minibatch, as PureJaxRL's loss
        separate_optim=False,  # one Adam (eps 1e-5), one global-norm clip
        adam_eps=1e-5,
    )
    return RunConfig(algo=algo, env=c["ENV_NAME"], num_envs=c["NUM_ENVS"], max_frame=num_updates * FRAMES_PER_UPDATE)


def programs(pjx, total_timesteps: float, num_seeds: int, epochs: int | None = None) -> dict:
    """``{name: (compiled train, its seed keys, compile seconds, final return of its output)}``;
    ``epochs`` replaces both programs' update epochs (``--split``)."""
    import dataclasses

    import jax

    from rlx.algos import ppo

    num_updates = int(total_timesteps) // FRAMES_PER_UPDATE
    pjx_config = {**PJX_CONFIG, "TOTAL_TIMESTEPS": num_updates * FRAMES_PER_UPDATE}
    rlx_cfg = rlx_config(num_updates)
    if epochs is not None:
        pjx_config["UPDATE_EPOCHS"] = epochs
        rlx_cfg = dataclasses.replace(rlx_cfg, algo=dataclasses.replace(rlx_cfg.algo, num_epochs=epochs))
    pjx_train = pjx.make_train(pjx_config)

    def pjx_return(out):
        return float(out["metrics"]["returned_episode_returns"][:, -1].mean())

    def rlx_return(out):
        return float(out[1]["episode_return"][:, -1].mean())

    specs = {
        "PureJaxRL": (pjx_train, jax.random.split(jax.random.PRNGKey(0), num_seeds), pjx_return),
        "rlx": (ppo.make_train(rlx_cfg), jax.random.split(jax.random.key(0), num_seeds), rlx_return),
    }
    out = {}
    for name, (train, keys, final_return) in specs.items():
        jax.clear_caches()  # a cold compile for each: no traces or executables from the rows before
        t0 = time.perf_counter()
        compiled = jax.jit(jax.vmap(train)).lower(keys).compile()
        out[name] = (compiled, keys, time.perf_counter() - t0, final_return)
    return out


def measure(pjx, total_timesteps: float, num_seeds: int, repeats: int) -> dict:
    """One seed count: compile both, then ``repeats`` alternating trainings of each."""
    import jax

    load_before = os.getloadavg()[0]
    progs = programs(pjx, total_timesteps, num_seeds)
    wall, cpu = ({name: [] for name in progs} for _ in range(2))
    returns = {}
    for _ in range(repeats):
        for name, (compiled, keys, _, final_return) in progs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            out = jax.block_until_ready(compiled(keys))
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            returns[name] = final_return(out)
            del out
    frames = (int(total_timesteps) // FRAMES_PER_UPDATE) * FRAMES_PER_UPDATE * num_seeds
    row = {"seeds": num_seeds, "frames": frames, "load": (load_before, os.getloadavg()[0])}
    for name, (_, _, compile_s, _) in progs.items():
        train_s = statistics.median(wall[name])
        row[name] = {
            "compile_s": compile_s,
            "train_s": train_s,
            "cpu_s": statistics.median(cpu[name]),
            "fps": frames / train_s,
            "return": returns[name],
        }
    return row


def _timed(compiled: dict, repeats: int) -> dict:
    """``{name: median seconds}`` of ``compiled = {name: (fn, arg)}``, run alternately ``repeats`` times."""
    import jax

    times = {name: [] for name in compiled}
    for _ in range(repeats):
        for name, (fn, arg) in compiled.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(arg))
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def split(pjx, total_timesteps: float, num_seeds: int, repeats: int) -> list[str]:
    """Table rows: each program at 1 and 4 epochs; one epoch = (t4 - t1) / 3, the rest = t1 - one epoch."""
    progs = {}
    for epochs in (1, 4):
        for name, (compiled, keys, _, _) in programs(pjx, total_timesteps, num_seeds, epochs).items():
            progs[(name, epochs)] = (compiled, keys)
    load = os.getloadavg()[0]
    t = _timed(progs, repeats)
    rows = []
    for name in ("PureJaxRL", "rlx"):
        one, four = t[(name, 1)], t[(name, 4)]
        epoch = (four - one) / 3
        rows.append(
            f"| {num_seeds} | {name} | {one:.3f} / {four:.3f} | {epoch:.3f} / {one - epoch:.3f} | "
            f"{4 * epoch / four:.0%} | {load:.2f} / {os.getloadavg()[0]:.2f} |"
        )
    return rows


def env_steps(repeats: int, steps: int = 128 * 244) -> str:
    """us per vector step of 4 CartPole envs: rlx's batched env (VecEnv, AutoReset, EpisodeStats) against
    gymnax's own auto-resetting step, vmapped, under the same fixed policy (push towards the pole's lean)."""
    import gymnax
    import jax
    import jax.numpy as jnp

    from rlx import envs

    n = PJX_CONFIG["NUM_ENVS"]
    env = envs.make(PJX_CONFIG["ENV_NAME"], n)
    genv, params = gymnax.make(PJX_CONFIG["ENV_NAME"])

    def rlx_run(key):
        def step(carry, k):
            out = env.step(carry[0], (carry[1][:, 2] > 0).astype(jnp.int32), k)
            return (out.state, out.obs), out.reward

        return jax.lax.scan(step, env.reset(key), jax.random.split(key, steps))[1].sum()

    def gymnax_run(key):
        obs, state = jax.vmap(genv.reset, (0, None))(jax.random.split(key, n), params)

        def step(carry, k):
            action = (carry[1][:, 2] > 0).astype(jnp.int32)
            batched_step = jax.vmap(genv.step, (0, 0, 0, None))
            obs, state, reward, *_ = batched_step(jax.random.split(k, n), carry[0], action, params)
            return (state, obs), reward

        return jax.lax.scan(step, (state, obs), jax.random.split(key, steps))[1].sum()

    keys = {"rlx env": jax.random.key(0), "gymnax step": jax.random.PRNGKey(0)}
    fns = {"rlx env": rlx_run, "gymnax step": gymnax_run}
    t = _timed({k: (jax.jit(f).lower(keys[k]).compile(), keys[k]) for k, f in fns.items()}, repeats)
    per_step = ", ".join(f"{k} {1e6 * s / steps:.1f} us" for k, s in t.items())
    return f"{per_step} a vector step of {n} envs ({steps:,} steps)"


def table(rows: list[dict], repeats: int) -> str:
    """One row per seed count; pairs are "PureJaxRL / rlx", ratios rlx over PureJaxRL (below 1: rlx faster)."""
    cols = (
        "seeds", "frames (all seeds)", "compile s", "train s", "train s ratio", "CPU s ratio", "frames/s",
        "final return", "load before / after",
    )  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "| --- " * len(cols) + "|"]
    for r in rows:
        p, x = r["PureJaxRL"], r["rlx"]
        cells = (
            str(r["seeds"]),
            f"{r['frames']:,}",
            f"{p['compile_s']:.1f} / {x['compile_s']:.1f}",
            f"{p['train_s']:.2f} / {x['train_s']:.2f}",
            f"{x['train_s'] / p['train_s']:.2f}",
            f"{x['cpu_s'] / p['cpu_s']:.2f}",
            f"{p['fps']:,.0f} / {x['fps']:,.0f}",
            f"{p['return']:.1f} / {x['return']:.1f}",
            f"{r['load'][0]:.2f} / {r['load'][1]:.2f}",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + (
        f"\n\nPairs are PureJaxRL / rlx; ratios are rlx over PureJaxRL (below 1: rlx is faster). Train s: median "
        f"of {repeats} runs alternating the two programs after an AOT compile; CPU s: the process's CPU time over "
        "the same runs (all threads), steadier than wall time when the machine is shared. Load: 1-minute load average."
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(HERE))
    from mdtable import machine, today, write_section

    import jax

    jax.config.update("jax_enable_compilation_cache", False)  # compile times are cold, never a disk hit
    pjx = load_purejaxrl(args.purejaxrl)
    if args.split:
        print("| seeds | program | 1 epoch / 4 epochs s | one epoch / rest s | learning share | load before / after |")
        print("| --- | --- | --- | --- | --- | --- |")
        for n in args.seeds:
            print("\n".join(split(pjx, args.total_timesteps, n, args.repeats)), flush=True)
        print(f"env alone: {env_steps(args.repeats)}. {today()}, {machine()}.")
        return 0
    rows = []
    for n in args.seeds:
        rows.append(measure(pjx, args.total_timesteps, n, args.repeats))
        print(f"seeds {n}: done", file=sys.stderr, flush=True)
    body = table(rows, args.repeats) + f" {today()}, {machine()}."
    print(body)
    if args.write:
        command = "python benchmarks/purejaxrl_compare.py " + " ".join(sys.argv[1:] if argv is None else argv)
        intro = (
            f"`{command.strip()}`: PPO on CartPole-v1 with PureJaxRL's hyperparameters (4 envs x 128 steps, "
            f"4 epochs x 4 minibatches), PureJaxRL's ppo.py at {UPSTREAM_COMMIT[:8]} against rlx's ppo.make_train, "
            "both jit(vmap) over seeds. Differences that cannot be matched: the script's docstring.\n\n"
        )
        write_section(SECTION, "PPO against PureJaxRL (same CPU, side by side)", intro + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
