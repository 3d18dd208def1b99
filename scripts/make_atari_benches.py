"""Writes rlx/configs/bench/atari/<game_snake_case>.yaml for every game of SLM-Lab's Atari PPO table.

One file per row of ``benchmarks/reference/slm_lab_atari_ppo.csv`` (ALE v5 through envpool), the
hard-exploration games SLM-Lab skipped included and marked so in their header. Every file has SLM-Lab's
Atari settings (16 envs, 10e6 frames, a log point every 1e4 frames, 4 sessions, v5 sticky actions,
life loss as termination and sign-clipped rewards for training) and four ``tuned`` sections:

    ppo     Pong's settings (CleanRL ppo_atari / Schulman et al. 2017) with the game's best GAE lambda
            from the table's best_spec: ppo_atari(lam0.95) -> 0.95, ppo_atari_lam85 -> 0.85,
            ppo_atari_lam70 -> 0.70; a skipped game keeps ppo_atari's 0.95
    a2c     SB3 RL-Zoo a2c.yml Atari entry (A2C defaults: 5 steps, RMSprop 7e-4; vf 0.25, ent 0.01)
    sac     discrete SAC: CleanRL sac_atari.py (Christodoulou 2019's recipe)
    crossq  discrete CrossQ: SLM-Lab's crossq_atari.yaml (the one published Atari CrossQ setting found)

Every section has ``algo.network: cnn``: PPO and A2C share the Nature CNN (convolutions -> dense 512)
between actor and critic; SAC and CrossQ put its convolutions before their ``hidden`` layers, sized as
the published nets.

    python scripts/make_atari_benches.py [--out rlx/configs/bench/atari] [--check] [GAME ...]

``--check`` exits 1 when a written file differs from what would be generated (a CI guard).
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's rlx (write_or_check), wherever the script runs from
REFERENCE = ROOT / "benchmarks" / "reference" / "slm_lab_atari_ppo.csv"
OUT = ROOT / "rlx" / "configs" / "bench" / "atari"
ALGOS = ("ppo", "a2c", "sac", "crossq")
DEFAULT_LAMBDA = 0.95  # ppo_atari's

ENV_KWARGS = {
    "repeat_action_probability": 0.25,
    "frame_skip": 4,
    "img_height": 84,
    "img_width": 84,
    "gray_scale": True,
    "stack_num": 4,
    "noop_max": 30,
    "use_fire_reset": True,
}

ENV_NOTES = """\
v5: sticky actions 0.25, frame skip 4 (max over the last two frames), 84x84 grayscale, 4-frame
stack, up to 30 no-ops and FIRE at reset, 108k emulator frames per game at most. Training sees
rewards clipped to their sign and a lost life as termination; EpisodeStats (the reported return)
sees the raw full-game score. Frames stay uint8 until the network. envpool's own episodic_life /
reward_clip stay off (their default): rlx's wrappers do both outside the episode statistics."""

# Settings shared by every game; ppo's gae_lambda is the game's.
PPO = {
    "network": "cnn",
    "shared": True,
    "num_steps": 128,
    "num_epochs": 4,
    "num_minibatches": 8,
    "lr": 2.5e-4,
    "lr_schedule": "linear",
    "gamma": 0.99,
    "gae_lambda": DEFAULT_LAMBDA,
    "clip_eps": 0.1,
    "vf_coef": 0.5,
    "ent_coef": 0.01,
    "max_grad_norm": 0.5,
}
PPO_NOTE = """\
PPO on Atari (Schulman et al. 2017; CleanRL ppo_atari.py): Nature CNN shared by actor and critic,
128 steps x 16 envs = 2048 frames an update in 8 minibatches of 256, 4 epochs, lr 2.5e-4 decayed
linearly, clip 0.1. GAE lambda: {lam_note}"""

