"""The GPU device check: every first GPU figure rlx needs, in one prepared call of a few minutes.

Parts, in the order they run (``--parts`` picks and reorders; the number is the issue's item):

====================  ==  ============================================================================
``cartpole``           1  PPO CartPole bench, 4 seeds: compile s, frames/s, score (the sanity row)
``sharding``           6  the same run with ``distributed.devices=1`` (same numbers?), and a few updates
                          with the seed axis on an explicit 1-device mesh against the plain layout
``seeds_64``           2  PPO CartPole with 64 vmapped seeds
``seeds_256``          2  ... and 256: does the seed count scale on the GPU?
``cartpole_balance``   3  Playground CartpoleBalance at its official budget (60e6 frames, 2048 envs),
                          4 seeds: score against SLM-Lab's 968.23, wall time
``mjx_hopper``         4  MJX Hopper (``mjx:Hopper-v5``) PPO frames/s at 2048 envs, a few updates
``cheetah_run``        3  Playground CheetahRun, official num_envs, a fixed number of updates: frames/s
``walker_walk``        3  Playground WalkerWalk, likewise
``envpool_pong``       5  envpool Pong PPO frames/s (bench settings), a fixed number of updates
====================  ==  ============================================================================

Budget: the whole script has ``--budget`` seconds (450 by default; the wheel install takes seconds, so
the command stays inside 8 minutes). Each part has its own time limit; training stops at the chunk that would pass
it (``runner.run``'s ``on_chunk``) and the row says so. A part is skipped, with a line, when its estimate
(its relative compile weight times the mean compile s per weight seen so far, plus its least run time)
does not fit the time left; a part whose packages are missing is skipped with the reason; a part that
raises is recorded as failed with its one-line error, and the next part runs. The JSON (and a markdown
file beside it) is rewritten atomically before and after every part, and a watchdog writes it and
exits when the script overruns its budget by ``--grace`` seconds, so nothing that finished is lost.

frames/s is training throughput over all seeds. Parts 1-3 train through ``runner.run`` end to end:
frames/s over the chunks after the first (one chunk only: that chunk, setup included), compile s is
the runner's ahead-of-time compile, wall s the whole call (env build and the random-policy baseline
it measures once per env after training included). The fixed-update parts (MJX Hopper, CheetahRun,
WalkerWalk, Pong) time ``algo.update`` itself, compiled ahead of time, over the updates after the
first, so no run loop and no baseline compile eat their budget.

``--smoke`` runs the same code path with tiny budgets (1-2 seeds, few envs, 1-3 updates) on CPU; the
test suite runs it (``tests/benchmarks/test_device_check.py``).

    bash benchmarks/device_check.sh                         # on the device: install wheels/, run all
    python benchmarks/device_check.py --smoke --out /tmp/dc.json
    python benchmarks/device_check.py --parts cartpole_balance --budget 300
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.util
import io
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import threading
import time
import traceback

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SLM_LAB_CARTPOLE_BALANCE = 968.23  # ppo_playground, 100e6 frames, 2048 envs (strength)
MD_HEADER = (
    "| item | part | command | seeds x envs | frames/seed | score | compile s | part s | frames/s | status | note |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


@dataclasses.dataclass(frozen=True)
class Part:
    name: str
    item: int
    title: str
    limit_s: float  # the part's own time limit (GPU mode)
    weight: float  # compile cost relative to one PPO CartPole compile
    min_run_s: float  # least training time worth starting for (GPU mode)
    needs: tuple[str, ...] = ()  # top-level modules beyond the core


PG = ("mujoco_playground",)
PARTS = [
    Part("cartpole", 1, "PPO CartPole bench, 4 seeds (sanity)", 60, 1, 5),
    Part("sharding", 6, "same run on 1 device: devices=1 and an explicit 1-device mesh", 45, 1.5, 5),
    Part("seeds_64", 2, "PPO CartPole, 64 vmapped seeds", 45, 1, 5),
    Part("seeds_256", 2, "PPO CartPole, 256 vmapped seeds", 45, 1, 5),
    Part("cartpole_balance", 3, "Playground CartpoleBalance, official budget, 4 seeds", 180, 4, 30, PG),
    Part("mjx_hopper", 4, "MJX Hopper PPO frames/s, 2048 envs", 45, 4, 5, ("brax", "mujoco")),
    Part("cheetah_run", 3, "Playground CheetahRun frames/s, fixed updates", 45, 5, 5, PG),
    Part("walker_walk", 3, "Playground WalkerWalk frames/s, fixed updates", 45, 5, 5, PG),
    Part("envpool_pong", 5, "envpool Pong PPO frames/s, fixed updates", 40, 2, 5, ("envpool",)),
]
PART_NAMES = [p.name for p in PARTS]

# overrides per part: (gpu, smoke); "updates=N" fixes max_frame to N updates
SMOKE_PLAYGROUND = ["num_envs=8", "algo.num_steps=4", "algo.num_unrolls=1", "algo.num_minibatches=2"]
SMOKE_PLAYGROUND += ["algo.num_epochs=1", "num_seeds=1"]
RUNS = {
    "cartpole": (["+bench=classic/cartpole"], ["+bench=classic/cartpole", "num_seeds=2", "updates=3"]),
    "seeds_64": (["+bench=classic/cartpole", "num_seeds=64"], ["+bench=classic/cartpole", "num_seeds=3", "updates=2"]),
    "seeds_256": (
        ["+bench=classic/cartpole", "num_seeds=256"],
        ["+bench=classic/cartpole", "num_seeds=4", "updates=2"],
    ),
    "cartpole_balance": (
        ["+bench=playground/cartpole_balance"],
        ["+bench=playground/cartpole_balance", *SMOKE_PLAYGROUND, "updates=2"],
    ),
    "mjx_hopper": (
        ["+bench=mujoco/hopper", "env=mjx:Hopper-v5", "num_envs=2048", "algo.num_steps=64", "algo.num_minibatches=32"]
        + ["updates=4"],
        ["+bench=mujoco/hopper", "env=mjx:Hopper-v5", "num_envs=8", "algo.num_steps=8", "algo.num_minibatches=2"]
        + ["algo.num_epochs=1", "num_seeds=1", "updates=2"],
    ),
    "cheetah_run": (
        ["+bench=playground/cheetah_run", "updates=4"],
        ["+bench=playground/cheetah_run", *SMOKE_PLAYGROUND, "updates=2"],
    ),
    "walker_walk": (
        ["+bench=playground/walker_walk", "updates=4"],
        ["+bench=playground/walker_walk", *SMOKE_PLAYGROUND, "updates=2"],
    ),
    "envpool_pong": (
        ["+bench=atari/pong", "updates=12"],
        ["+bench=atari/pong", "num_envs=4", "algo.num_steps=8", "algo.num_minibatches=2", "algo.num_epochs=1"]
        + ["num_seeds=1", "updates=2"],
    ),
}
FIXED = ["algo=ppo", "logger.progress=false", "checkpoint.enabled=false"]


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(err).__name__}: {line}"[:300] if line else type(err).__name__


def now_iso() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def missing_modules(names) -> list[str]:
    out = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                out.append(name)
        except (ImportError, ValueError):
            out.append(name)
    return out


def machine_info() -> dict:
    import jax

    devs = jax.devices()
    info = {
        "host": platform.node(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in devs],
        "device_kind": devs[0].device_kind,
    }
    try:
        smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=15)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.SubprocessError):
        info["nvidia_smi"] = None
    import importlib.metadata as md

    vers = {}
    for name in ("jaxlib", "jax-cuda13-plugin", "flax", "optax", "gymnax", "distrax", "hydra-core", "mujoco"):
        with contextlib.suppress(md.PackageNotFoundError):
            vers[name] = md.version(name)
    for name in ("mujoco-mjx", "brax", "playground", "envpool"):
        with contextlib.suppress(md.PackageNotFoundError):
            vers[name] = md.version(name)
    info["versions"] = vers
    return info


def machine_label(info: dict) -> str:
    kind = info["device_kind"] if info["backend"] == "gpu" else f"CPU {info['cpu_count']} cores"
    return f"{info['host'] or 'host'}: {kind}, Python {info['python']}, jax {info['jax']}"


class Check:
    """The run's state: budget, results, estimates, and the files it keeps up to date."""

    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.t0 = time.perf_counter()
        self.budget = args.budget
        self.lock = threading.RLock()
        self.compile_per_weight: list[float] = []
        self.cache: dict = {}  # results later parts compare against (the CartPole run)
        self.out = pathlib.Path(args.out)
        self.md_path = self.out.with_suffix(".md")
        self.data = {
            "schema": 1,
            "smoke": self.smoke,
            "started": now_iso(),
            "budget_s": self.budget,
            "command": " ".join([pathlib.Path(sys.argv[0]).name, *(args.argv or [])]),
            "machine": None,
            "parts": [],
        }

    # ---- time
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def remaining(self) -> float:
        return self.budget - self.elapsed()

    def unit_compile(self) -> float:
        default = 10.0 if self.smoke else 20.0
        seen = self.compile_per_weight  # mean compile s per unit of weight so far
        return sum(seen) / len(seen) if seen else default

    def estimate(self, part: Part) -> float:
        return part.weight * self.unit_compile() + self.min_run(part)

    def limit(self, part: Part) -> float:
        return part.limit_s * (self.args.smoke_scale if self.smoke else 1.0)

    def min_run(self, part: Part) -> float:
        return part.min_run_s * (0.2 if self.smoke else 1.0)

    def saw_compile(self, weight: float, compile_s: float):
        self.compile_per_weight.append(compile_s / weight)

    # ---- files
    def record(self, entry: dict):
        with self.lock:
            parts = self.data["parts"]
            for i, e in enumerate(parts):
                if e["name"] == entry["name"]:
                    parts[i] = entry
                    break
            else:
                parts.append(entry)
            self.write()

    def write(self):
        with self.lock:
            self.data["updated"] = now_iso()
            self.data["elapsed_s"] = round(self.elapsed(), 1)
            self.data["markdown"] = self.markdown()
            self.out.parent.mkdir(parents=True, exist_ok=True)
            for path, text in ((self.out, json.dumps(self.data, indent=2, default=str)), (self.md_path, None)):
                body = text if text is not None else self.data["markdown"] + "\n"
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(body)
                os.replace(tmp, path)

    def markdown(self) -> str:
        info = self.data.get("machine") or {}
        label = machine_label(info) if info else "machine not read yet"
        kind = "CPU smoke figures (not GPU)" if self.smoke else "device figures"
        lines = [f"device check, {kind}: {label}, {self.data['started'][:10]}", "", MD_HEADER]
        for e in self.data["parts"]:
            lines += md_rows(e)
        return "\n".join(lines)


