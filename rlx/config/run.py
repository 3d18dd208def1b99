"""The run configuration: one trial of one algorithm on one env, and its sub-configs."""

from __future__ import annotations

import dataclasses
from typing import Any

from rlx.config.schema import (
    ConfigError,
    between,
    choice,
    detect_or_positive,
    field,
    folder_name,
    from_dict,
    host_port,
    non_empty,
    non_negative,
    positive,
    repo_id,
)


@dataclasses.dataclass(frozen=True)
class WrapperConfig:
    normalize_obs: bool = False
    normalize_reward: bool = False
    clip_obs: float = field(10.0, check=positive)
    clip_reward: float = field(10.0, check=positive)
    # training-only signals, outside the episode statistics (Atari: Mnih et al. 2015)
    episodic_life: bool = field(False, help="a lost life terminates the training episode")
    sign_reward: bool = field(False, help="train on sign(reward); statistics keep the raw reward")


@dataclasses.dataclass(frozen=True)
class LoggerConfig:
    progress: bool = True
    csv: bool = True
    wandb: bool = False
    out_dir: str = field("runs", check=non_empty)
    name: str | None = field(None, check=folder_name, help="run folder name under out_dir (default: algo_env_time)")
    plot: bool = True
    wandb_project: str = field("rlx", check=non_empty)


@dataclasses.dataclass(frozen=True)
class CheckpointConfig:
    """orbax checkpoints of the whole vmapped train state at chunk boundaries (rlx.experiment.checkpoint)."""

    enabled: bool = True
    every_chunks: int = field(1, check=positive, help="save every N chunks (and always after the last)")
    max_to_keep: int = field(2, check=positive, help="latest checkpoints kept, besides the best one")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation during training (``rlx.evaluate.episodes``): the deterministic policy on fresh envs with
    their own keys and the training normaliser frozen, run inside the chunk program at log points and
    logged as ``eval_return`` (metrics.csv, wandb, plots/eval_return.png, trial_metrics.json). It reads
    the train state and never changes it. As Brax and MuJoCo Playground evaluate between training epochs."""

    every_frames: int = field(
        0, check=between(0, 10**12), help="frames per seed between evaluations, a multiple of log_frequency; 0: off"
    )
    episodes: int = field(10, check=between(1, 2**16), help="episodes per evaluation (one fresh env each)")
    max_steps: int = field(27_000, check=between(1, 10**8), help="an episode still running after this is not counted")
    deterministic: bool = field(True, help="the distribution's mode (false: sample)")


@dataclasses.dataclass(frozen=True)
class HubConfig:
    """Mirror of the run folder to a HuggingFace Hub repo (rlx.hub); the token is never stored."""

    repo_id: str | None = field(None, check=repo_id, help="namespace/name of the Hub repo to push to")
    repo_type: str = field("model", check=choice("model", "dataset"))
    push_best: bool = False


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """Devices and machines (rlx.experiment.parallel): seeds sharded over local devices; multi-host through
    ``jax.distributed.initialize`` (unset fields are detected by jax on SLURM / Open MPI / TPU)."""

    devices: int = field(0, check=non_negative, help="devices to shard the seeds over; 0: all, 1: one")
    enabled: bool = field(False, help="call jax.distributed.initialize (several processes/machines)")
    coordinator_address: str | None = field(None, check=host_port, help="host:port of process 0")
    num_processes: int = field(-1, check=detect_or_positive, help="total processes; -1: detect")
    process_id: int = field(-1, check=between(-1, 2**20), help="this process (0-based); -1: detect")
    local_device_ids: tuple[int, ...] | None = None

    def validate(self):
        if 0 < self.num_processes <= self.process_id:
            return f"process_id: must be below num_processes={self.num_processes}, got {self.process_id}"
        return None


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One trial: ``num_seeds`` sessions of one algorithm on one env, as SLM-Lab counts them."""

    algo: Any  # an algorithm's config dataclass (rlx.algos.ALGOS)
    env: str = "CartPole-v1"
    env_kwargs: dict = field(default_factory=dict)
    num_envs: int = field(4, check=between(1, 2**20))
    max_frame: int = field(200_000, check=between(1, 10**12), help="env steps over all envs of one seed")
    num_seeds: int = field(4, check=between(1, 2**16))
    seed: int = field(0, check=between(0, 2**31 - 1), help="session i trains from jax.random.key(seed + i)")
    log_frequency: int = field(
        500, check=between(1, 10**12), help="frames between log points (above max_frame: the last frame only)"
    )
    num_chunks: int = field(0, check=non_negative, help="host round-trips; 0 picks about 20")
    bench: str | None = None
    wrappers: WrapperConfig = field(default_factory=WrapperConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)


def run_config_from_dict(data: dict) -> RunConfig:
    """Validates a composed config; ``algo.name`` picks the algorithm's schema."""
    from rlx.algos import ALGOS, algo_config_class

    data = dict(data)
    algo = dict(data.pop("algo", None) or {"name": "ppo"})
    name = algo.get("name", "ppo")
    if name not in ALGOS:
        raise ConfigError(f"algo: unknown algorithm {name!r}; allowed: {', '.join(sorted(ALGOS))}")
    algo_cfg = from_dict(algo_config_class(name), algo, "algo")
    data.pop("tuned", None)
    cfg = from_dict(RunConfig, {**data, "algo": algo_cfg})
    from rlx import envs

    try:
        envs.resolve(cfg.env)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return cfg
