"""Runs benches through the real CLI and upserts their rows in BENCHMARKS.md's score table.

Each row: the exact command, frames x seeds, the trial total_reward_ma, SLM-Lab's published figure
(benchmarks/reference, or the copy of its numbers below when that folder is absent), wall time of the
whole command (Python start and compile included), compile time, training frames/s, date, machine.

    python benchmarks/scores.py classic/cartpole:ppo classic/acrobot:ppo classic/pendulum:ppo
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mdtable import ROOT, machine, today  # noqa: E402

SLM_ALGO = {
    "ppo": "PPO",
    "a2c": "A2C",
    "reinforce": "REINFORCE",
    "sarsa": "SARSA",
    "dqn": "DQN",
    "ddqn_per": "DDQN+PER",
    "sac": "SAC",
    "crossq": "CrossQ",
}
# SLM-Lab's published throughput (benchmarks/reference/README.md), frames/s
SLM_FPS = {
    ("CartPole-v1", "PPO"): "315",
    ("CartPole-v1", "A2C"): "3.5k",
    ("CartPole-v1", "DQN"): "1k",
    ("CartPole-v1", "DDQN+PER"): "8k",
    ("CartPole-v1", "REINFORCE"): "14k",
    ("CartPole-v1", "SAC"): "<100",
    ("LunarLander-v3", "PPO"): "2.4k",
    ("LunarLander-v3", "DQN"): "9k",
    ("LunarLanderContinuous-v3", "PPO"): "135",
    ("LunarLanderContinuous-v3", "SAC"): "35",
}
HEADER = (
    "| bench | algo | command | frames x seeds | rlx score | SLM-Lab score | wall s (compile s) "
    "| train frames/s | SLM-Lab frames/s | date | machine |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)
START, END = "<!-- rlx:scores -->", "<!-- /rlx:scores -->"


def slm_reference(env: str, algo: str) -> str:
    path = ROOT / "benchmarks" / "reference" / "slm_lab_benchmarks.csv"
    env = env.split(":", 1)[-1]
    if path.exists():
        with open(path) as f:
            for row in csv.DictReader(f):
                if row["env"] == env and row["algo"] == SLM_ALGO.get(algo, algo):
                    return row["slm_lab_total_reward_ma"] or "none"
    return "none"


def run_bench(bench: str, algo: str, extra: list[str]) -> str:
    with tempfile.TemporaryDirectory() as out:
        args = [f"+bench={bench}", f"algo={algo}", *extra]
        cmd = [
            sys.executable,
            "-m",
            "rlx.train",
            *args,
            f"logger.out_dir={out}",
            "logger.name=run",
            "logger.progress=false",
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"{bench} {algo} failed:\n{proc.stderr[-3000:]}")
        summary = json.loads((pathlib.Path(out) / "run" / "trial_metrics.json").read_text())
    env = summary["env"].split(":", 1)[-1]
    shown = " ".join(["python -m rlx.train", *args])
    fps_ref = SLM_FPS.get((env, SLM_ALGO.get(algo, algo)), "")
    return (
        f"| {bench} | {algo} | `{shown}` | {summary['frames_per_seed']:,} x {summary['num_seeds']} "
        f"| {summary['trial']['total_reward_ma']:.2f} | {slm_reference(env, algo)} "
        f"| {wall:.1f} ({summary['compile_s']:.1f}) | {summary['train_fps']:,.0f} | {fps_ref} "
        f"| {today()} | {machine()} |"
    )


def upsert(rows: list[str], path: pathlib.Path = ROOT / "BENCHMARKS.md"):
    text = path.read_text() if path.exists() else "# rlx benchmarks\n"
    existing: list[str] = []
    if START in text:
        head, rest = text.split(START, 1)
        body, tail = rest.split(END, 1)
        existing = [
            line
            for line in body.splitlines()
            if line.startswith("| ") and not line.startswith("| bench") and not line.startswith("| ---")
        ]
    else:
        head, tail = text.rstrip() + "\n\n", "\n"

    def key(line):
        cells = [c.strip() for c in line.strip("|").split("|")]
        return cells[0], cells[1], cells[2]

    merged = {key(r): r for r in existing}
    for r in rows:
        merged[key(r)] = r
    ordered = sorted(merged.values(), key=lambda r: key(r)[:2])
    block = (
        f"{START}\n## Scores\n\nTrial `total_reward_ma` (mean over seeds of each session's last-100-log-point mean). "
        "Wall time is the whole command, Python start and compile included.\n\n"
        + HEADER
        + "\n"
        + "\n".join(ordered)
        + f"\n{END}"
    )
    path.write_text(head + block + tail)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="bench:algo, e.g. classic/cartpole:ppo")
    p.add_argument("--set", action="append", default=[], help="extra override for every run (key=value)")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    rows = []
    for spec in args.runs:
        bench, algo = spec.split(":")
        row = run_bench(bench, algo, args.set)
        print(row, flush=True)
        rows.append(row)
    if not args.no_write:
        upsert(rows)


if __name__ == "__main__":
    main()