def _fmt(x, spec=",.0f", none="—"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return none
    return format(x, spec)


def md_rows(e: dict) -> list[str]:
    rows = e.get("rows") or []
    status = (
        e["status"] + (f": {e['reason']}" if e.get("reason") else "") + (f": {e['error']}" if e.get("error") else "")
    )
    status = status.replace("|", "/")
    if not rows:
        return [f"| {e['item']} | {e['name']} | — | — | — | — | — | — | — | {status} | {e['title']} |"]
    out = []
    for r in rows:
        score = r.get("score_text") or _fmt(r.get("score"), ".2f")
        out.append(
            f"| {e['item']} | {e['name']} | `{r.get('command', '')}` | {r.get('seeds', '—')} x {r.get('envs', '—')} "
            f"| {_fmt(r.get('frames_per_seed'))} | {score} | {_fmt(r.get('compile_s'), '.1f')} "
            f"| {_fmt(r.get('part_s', r.get('wall_s')), '.1f')} | {_fmt(r.get('fps'))} "
            f"| {status} | {r.get('note', '')} |"
        )
    return out


# ---- training runs


def _overrides(spec: list[str]) -> tuple[list[str], int | None]:
    ovs, updates = [], None
    for s in spec:
        if s.startswith("updates="):
            updates = int(s.split("=", 1)[1])
        else:
            ovs.append(s)
    return ovs, updates


def compose(spec: list[str], extra: list[str] = ()):
    """(config, overrides) for a run spec; ``updates=N`` sets max_frame to N updates of the algorithm."""
    from rlx.algos import algo_module
    from rlx.config import load

    ovs, updates = _overrides(spec)
    ovs = [*ovs, *FIXED, *extra]
    cfg = load(*ovs)
    if updates is not None:
        frames = algo_module(cfg.algo.name).make_algo(cfg).frames_per_update
        ovs.append(f"max_frame={updates * frames}")
        cfg = load(*ovs)
    return cfg, ovs


def train(check: Check, part: Part, spec: list[str], limit_s: float, extra: list[str] = ()):
    """One ``runner.run`` of ``spec``, stopped at the chunk that would pass ``limit_s``; one row."""
    from rlx.experiment import runner

    t_start = time.perf_counter()
    deadline = t_start + limit_s
    cfg, ovs = compose(spec, extra)
    t_call = time.perf_counter()
    chunks: list[tuple[float, int]] = []  # (time, frames/seed) after each chunk

    def on_chunk(frames, score):
        t = time.perf_counter()
        chunks.append((t, int(frames)))
        last = t - chunks[-2][0] if len(chunks) > 1 else 0.0
        return t + last > deadline

    with contextlib.redirect_stdout(io.StringIO()):
        res = runner.run(cfg, run_dir=False, progress_stream=io.StringIO(), on_chunk=on_chunk)
    t_end = time.perf_counter()
    check.saw_compile(part.weight, res.compile_s)
    seeds = cfg.num_seeds
    if len(chunks) >= 2:
        fps = (chunks[-1][1] - chunks[0][1]) * seeds / max(chunks[-1][0] - chunks[0][0], 1e-9)
        fps_how = f"chunks 2-{len(chunks)}"
    elif chunks:
        fps = chunks[0][1] * seeds / max(chunks[0][0] - t_call - res.compile_s, 1e-9)
        fps_how = "1 chunk, setup included"
    else:
        fps, fps_how = float("nan"), "no chunk"
    stopped = bool(chunks) and chunks[-1][1] < cfg.max_frame and res.frames_per_seed < cfg.max_frame
    shown = [o for o in ovs if o not in FIXED[1:]]
    row = {
        "command": "python -m rlx.train " + " ".join(shown),
        "env": cfg.env,
        "seeds": seeds,
        "envs": cfg.num_envs,
        "max_frame": cfg.max_frame,
        "frames_per_seed": int(res.frames_per_seed),
        "score": float(res.trial.get("total_reward_ma", float("nan"))),
        "trial": {k: (float(v) if isinstance(v, int | float) else v) for k, v in res.trial.items()},
        "compile_s": float(res.compile_s),
        "wall_s": float(res.wall_s),
        "part_s": t_end - t_start,
        "after_training_s": t_end - chunks[-1][0] if chunks else None,
        "fps": float(fps),
        "fps_over": fps_how,
        "chunks": len(chunks),
        "stopped_at_limit": stopped,
        "limit_s": round(limit_s, 1),
        "note": "",
    }
    notes = []
    if stopped:
        notes.append(f"stopped at the {limit_s:.0f} s limit: {res.frames_per_seed:,} of {cfg.max_frame:,} frames")
    if row["after_training_s"] is not None and row["after_training_s"] > 5:
        notes.append(f"{row['after_training_s']:.0f} s after training (random-policy baseline)")
    row["note"] = "; ".join(notes)
    return row, res, cfg


def part_cartpole(check: Check, part: Part, limit: float) -> list[dict]:
    row, res, cfg = train(check, part, RUNS["cartpole"][check.smoke], limit)
    check.cache["cartpole"] = (res, cfg, RUNS["cartpole"][check.smoke])
    row["note"] = (row["note"] + "; " if row["note"] else "") + "bench trial 500.00 on CPU (tuning sweep)"
    return [row]


def part_seeds(check: Check, part: Part, limit: float) -> list[dict]:
    row, _, cfg = train(check, part, RUNS[part.name][check.smoke], limit)
    base = check.cache.get("cartpole")
    if base is not None:
        b_res, b_cfg, _ = base
        b_row = next((r for e in check.data["parts"] if e["name"] == "cartpole" for r in e.get("rows", [])), None)
        if b_row and b_row.get("fps") and math.isfinite(b_row["fps"]):
            speedup = row["fps"] / b_row["fps"]
            ideal = cfg.num_seeds / b_cfg.num_seeds
            row["scaling"] = {"fps_vs_cartpole": speedup, "seeds_ratio": ideal, "efficiency": speedup / ideal}
            note = f"{speedup:.1f}x the {b_cfg.num_seeds}-seed frames/s for {ideal:g}x the seeds"
            row["note"] = (row["note"] + "; " if row["note"] else "") + note
    return [row]


def _max_abs_diff(a, b) -> float:
    import jax
    import jax.numpy as jnp

    worst = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        if not (hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)):
            continue
        d = np.nanmax(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))) if np.size(x) else 0.0
        worst = max(worst, float(d))
    return worst


