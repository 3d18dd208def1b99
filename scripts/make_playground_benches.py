"""Writes rlx/configs/bench/playground/<env_snake_case>.yaml for every env in playground's registry.

The settings come from playground's own Brax PPO parameters (``mujoco_playground.config``:
``dm_control_suite_params`` / ``locomotion_params`` / ``manipulation_params``), translated to rlx's PPO
fields so they mean what they say in Brax:

    Brax                          rlx
    num_envs                      num_envs
    unroll_length                 algo.num_steps
    batch_size * num_minibatches  algo.num_unrolls = batch_size * num_minibatches / num_envs
      (unrolls per update)          (sequential rollouts of num_steps per update, GAE per unroll)
    num_minibatches               algo.num_minibatches
    num_updates_per_batch         algo.num_epochs
    discounting                   algo.gamma
    learning_rate                 algo.lr (constant: Brax's default has no schedule)
    entropy_cost                  algo.ent_coef
    clipping_epsilon (0.3)        algo.clip_eps
    max_grad_norm (None)          algo.max_grad_norm (None: 1e9, i.e. no clipping)
    reward_scaling                algo.reward_scaling
    policy/value hidden sizes     algo.hidden / algo.critic_hidden (swish, Brax's default)
    policy/value obs keys         algo.obs_key / algo.critic_obs_key (asymmetric actor-critic)
    tanh-squashed Normal          algo.dist: tanh_normal (softplus scale + 0.001, Brax's NormalTanh)
    normalize_observations        wrappers.normalize_obs
    action_repeat, episode_length env_kwargs (rlx.envs.playground)
    num_timesteps                 max_frame

and SLM-Lab's figures and targets from benchmarks/reference/slm_lab_benchmarks.csv go in the header.

    python scripts/make_playground_benches.py [--out rlx/configs/bench/playground] [--check]

``--check`` exits 1 when a written file differs from what would be generated (a CI guard).
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "benchmarks" / "reference" / "slm_lab_benchmarks.csv"

# Brax PPO defaults (brax/training/agents/ppo/train.py and networks.py) for keys a config leaves out
BRAX_DEFAULTS = {
    "clipping_epsilon": 0.3,
    "gae_lambda": 0.95,
    "vf_loss_coefficient": 0.5,
    "max_grad_norm": None,
    "policy_hidden_layer_sizes": (32, 32, 32, 32),
    "value_hidden_layer_sizes": (256, 256, 256, 256, 256),
    "policy_obs_key": "state",
    "value_obs_key": "state",
}
NO_CLIP = 1.0e9
LOG_FREQUENCY = 10_000  # SLM-Lab's playground log frequency
NUM_SEEDS = 4


def reference_rows(path=REFERENCE) -> dict:
    rows = {}
    if path.exists():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["suite"] == "playground":
                    rows[row["env"]] = row
    return rows


def brax_params(env_id: str):
    from mujoco_playground.config import dm_control_suite_params, locomotion_params, manipulation_params

    from rlx.envs.playground import suite_of

    suite = suite_of(env_id)
    module = {
        "dm_control_suite": dm_control_suite_params,
        "locomotion": locomotion_params,
        "manipulation": manipulation_params,
    }[suite]
    return suite, module.brax_ppo_config(env_id)


def _get(cfg, key):
    if key in cfg:
        return cfg[key]
    return BRAX_DEFAULTS[key]


def bench_for(env_id: str, ref: dict | None) -> tuple[str, dict]:
    """``(header comment, config dict)`` of one bench file."""
    from mujoco_playground import registry

    suite, rl = brax_params(env_id)
    env_cfg = registry.get_default_config(env_id)
    net = dict(rl.get("network_factory", {}) or {})
    num_envs = int(rl.num_envs)
    unrolls_total = int(rl.batch_size) * int(rl.num_minibatches)
    if unrolls_total % num_envs:
        raise ValueError(f"{env_id}: batch_size x num_minibatches = {unrolls_total} is not a multiple of num_envs")
    action_repeat = int(rl.action_repeat)
    notes = []
    if env_id == "PendulumSwingup" and action_repeat == 1:
        # playground's dm_control_suite_params tests env_name == "PendulumSwingUp" (capital U), which
        # is no registry name, so its intended action_repeat=4 / 4 epochs never apply; SLM-Lab's
        # ppo_playground_pendulum uses them, and so do we.
        action_repeat = 4
        rl.num_updates_per_batch = 4
        notes.append("action_repeat 4 and 4 epochs: playground's intent for PendulumSwingUp (its name check misses)")
    max_grad_norm = _get(rl, "max_grad_norm")
    policy_key = net.get("policy_obs_key", BRAX_DEFAULTS["policy_obs_key"])
    value_key = net.get("value_obs_key", BRAX_DEFAULTS["value_obs_key"])
    algo = {
        "num_steps": int(rl.unroll_length),
        "num_unrolls": unrolls_total // num_envs,
        "num_minibatches": int(rl.num_minibatches),
        "num_epochs": int(rl.num_updates_per_batch),
        "hidden": [int(h) for h in net.get("policy_hidden_layer_sizes", BRAX_DEFAULTS["policy_hidden_layer_sizes"])],
        "critic_hidden": [
            int(h) for h in net.get("value_hidden_layer_sizes", BRAX_DEFAULTS["value_hidden_layer_sizes"])
        ],
        "activation": "swish",
        "dist": "tanh_normal",
        "min_std": 0.001,
        "adam_eps": 1.0e-8,  # optax.adam's default, as Brax uses it
        "lr_schedule": "constant",
        "normalize_advantages": True,
        "normalize_values": False,
        "lr": float(rl.learning_rate),
        "gamma": float(rl.discounting),
        "gae_lambda": float(_get(rl, "gae_lambda")),
        "clip_eps": float(_get(rl, "clipping_epsilon")),
        "vf_coef": float(_get(rl, "vf_loss_coefficient")),
        "ent_coef": float(rl.entropy_cost),
        "max_grad_norm": float(max_grad_norm) if max_grad_norm is not None else NO_CLIP,
        "reward_scaling": float(rl.reward_scaling),
    }
    if policy_key != "state":
        algo["obs_key"] = policy_key
    if value_key != "state":
        algo["critic_obs_key"] = value_key
    data = {
        "env": f"playground:{env_id}",
        "env_kwargs": {
            "impl": "jax",
            "episode_length": int(rl.episode_length),
            "action_repeat": action_repeat,
            "domain_randomization": True,
        },
        "num_envs": num_envs,
        "max_frame": int(rl.num_timesteps),
        "log_frequency": LOG_FREQUENCY,
        "num_seeds": NUM_SEEDS,
        "tuned": {"ppo": {"wrappers": {"normalize_obs": bool(rl.normalize_observations)}, "algo": algo}},
    }
    lines = [
        f"MuJoCo Playground {env_id} ({suite}), generated by scripts/make_playground_benches.py from",
        f"mujoco_playground.config.{suite}_params.brax_ppo_config (playground's official Brax PPO recipe).",
        f"Episode: {int(rl.episode_length)} control steps (ctrl_dt {float(env_cfg.ctrl_dt)} s), "
        f"action repeat {action_repeat}.",
    ]
    if ref:
        fig = ref.get("slm_lab_total_reward_ma") or "none"
        lines.append(
            f"SLM-Lab ({ref['slm_lab_spec_name']}, {ref['max_frame']} frames, {ref['num_envs']} envs): {fig}; "
            f"target {ref.get('target') or 'none'}; note: {ref.get('note') or '-'}."
        )
    else:
        lines.append("SLM-Lab: no published figure.")
    lines += notes
    lines.append("impl: jax (MJX's JAX pipeline); env_kwargs.impl=warp selects MuJoCo Warp (GPU).")
    return "\n".join("# " + line for line in lines), data


def render(header: str, data: dict) -> str:
    from omegaconf import OmegaConf

    return "# @package _global_\n" + header + "\n" + OmegaConf.to_yaml(OmegaConf.create(data))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "rlx" / "configs" / "bench" / "playground"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("envs", nargs="*", help="registry names (default: all)")
    args = parser.parse_args(argv)
    from mujoco_playground import registry

    from rlx.envs.playground import snake_case

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "__init__.py").touch()
    refs = reference_rows()
    from rlx.configs import write_or_check

    envs = args.envs or registry.ALL_ENVS
    files = {out / f"{snake_case(e)}.yaml": render(*bench_for(e, refs.get(e))) for e in envs}
    return write_or_check(files, args.check, "scripts/make_playground_benches.py")


if __name__ == "__main__":
    sys.exit(main())
