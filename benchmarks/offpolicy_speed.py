"""Off-policy training frames/s on CartPole (DQN, DDQN+PER, discrete SAC) against SLM-Lab's published rates.

Each algorithm runs with its CartPole bench settings (tuned replay ratio, networks, batch size) for
``--frames`` frames per seed over the bench's seeds, all seeds vmapped in one program; frames/s is
frames x seeds over the training time after compilation. SLM-Lab's rates (benchmarks/reference/README.md):
DQN 1k, DDQN+PER 8k, SAC < 100 frames/s. Writes the "Off-policy speed" section of BENCHMARKS.md.

    python benchmarks/offpolicy_speed.py [--frames 50000] [--algos dqn ddqn_per sac] [--no-write] [--slm-ratio]

Replay ratio: the bench settings do 1 gradient step per vector step of 4 envs (0.25 per frame, batch
128). SLM-Lab's CartPole specs train at every vector step with ``training_iter`` batches x
``training_batch_iter`` steps: ``dqn_boltzmann_cartpole`` and ``ddqn_per_boltzmann_cartpole`` 2 x 2
steps of batch 64, ``sac_cartpole`` ``training_iter`` = num_envs = 4 steps of batch 256, i.e. 1 gradient
step per frame (slm_lab/spec/benchmark/dqn/dqn_cartpole.json, spec/benchmark_arc/*/..._classic_arc.yaml).
``--slm-ratio`` runs that replay ratio and batch size instead (networks stay rlx's bench networks), so the
rate compares like for like; without it the rows are at the bench's own (4x lower) replay ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from mdtable import machine, today, write_section  # noqa: E402

from rlx.experiment import runner  # noqa: E402
from rlx.config.compose import load  # noqa: E402

SLM_FPS = {"dqn": 1_000, "ddqn_per": 8_000, "sac": 100}  # SLM-Lab's CartPole rates (SAC: "<100")
#: SLM-Lab's CartPole replay ratio and batch per algorithm (see the module doc), as rlx overrides
SLM_RATIO = {
    "dqn": ["algo.batches_per_update=2", "algo.grads_per_batch=2", "algo.batch_size=64"],
    "ddqn_per": ["algo.batches_per_update=2", "algo.grads_per_batch=2", "algo.batch_size=64"],
    "sac": ["algo.batches_per_update=4", "algo.grads_per_batch=1", "algo.batch_size=256"],
}


def measure(algo: str, frames: int, bench: str, overrides=()) -> dict:
    cfg = load(f"+bench={bench}", f"algo={algo}", f"max_frame={frames}", "logger.progress=false", *overrides)
    with contextlib.redirect_stdout(io.StringIO()):
        res = runner.run(cfg, run_dir=False)
    done = res.frames_per_seed
    train_s = res.wall_s - res.compile_s
    fps = done * cfg.num_seeds / train_s
    a = cfg.algo
    return {
        "algo": algo,
        "frames": done,
        "seeds": cfg.num_seeds,
        "envs": cfg.num_envs,
        "fps": fps,
        "per_seed": fps / cfg.num_seeds,
        "compile": res.compile_s,
        "train_s": train_s,
        "ratio": a.batches_per_update * a.grads_per_batch / (a.num_steps * cfg.num_envs),
        "batch": a.batch_size,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="classic/cartpole")
    parser.add_argument("--frames", type=int, default=50_000, help="frames per seed")
    parser.add_argument("--algos", nargs="+", default=["dqn", "ddqn_per", "sac"])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--slm-ratio", action="store_true", help="SLM-Lab's replay ratio and batch size")
    args = parser.parse_args(argv)
    runner.enable_compilation_cache()
    lines = []
    for algo in args.algos:
        overrides = SLM_RATIO.get(algo, []) if args.slm_ratio else []
        r = measure(algo, args.frames, args.bench, overrides)
        slm = SLM_FPS.get(algo)
        ratio = r["fps"] / slm if slm else None
        speedup = "n/a" if ratio is None else (f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x")
        slm_txt = "-" if not slm else (f"<{slm}" if algo == "sac" else f"{slm:,}")
        line = (
            f"| `python benchmarks/offpolicy_speed.py --algos {algo} --frames {args.frames}"
            f"{' --slm-ratio' if args.slm_ratio else ''}` | {algo} | "
            f"{r['frames']:,} x {r['seeds']} seeds x {r['envs']} envs | {r['ratio']:.2f} | {r['batch']} | "
            f"{r['fps']:,.0f} | {r['per_seed']:,.0f} | {slm_txt} | "
            f"{speedup} | {r['compile']:.1f} | {today()} | {machine()}, shared machine |"
        )
        print(line, flush=True)
        lines.append(line)
    if not args.no_write:
        body = (
            "Training frames/s on CartPole-v1 with each algorithm's CartPole bench settings, after compile; "
            "`all seeds` counts every seed's frames (the seeds train at once in one vmapped program). "
            "Replay ratio = gradient steps per frame (SLM-Lab's CartPole specs: 1.0; `--slm-ratio` rows use it). "
            "SLM-Lab's rates are its published single-run figures.\n\n"
            "| command | algo | frames | replay ratio | batch | frames/s (all seeds) | frames/s per seed "
            "| SLM-Lab frames/s | all seeds / SLM-Lab | compile s | date | machine |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines)
        )
        write_section("offpolicy_speed", "Off-policy speed (CartPole)", body)


if __name__ == "__main__":
    main()