def part_sharding(check: Check, part: Part, limit: float) -> list[dict]:
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from rlx.algos import algo_module
    from rlx.experiment.seeds import seed_keys

    rows = []
    t0 = time.perf_counter()
    base = check.cache.get("cartpole")
    if base is None:
        raise RuntimeError("needs the cartpole part first (its run is the reference)")
    b_res, b_cfg, spec = base
    # (a) the same run, seeds on one device by config
    row, res, cfg = train(check, part, spec, limit * 0.6, ["distributed.devices=1"])
    a, b = np.asarray(res.total_reward), np.asarray(b_res.total_reward)
    m = min(a.shape[-1], b.shape[-1]) if a.ndim == b.ndim == 2 and a.shape[0] == b.shape[0] else 0
    a, b = a[:, :m], b[:, :m]  # the log points both runs reached (a time limit may stop either early)
    same = m > 0 and bool(np.array_equal(a, b, equal_nan=True))
    diff = float(np.nanmax(np.abs(a - b))) if m and np.isfinite(a - b).any() else float("nan")
    row["identical_to_cartpole"] = same
    row["log_points_compared"] = m
    row["max_abs_diff_total_reward"] = diff
    verdict = "identical" if same else f"max diff {diff:.3g}"
    row["score_text"] = f"{row['score']:.2f} ({verdict} over {m} log points)"
    row["note"] = (row["note"] + "; " if row["note"] else "") + "distributed.devices=1 against the cartpole row"
    rows.append(row)
    # (b) a few updates with the seed axis on an explicit 1-device mesh, against jax's default placement
    algo = algo_module(b_cfg.algo.name).make_algo(b_cfg)
    n = b_cfg.num_seeds
    keys = seed_keys(b_cfg.seed, n)
    mesh = Mesh(np.asarray(jax.devices()[:1]), ("seed",))
    sharding = NamedSharding(mesh, PartitionSpec("seed"))
    k_updates = 2
    t1 = time.perf_counter()
    step = jax.jit(jax.vmap(lambda s: algo.update(s)[0]))
    plain = jax.jit(jax.vmap(algo.init))(keys)
    meshed = jax.jit(jax.vmap(algo.init), out_shardings=sharding)(keys)
    for _ in range(k_updates):
        plain, meshed = step(plain), step(meshed)
    jax.block_until_ready((plain, meshed))
    t2 = time.perf_counter()
    d = _max_abs_diff(plain, meshed)
    leaf = next(x for x in jax.tree.leaves(meshed) if hasattr(x, "sharding"))
    rows.append(
        {
            "command": f"jit(vmap(update)) x {k_updates}, state on NamedSharding(Mesh(1 device), P('seed'))",
            "seeds": n,
            "envs": b_cfg.num_envs,
            "frames_per_seed": k_updates * algo.frames_per_update,
            "score": None,
            "score_text": f"max abs diff {d:.3g}",
            "max_abs_diff_state": d,
            "sharding": str(leaf.sharding),
            "wall_s": t2 - t1,
            "part_s": t2 - t0,
            "note": f"{jax.device_count()} device(s); state leaf sharding {type(leaf.sharding).__name__}",
        }
    )
    return rows