A2C = {
    "network": "cnn",
    "shared": True,
    "num_steps": 5,
    "returns": "nstep",
    "optimizer": "rmsprop",
    "rmsprop_decay": 0.99,
    "adam_eps": 1.0e-5,
    "separate_optim": False,
    "lr": 7.0e-4,
    "lr_schedule": "constant",
    "gamma": 0.99,
    "vf_coef": 0.25,
    "ent_coef": 0.01,
    "ent_schedule": "constant",
    "max_grad_norm": 0.5,
}
A2C_NOTE = """\
A2C (Mnih et al. 2016, synchronous): SB3 RL-Zoo a2c.yml Atari entry (16 envs, CnnPolicy, ent_coef
0.01, vf_coef 0.25, RMSprop eps 1e-5) on SB3's A2C defaults (n_steps 5, lr 7e-4 constant, gamma
0.99, gae_lambda 1 = the n-step return, RMSprop decay 0.99, max_grad_norm 0.5), one optimiser over a
shared torso. 5 steps x 16 envs = 80 frames an update. SB3 uses RMSpropTFLike (eps inside the
square root); rlx's RMSprop is optax's."""

SAC = {
    "network": "cnn",
    "hidden": [512],
    "batch_size": 64,
    "buffer_size": 200_000,
    "warmup_frames": 20_000,
    "num_steps": 1,
    "batches_per_update": 4,
    "grads_per_batch": 1,
    "lr": 3.0e-4,
    "critic_lr": 3.0e-4,
    "alpha_lr": 3.0e-4,
    "gamma": 0.99,
    "tau": 1.0e-3,
    "init_alpha": 1.0,
    "target_entropy_scale": 0.89,
}
SAC_NOTE = """\
Discrete SAC (Christodoulou 2019) as CleanRL's sac_atari.py: the actor and each of the two Q networks
its own Nature convolutions -> dense 512 -> logits / Q per action; batch 64, Adam 3e-4 for actor,
critics and temperature, gamma 0.99, 2e4 random warm-up frames, target entropy 0.89 log|A|, alpha
from 1. Replay ratio: CleanRL's update_frequency 4 = 1 gradient step per 4 frames: num_steps 1 x 16
envs = 16 frames an update, batches_per_update 4 x grads_per_batch 1 = 4 gradient steps (2.5e6 in
10e6 frames). CleanRL copies the target every 8000 frames (2000 gradient steps, a mean lag of 1000);
rlx's targets are Polyak only: tau 1e-3 has the same mean lag. Replay 2e5 (CleanRL 1e6; SLM-Lab's
sac_atari 2e5): rlx stores obs and next_obs, 56 KB an item, so 1e6 would be 56 GB a seed."""

CROSSQ = {
    "network": "cnn",
    "hidden": [512],
    "critic_hidden": [1024],
    "batch_size": 256,
    "buffer_size": 200_000,
    "warmup_frames": 1000,
    "num_steps": 1,
    "batches_per_update": 1,
    "grads_per_batch": 1,
    "lr": 1.0e-3,
    "critic_lr": 1.0e-3,
    "alpha_lr": 3.0e-5,
    "adam_b1": 0.9,
    "policy_delay": 3,
    "gamma": 0.99,
    "bn_warmup": 5000,
    "max_grad_norm": 0.5,
}
CROSSQ_NOTE = """\
Discrete CrossQ (Bhatt et al. 2024: no target network, batch-renormalised critics, policy delay 3)
as SLM-Lab's crossq_atari.yaml (v14; the paper has no Atari runs): Adam lr 1e-3 (torch's default
beta1 0.9, not the paper's 0.5), temperature lr 3e-5 (SLM-Lab: faster alpha diverged on Pong,
Breakout, Seaquest), batch 256, replay 2e5, 1000 warm-up frames, renorm after 5000 critic steps,
gradient clip 0.5. Replay ratio: SLM-Lab's training_frequency 4 / training_iter 1 counted in frames
over all envs, i.e. 1 gradient step per 16-frame vector step (6.25e5 in 10e6 frames). Networks as
SLM-Lab's: actor Nature convolutions -> dense 512 (no batch renorm); each critic its own convolutions
-> dense 1024 -> batch renorm -> ReLU (the convolutions unnormalised). SLM-Lab ran 2e6 frames."""


