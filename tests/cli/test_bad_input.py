"""Bad command lines a careful user would try: each is exit status 2, exactly one stderr line that
names the key at fault, and no run folder. They go through ``rlx.cli.train.main``, the function the
``rlx-train`` script calls, in this process (a subprocess per case would import jax each time); a
few at the end go through a real subprocess to prove it is the same path."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from rlx.cli import train

ROOT = pathlib.Path(__file__).resolve().parents[2]
DQN, SAC = "algo=dqn", "algo=sac"

# (command line, what its one line must say: the key at fault and what is allowed); {tmp} is a scratch folder
CASES = [
    # types
    (["num_envs=four"], "num_envs: expected an integer, got 'four'"),
    (["num_envs=2.5"], "num_envs: expected an integer, got 2.5"),
    (["max_frame=abc"], "max_frame: expected an integer, got 'abc'"),
    (["num_seeds=true"], "num_seeds: expected an integer, got True"),
    (["seed=abc"], "seed: expected an integer, got 'abc'"),
    (["algo.lr=abc"], "algo.lr: expected a number, got 'abc'"),
    (["algo.lr=inf"], "algo.lr: expected a number, got inf"),
    (["algo.lr=nan"], "algo.lr: expected a number, got nan"),
    (["algo.lr="], "algo.lr: expected a number, got ''"),
    (["algo.num_steps=1.5"], "algo.num_steps: expected an integer, got 1.5"),
    (["algo.hidden=64"], "algo.hidden: expected a list, got 64"),
    (["algo.hidden=[a,b]"], "algo.hidden[0]: expected an integer, got 'a'"),
    (["env=[CartPole-v1,Acrobot-v1]"], "env: expected a string, got ['CartPole-v1', 'Acrobot-v1']"),
    (["env_kwargs=3"], "env_kwargs: expected a mapping, got 3"),
    (["wrappers.normalize_obs=yes"], "wrappers.normalize_obs: expected true or false, got 'yes'"),
    (["logger.progress=maybe"], "logger.progress: expected true or false, got 'maybe'"),
    (["logger.wandb=1"], "logger.wandb: expected true or false, got 1"),
    (["checkpoint.enabled=maybe"], "checkpoint.enabled: expected true or false, got 'maybe'"),
    (["hub.push_best=sometimes"], "hub.push_best: expected true or false, got 'sometimes'"),
    (["distributed.enabled=maybe"], "distributed.enabled: expected true or false, got 'maybe'"),
    (["distributed.local_device_ids=[a]"], "distributed.local_device_ids[0]: expected an integer, got 'a'"),
    # ranges
    (["seed=-1"], "seed: must be in [0, 2,147,483,647], got -1"),
    (["seed=1e30"], "seed: must be in [0, 2,147,483,647], got 1e+30"),
    (["max_frame=0"], "max_frame: must be in [1, 1,000,000,000,000], got 0"),
    (["max_frame=1e30"], "max_frame: must be in [1, 1,000,000,000,000], got 1e+30"),
    (["num_envs=0"], "num_envs: must be in [1, 1,048,576], got 0"),
    (["num_envs=-4"], "num_envs: must be in [1, 1,048,576], got -4"),
    (["num_envs=1e9"], "num_envs: must be in [1, 1,048,576], got 1000000000"),
    (["num_seeds=0"], "num_seeds: must be in [1, 65,536], got 0"),
    (["num_seeds=1e6"], "num_seeds: must be in [1, 65,536], got 1000000"),
    (["log_frequency=0"], "log_frequency: must be in [1, 1,000,000,000,000], got 0"),
    (["log_frequency=1e13"], "log_frequency: must be in [1, 1,000,000,000,000], got 10000000000000"),
    (["num_chunks=-1"], "num_chunks: must be >= 0, got -1"),
    (["num_chunks=1e6"], "num_chunks: at most the run's 391 updates (0: about 20), got 1,000,000"),
    (["algo.lr=-1"], "algo.lr: must be > 0, got -1.0"),
    (["algo.lr=0"], "algo.lr: must be > 0, got 0.0"),
    (["algo.gamma=1.5"], "algo.gamma: must be in [0, 1], got 1.5"),
    (["algo.gamma=-0.1"], "algo.gamma: must be in [0, 1], got -0.1"),
    (["algo.gae_lambda=2"], "algo.gae_lambda: must be in [0, 1], got 2.0"),
    (["algo.clip_eps=0"], "algo.clip_eps: must be > 0, got 0.0"),
    (["algo.ent_coef=-0.01"], "algo.ent_coef: must be >= 0, got -0.01"),
    (["algo.vf_coef=-1"], "algo.vf_coef: must be >= 0, got -1.0"),
    (["algo.max_grad_norm=0"], "algo.max_grad_norm: must be > 0, got 0.0"),
    (["algo.num_steps=0"], "algo.num_steps: must be > 0, got 0"),
    (["algo.num_epochs=0"], "algo.num_epochs: must be > 0, got 0"),
    (["algo.num_minibatches=0"], "algo.num_minibatches: must be > 0, got 0"),
    (["algo.num_minibatches=7"], "algo.num_minibatches: must divide num_steps x num_envs x num_unrolls = 512, got 7"),
    (["algo.num_unrolls=0"], "algo.num_unrolls: must be > 0, got 0"),
    (["algo.hidden=[]"], "algo.hidden: needs at least one layer, e.g. [64, 64]"),
    (["algo.hidden=[64,-1]"], "algo.hidden: layer sizes must be > 0, got [64, -1]"),
    (["wrappers.clip_obs=0"], "wrappers.clip_obs: must be > 0, got 0.0"),
    (["wrappers.clip_reward=-1"], "wrappers.clip_reward: must be > 0, got -1.0"),
    (["checkpoint.every_chunks=0"], "checkpoint.every_chunks: must be > 0, got 0"),
    (["checkpoint.max_to_keep=0"], "checkpoint.max_to_keep: must be > 0, got 0"),
    (["distributed.devices=-1"], "distributed.devices: must be >= 0, got -1"),
    (["distributed.devices=64"], "distributed.devices: 64 asked for, this machine has "),
    (["distributed.num_processes=0"], "distributed.num_processes: must be -1 (detect) or > 0, got 0"),
    (["distributed.process_id=-5"], "distributed.process_id: must be in [-1, 1,048,576], got -5"),
    (
        ["distributed.coordinator_address=10.0.0.1"],
        "distributed.coordinator_address: must be host:port, got '10.0.0.1'",
    ),
    (
        ["distributed.num_processes=2", "distributed.process_id=2"],
        "distributed.process_id: must be below num_processes=2, got 2",
    ),
    (["logger.out_dir="], "logger.out_dir: must not be empty, got ''"),
    (["logger.name=../../x"], "logger.name: must be a plain folder name (no '/', not '.' or '..'), got '../../x'"),
    (["logger.name=a/b"], "logger.name: must be a plain folder name (no '/', not '.' or '..'), got 'a/b'"),
    (["logger.wandb_project="], "logger.wandb_project: must not be empty, got ''"),
    (["hub.repo_id=not a repo"], "hub.repo_id: must be namespace/name (letters, digits, - _ .), got 'not a repo'"),
    (["hub.repo_id=a/b/c"], "hub.repo_id: must be namespace/name (letters, digits, - _ .), got 'a/b/c'"),
    # choices
    (
        ["algo.activation=sigmoidal"],
        "algo.activation: must be one of: tanh, relu, elu, gelu, silu, swish, leaky_relu, got 'sigmoidal'",
    ),
    (["algo.lr_schedule=cosine"], "algo.lr_schedule: must be one of: constant, linear, got 'cosine'"),
    (["algo.ent_schedule=exp"], "algo.ent_schedule: must be one of: constant, linear, got 'exp'"),
    (["algo.dist=beta"], "algo.dist: must be one of: auto, categorical, normal, tanh_normal, got 'beta'"),
    (["algo.network=transformer"], "algo.network: must be one of: mlp, cnn, got 'transformer'"),
    (["algo.optimizer=lion"], "algo.optimizer: must be one of: adam, adamw, rmsprop, sgd, got 'lion'"),
    (["hub.repo_type=space"], "hub.repo_type: must be one of: model, dataset, got 'space'"),
    # unknown keys, and keys of another algorithm
    (["frobnicate=3"], "frobnicate: unknown key; allowed: algo"),
    (["algo.lrr=0.1"], "algo.lrr: unknown key; allowed: activation"),
    (["evaluation.episodes=5"], "evaluation: unknown key; allowed: algo"),
    (["eval.every=5000"], "eval.every: unknown key; allowed: deterministic, episodes, every_frames, max_steps"),
    (["eval.every_frames=-1000"], "eval.every_frames: must be in [0,"),
    (["eval.every_frames=700"], "eval.every_frames: a multiple of log_frequency (500)"),
    (["eval.episodes=0"], "eval.episodes: must be in [1,"),
    (["eval.max_steps=0"], "eval.max_steps: must be in [1,"),
    (["eval.deterministic=maybe"], "eval.deterministic: expected true or false, got 'maybe'"),
    (["wrappers.bogus=true"], "wrappers.bogus: unknown key; allowed: clip_obs"),
    (["logger.bogus=1"], "logger.bogus: unknown key; allowed: csv"),
    (["checkpoint.bogus=1"], "checkpoint.bogus: unknown key; allowed: enabled"),
    (["distributed.bogus=1"], "distributed.bogus: unknown key; allowed: coordinator_address"),
    (["algo.buffer_size=1000"], "algo.buffer_size: unknown key; allowed: activation"),
    (["algo.tau=0.01"], "algo.tau: unknown key; allowed: activation"),
    (["algo.batch_size=64"], "algo.batch_size: unknown key; allowed: activation"),
    ([DQN, "algo.gae_lambda=0.9"], "algo.gae_lambda: unknown key; allowed: activation"),
    ([DQN, "algo.clip_eps=0.2"], "algo.clip_eps: unknown key; allowed: activation"),
    (["algo=sarsa", "algo.buffer_size=10"], "algo.buffer_size: unknown key; allowed: activation"),
    ([SAC, "algo.num_epochs=4"], "algo.num_epochs: unknown key; allowed: activation"),
    # off-policy and other algorithms' values
    ([DQN, "algo.buffer_size=0"], "algo.buffer_size: must be > 0, got 0"),
    ([DQN, "algo.buffer_size=1e12"], "algo.buffer_size: replay needs "),
    ([DQN, "algo.batch_size=0"], "algo.batch_size: must be > 0, got 0"),
    ([DQN, "algo.tau=0"], "algo.tau: must be in (0, 1], got 0.0"),
    ([DQN, "algo.tau=1.5"], "algo.tau: must be in (0, 1], got 1.5"),
    ([DQN, "algo.target_update=soft"], "algo.target_update: must be one of: hard, polyak, got 'soft'"),
    ([DQN, "algo.loss=l1"], "algo.loss: must be one of: huber, mse, got 'l1'"),
    ([DQN, "algo.explore=ucb"], "algo.explore: must be one of: epsilon_greedy, boltzmann, got 'ucb'"),
    ([DQN, "algo.optimizer=sgd"], "algo.optimizer: must be one of: adam, adamw, rmsprop, got 'sgd'"),
    ([DQN, "algo.n_step=0"], "algo.n_step: must be > 0, got 0"),
    ([DQN, "algo.per_alpha=2"], "algo.per_alpha: must be in [0, 1], got 2.0"),
    ([DQN, "algo.warmup_frames=-1"], "algo.warmup_frames: must be >= 0, got -1"),
    ([SAC, "algo.dist=gaussian"], "algo.dist: must be one of: auto, categorical, tanh_normal, got 'gaussian'"),
    ([SAC, "algo.policy_delay=0"], "algo.policy_delay: must be > 0, got 0"),
    ([SAC, "algo.critic_hidden=[0]"], "algo.critic_hidden: layer sizes must be > 0, got [0]"),
    ([SAC, "algo.network=foo"], "algo.network: must be one of: mlp, cnn, got 'foo'"),
    (["algo=crossq", "algo.network=cnn"], "algo.network: cnn needs image observations (H, W, C), (C, H, W) or (H, W)"),
    (["algo=crossq", "algo.bn_momentum=0"], "algo.bn_momentum: must be in (0, 1], got 0.0"),
    (["algo=reinforce", "algo.incomplete=drop"], "algo.incomplete: must be one of: mask, cut, bootstrap, got 'drop'"),
    (["algo=a2c", "algo.returns=mc"], "algo.returns: must be one of: gae, nstep, got 'mc'"),
    (["algo=sarsa", "algo.optimizer=lion"], "algo.optimizer: must be one of: adam, adamw, rmsprop, sgd, got 'lion'"),
    # env ids, env kwargs, benches, algorithms
    (["env=NoSuchEnv-v9"], "env: unknown env 'NoSuchEnv-v9'; allowed (e.g.): CartPole-v1"),
    (["env="], "env: unknown env ''; allowed (e.g.): CartPole-v1"),
    (["env=playground:NoSuchEnv"], "env: 'NoSuchEnv' is not a playground env; allowed: AcrobotSwingup"),
    (["env=nosource:CartPole-v1"], "env: unknown source 'nosource'; allowed: gymnax"),
    (["env_kwargs.bogus=1"], "env_kwargs: CartPole-v1 does not take ['bogus']"),
    (["bench=classic/nope"], "bench: unknown bench 'classic/nope'; allowed: "),
    (["+bench=nope"], "bench: unknown bench 'nope'; allowed: "),
    (["+bench={tmp}/missing.yaml"], "bench: unknown bench '{tmp}/missing.yaml'; allowed: "),
    (["algo=nope"], "algo: unknown algo 'nope'; allowed: a2c"),
    (["algo=ppo", "algo=dqn"], "algo: given twice (algo=ppo algo=dqn); give one"),
    # Hydra syntax
    (["max_frame"], "max_frame: cannot parse override"),
    (["max_frame=1e5,2e5"], "max_frame: sweeps (a,b,c) are not supported here; give one value"),
    (["~algo.lr"], "algo.lr: deleting keys (~key) is not supported"),
    (["--max_frame=100"], "--max_frame=100: cannot parse override"),
    # resume and checkpoint
    (["resume={tmp}/missing"], "resume: {tmp}/missing: no such run folder"),
    (["resume={tmp}"], "resume: {tmp}: not a run folder (no config.yaml)"),
    (["resume={tmp}/file.txt"], "resume: {tmp}/file.txt: no such run folder"),
    (["resume={tmp}", "max_frame=10"], "resume: takes the run folder and at most checkpoint=<latest|best|update>"),
    (["resume={tmp}", "resume={tmp}"], "resume: takes the run folder and at most checkpoint=<latest|best|update>"),
    (["resume={tmp}", "checkpoint=newest"], "checkpoint: 'newest' is not latest, best or an update number"),
    (["resume={tmp}/sweep", "checkpoint=best"], "checkpoint: a sweep resumes from the step its trials share"),
    (["resume={tmp}/sweep"], "resume: {tmp}/sweep/sweep_spec.json: unreadable"),
    (["checkpoint=best"], "checkpoint=best: picks the checkpoint to resume; give resume=<run folder> with it"),
    # sweeps
    (["sweep.algo.lr__normal=[0,1]"], "sweep.algo.lr__normal: unknown space 'normal'; allowed: __grid"),
    (["sweep.algo.lr__uniform=[1]"], "sweep.algo.lr__uniform: expected [low, high] with low < high, got [1]"),
    (["sweep.algo.bogus=[1,2]"], "sweep: bogus=1: algo.bogus: unknown key; allowed: activation"),
    (["sweep.algo.lr=[a,b]"], "sweep: lr=a: algo.lr: expected a number, got 'a'"),
    (["sweep.algo.num_steps=[0,128]"], "sweep: num_steps=0: algo.num_steps: must be > 0, got 0"),
    (
        ["sweep.algo.lr__loguniform=[1e-4,1e-2]", "sweep.samples=0"],
        "sweep.algo.lr: a sampled dimension needs sweep.samples=N",
    ),
]


def _args(argv: list[str], out: pathlib.Path, tmp: pathlib.Path) -> list[str]:
    args = [a.format(tmp=tmp) for a in argv]
    if any(a.startswith("resume=") for a in args) or any(a.startswith("logger.out_dir") for a in args):
        return args
    return [*args, f"logger.out_dir={out}"]


def _scratch(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    out, tmp = tmp_path / "runs", tmp_path / "scratch"
    tmp.mkdir()
    (tmp / "file.txt").write_text("not a run folder")
    (tmp / "sweep").mkdir()
    (tmp / "sweep" / "sweep_spec.json").write_text("{")  # a sweep folder whose spec was cut short
    return out, tmp


def _check(status: int, err: str, message: str, out: pathlib.Path, tmp: pathlib.Path):
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("rlx train: error: ") and message.format(tmp=tmp) in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir()), "a run folder was created"


def test_the_table_is_large_and_has_no_repeats():
    commands = [tuple(argv) for argv, _ in CASES]
    assert len(commands) >= 80 and len(set(commands)) == len(commands)


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_a_bad_command_line_is_one_line_naming_the_key_exit_2_and_no_run_folder(argv, message, tmp_path, capsys):
    out, tmp = _scratch(tmp_path)
    status = train.main(_args(argv, out, tmp))
    _check(status, capsys.readouterr().err, message, out, tmp)


# a type, a range, an unknown key, a key of another algorithm, a resume
SUBPROCESS = ["num_envs=four", "seed=-1", "frobnicate=3", "algo.buffer_size=1000", "resume={tmp}"]


@pytest.mark.parametrize("command", SUBPROCESS)
def test_the_real_command_answers_the_same(command, tmp_path):
    argv, message = next(case for case in CASES if " ".join(case[0]) == command)
    out, tmp = _scratch(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "rlx.train", *_args(argv, out, tmp)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    _check(proc.returncode, proc.stderr, message, out, tmp)