def part_playground_balance(check: Check, part: Part, limit: float) -> list[dict]:
    row, res, cfg = train(check, part, RUNS[part.name][check.smoke], limit)
    strength = res.trial.get("strength")
    row["slm_lab"] = SLM_LAB_CARTPOLE_BALANCE
    s_txt = f"{strength:.2f}" if isinstance(strength, float) and math.isfinite(strength) else "—"
    row["score_text"] = f"{row['score']:.2f} (strength {s_txt}; SLM-Lab {SLM_LAB_CARTPOLE_BALANCE})"
    return [row]


def time_updates(check: Check, part: Part, spec: list[str], limit_s: float) -> dict:
    """Frames/s of ``algo.update`` itself, ``updates=N`` times, vmapped over the seeds; one row.

    Compiled ahead of time (init and one update: the compile s); the first update is timed apart
    (warm-up), frames/s is over the others. No run loop and no random-policy baseline, which
    ``runner.run`` measures after training (a second MJX compile for a playground env).
    """
    import jax

    from rlx.algos import algo_module
    from rlx.experiment.seeds import seed_keys

    t_start = time.perf_counter()
    deadline = t_start + limit_s
    ovs, updates = _overrides(spec)
    cfg, ovs = compose(ovs, [])
    updates = updates or 3
    algo = algo_module(cfg.algo.name).make_algo(cfg)
    n, F = cfg.num_seeds, algo.frames_per_update
    keys = seed_keys(cfg.seed, n)
    t0 = time.perf_counter()
    init = jax.jit(jax.vmap(algo.init)).lower(keys).compile()
    state = init(keys)
    step = jax.jit(jax.vmap(lambda s: algo.update(s)[0]), donate_argnums=0).lower(state).compile()
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    check.saw_compile(part.weight, compile_s)
    t1 = time.perf_counter()
    state = jax.block_until_ready(step(state))
    first_s = time.perf_counter() - t1
    done, times = 1, []
    while done < updates:
        last = times[-1] if times else first_s
        # one timed update past the warm-up even when compile overran the part's limit, if the budget allows
        if time.perf_counter() + last > (deadline if times else max(deadline, check.t0 + check.budget)):
            break
        t = time.perf_counter()
        state = jax.block_until_ready(step(state))
        times.append(time.perf_counter() - t)
        done += 1
    fps = len(times) * F * n / sum(times) if times else F * n / first_s
    shown = [o for o in ovs if o not in FIXED[1:] and not o.startswith("max_frame=")]
    row = {
        "command": "python -m rlx.train " + " ".join(shown) + f" (algo.update x {done}, timed)",
        "env": cfg.env,
        "seeds": n,
        "envs": cfg.num_envs,
        "frames_per_update": F,
        "frames_per_seed": done * F,
        "score": None,
        "compile_s": compile_s,
        "first_update_s": first_s,
        "update_s": times,
        "wall_s": time.perf_counter() - t_start,
        "fps": float(fps),
        "fps_over": f"updates 2-{done}" if times else "update 1 only (the warm-up)",
        "stopped_at_limit": done < updates,
        "limit_s": round(limit_s, 1),
        "note": f"frames/s over {len(times) or 1} update(s) of {F:,} frames x {n} seeds; first update {first_s:.1f} s",
    }
    if done < updates:
        row["note"] += f"; stopped at the {limit_s:.0f} s limit after {done} of {updates} updates"
    return row