def snake_case(name: str) -> str:
    """``MontezumaRevenge`` -> ``montezuma_revenge``, ``UpNDown`` -> ``up_n_down`` (bench file names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def game_of(env_id: str) -> str:
    """``ALE/Breakout-v5`` -> ``Breakout``."""
    return env_id.split("/", 1)[-1].rsplit("-v", 1)[0]


def lambda_of(best_spec: str) -> float | None:
    """SLM-Lab's best GAE lambda from its spec name; None for a skipped game."""
    if not best_spec:
        return None
    m = re.fullmatch(r"ppo_atari\(lam(\d*\.\d+)\)", best_spec)
    if m:
        return float(m.group(1))
    m = re.fullmatch(r"ppo_atari_lam(\d\d)", best_spec)
    if m:
        return int(m.group(1)) / 100
    raise ValueError(f"unknown best_spec {best_spec!r}")


def reference_rows(path=REFERENCE) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _comment(text: str, indent: int) -> str:
    return "".join(" " * indent + ("# " + line).rstrip() + "\n" for line in text.splitlines())


def _yaml(data: dict, indent: int = 0) -> str:
    from omegaconf import OmegaConf

    text = OmegaConf.to_yaml(OmegaConf.create(data))
    return "".join(" " * indent + line + "\n" for line in text.splitlines())


def bench_for(row: dict) -> str:
    """The text of one game's bench file."""
    game = game_of(row["env"])
    lam = lambda_of(row["best_spec"])
    score = row["slm_lab_best_total_reward_ma"]
    skipped = lam is None
    header = [
        f"{game} (ALE v5 semantics, simulated by envpool), generated by scripts/make_atari_benches.py from",
        "benchmarks/reference/slm_lab_atari_ppo.csv, with SLM-Lab's Atari settings: 16 envs, 10e6 frames",
        "(agent steps; 4 emulator frames each), a log point every 1e4 frames, a trial of 4 sessions.",
    ]
    if skipped:
        header += [
            f"Hard-exploration game: SLM-Lab skipped it ({row['note'] or 'no run'}), so there is no",
            f"published figure; PPO keeps ppo_atari's lambda {DEFAULT_LAMBDA}.",
        ]
        lam = DEFAULT_LAMBDA
        lam_note = f"{DEFAULT_LAMBDA} (ppo_atari's; SLM-Lab did not run this hard-exploration game)."
    else:
        header.append(
            f"SLM-Lab's PPO: {score} ({row['best_spec']}: GAE lambda {lam:.2f}, the best of its "
            "0.95 / 0.85 / 0.70 runs)."
        )
        lam_note = f"{lam:.2f}, SLM-Lab's best on this game ({row['best_spec']})."
    header.append("")
    header += ENV_NOTES.splitlines()
    header.append("")
    header.append(
        "Networks: algo.network: cnn (Nature CNN) for every algorithm: shared by actor and critic for ppo, a2c;"
    )
    header.append("sac, crossq: its convolutions, then each network's own dense layers (algo.hidden, critic_hidden).")

    env = {
        "env": f"envpool:{game}-v5",
        "env_kwargs": ENV_KWARGS,
        "num_envs": 16,
        "max_frame": 10_000_000,
        "log_frequency": 10_000,
        "num_seeds": 4,
        "wrappers": {"episodic_life": True, "sign_reward": True},
    }
    sections = {
        "ppo": ({**PPO, "gae_lambda": round(lam, 2)}, PPO_NOTE.format(lam_note=lam_note)),
        "a2c": (A2C, A2C_NOTE),
        "sac": (SAC, SAC_NOTE),
        "crossq": (CROSSQ, CROSSQ_NOTE),
    }
    out = "# @package _global_\n" + _comment("\n".join(header), 0) + _yaml(env) + "tuned:\n"
    for algo in ALGOS:
        fields, note = sections[algo]
        out += f"  {algo}:\n" + _comment(note, 4) + _yaml({"algo": fields}, 4)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("games", nargs="*", help="game names as in the table, e.g. Breakout (default: all)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "__init__.py").touch()
    rows = reference_rows()
    if args.games:
        unknown = set(args.games) - {game_of(r["env"]) for r in rows}
        if unknown:
            parser.error(f"not in {REFERENCE.name}: {', '.join(sorted(unknown))}")
        rows = [r for r in rows if game_of(r["env"]) in args.games]
    from rlx.configs import write_or_check

    files = {out / f"{snake_case(game_of(row['env']))}.yaml": bench_for(row) for row in rows}
    return write_or_check(files, args.check, "scripts/make_atari_benches.py")


if __name__ == "__main__":
    sys.exit(main())