def part_fixed(check: Check, part: Part, limit: float) -> list[dict]:
    return [time_updates(check, part, RUNS[part.name][check.smoke], limit)]


FUNCS = {
    "cartpole": part_cartpole,
    "sharding": part_sharding,
    "seeds_64": part_seeds,
    "seeds_256": part_seeds,
    "cartpole_balance": part_playground_balance,
    "mjx_hopper": part_fixed,
    "cheetah_run": part_fixed,
    "walker_walk": part_fixed,
    "envpool_pong": part_fixed,
}


def run_part(check: Check, part: Part, func=None):
    func = func or FUNCS[part.name]
    entry = {"name": part.name, "item": part.item, "title": part.title, "status": "running", "started": now_iso()}
    missing = missing_modules(part.needs)
    if missing:
        entry.update(status="skipped", reason=f"missing packages: {', '.join(missing)}")
        check.record(entry)
        return entry
    est, left = check.estimate(part), check.remaining()
    entry["estimate_s"] = round(est, 1)
    if est > left:
        entry.update(status="skipped", reason=f"needs about {est:.0f} s, {max(left, 0):.0f} s left")
        check.record(entry)
        return entry
    limit = min(check.limit(part), left)
    entry["limit_s"] = round(limit, 1)
    check.current = entry
    check.record(entry)
    t0 = time.perf_counter()
    try:
        rows = func(check, part, limit)
        entry.update(status="ok", rows=rows)
        if any(r.get("stopped_at_limit") for r in rows):
            entry["status"] = "ok (stopped at limit)"
    except Exception as err:  # a failed part is a result; the next part runs
        entry.update(status="failed", error=first_line(err), traceback=traceback.format_exc(limit=-8))
    entry["elapsed_s"] = round(time.perf_counter() - t0, 1)
    check.current = None
    check.record(entry)
    return entry


def watchdog(check: Check, seconds: float, names: list[str] = ()):
    def fire():
        with check.lock:
            cur = getattr(check, "current", None)
            if cur is not None:
                cur.update(status="timed out", reason=f"still running {seconds:.0f} s after the start (watchdog)")
                check.record(cur)
            done = {e["name"] for e in check.data["parts"]}
            by_name = {p.name: p for p in PARTS}
            for name in names:
                if name not in done:
                    part = by_name[name]
                    entry = {"name": name, "item": part.item, "title": part.title}
                    check.record({**entry, "status": "skipped", "reason": "not reached (watchdog)"})
            check.data["watchdog"] = f"fired at {seconds:.0f} s"
            check.write()
        out = sys.__stdout__  # the main thread may have stdout redirected
        print(f"device_check: watchdog at {seconds:.0f} s; results so far in {check.out}", file=out, flush=True)
        print(check.markdown(), file=out, flush=True)
        os._exit(3)

    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()
    return t


def default_out() -> str:
    if os.environ.get("OUT"):
        return str(pathlib.Path(os.environ["OUT"]) / "device_check.json")
    return str(ROOT / "runs" / "device_check" / "device_check.json")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny budgets on CPU, the same code path")
    p.add_argument("--parts", default=",".join(PART_NAMES), help="comma list, in run order: " + ", ".join(PART_NAMES))
    p.add_argument("--out", default=None, help="the JSON file ($OUT/device_check.json if OUT is set)")
    p.add_argument("--budget", type=float, default=None, help="seconds for all parts (default 450; smoke 300)")
    p.add_argument("--grace", type=float, default=20.0, help="watchdog: exit this long after the budget")
    p.add_argument("--smoke-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    args.out = args.out or default_out()
    if args.budget is None:
        args.budget = 300.0 if args.smoke else 450.0
    names = [n.strip() for n in args.parts.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PART_NAMES))
    if unknown:
        p.error(f"unknown part(s): {', '.join(unknown)}")
    if args.smoke:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    check = Check(args)
    check.current = None
    dog = watchdog(check, args.budget + args.grace, names)
    try:
        check.data["machine"] = machine_info()
    except Exception as err:
        check.data["machine_error"] = first_line(err)
    check.write()
    print(f"device_check: {len(names)} parts, budget {args.budget:.0f} s, writing {check.out}", flush=True)
    by_name = {p.name: p for p in PARTS}
    for name in names:
        entry = run_part(check, by_name[name])
        print("\n".join(md_rows(entry)), flush=True)
    dog.cancel()
    check.data["finished"] = now_iso()
    check.write()
    print(f"\ndevice_check: done in {check.elapsed():.0f} s; {check.out} and {check.md_path}\n", flush=True)
    print(check.markdown(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
