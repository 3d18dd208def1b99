"""The experiment lifecycle: checkpoints, resume, replay (enjoy), plots, wandb, HuggingFace Hub mirror.

Most tests share one small finished CartPole PPO run (2 seeds, 40 updates in 8 chunks, every
checkpoint kept) so that the fast suite trains once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx import train
from rlx.cli import enjoy as enjoy_cli
from rlx.cli import hub as hub_cli
from rlx.experiment import checkpoint
from rlx.evaluate import enjoy
from rlx.experiment import hub
from rlx.experiment import runner
from rlx.algos import ppo
from rlx.config.compose import load, load_run

ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL = ("max_frame=20000", "num_seeds=2", "num_chunks=8", "checkpoint.max_to_keep=100", "logger.progress=false")


def _config(tmp: pathlib.Path, name: str, *extra: str):
    return load("+bench=classic/cartpole", "algo=ppo", *SMALL, f"logger.out_dir={tmp}", f"logger.name={name}", *extra)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    result = runner.run(_config(tmp, "full"), tmp / "full")
    return result


def _tree_digest(folder: pathlib.Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(path: pathlib.Path, drop=("wall_s", "fps")) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


def _interrupted_copy(src: pathlib.Path, dst: pathlib.Path, keep: int) -> int:
    """What a kill after the ``keep``-th saved chunk leaves: later checkpoints gone, an interrupted
    save's temporary folder, a row logged after the checkpoint, no trial_metrics.json."""
    shutil.copytree(src, dst)
    steps = sorted(int(p.name) for p in (dst / "checkpoints").iterdir() if p.name.isdigit())
    cut = steps[keep - 1]
    for s in steps:
        if s > cut:
            shutil.rmtree(dst / "checkpoints" / str(s))
    (dst / "checkpoints" / f"{steps[keep]}.orbax-checkpoint-tmp-1234").mkdir()
    (dst / "trial_metrics.json").unlink()
    with open(dst / "metrics.csv") as f:
        lines = f.readlines()
    host = json.loads((dst / "checkpoints" / str(cut) / "host" / "metadata").read_text())
    # rows of the chunk after the checkpoint that were flushed before the kill, plus a torn line
    (dst / "metrics.csv").write_text("".join(lines[: 1 + host["csv_rows"] + 2]) + "0,12")
    return cut


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_roundtrip_is_bit_identical(small_run, tmp_path):
    """The whole vmapped TrainState (params, Adam state, env state, typed PRNG keys) restores exactly."""
    config = load_run(small_run.run_dir)
    algo = ppo.make_algo(config)
    keys = jax.random.split(jax.random.key(7), config.num_seeds)
    state = small_run.state  # trained: non-trivial Adam moments, episode statistics, counters
    ck = checkpoint.Checkpointer(tmp_path, max_to_keep=2)
    ck.save(1, state, {"chunk": 1, "rows_reward": [[1.5, None]]}, score=3.0)
    ck.close()
    restored, host, step = checkpoint.load(tmp_path, jax.eval_shape(jax.vmap(algo.init), keys))
    assert step == 1 and host["chunk"] == 1 and host["rows_reward"] == [[1.5, None]] and host["score"] == 3.0
    assert type(restored) is type(state)
    assert jax.dtypes.issubdtype(restored.key.dtype, jax.dtypes.prng_key)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored), strict=True):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_keeps_latest_and_best(tmp_path):
    ck = checkpoint.Checkpointer(tmp_path, max_to_keep=2)
    state = {"w": jnp.arange(3.0)}
    for step, score in zip(range(1, 7), [1.0, 9.0, 2.0, float("nan"), 3.0, 0.5], strict=True):
        ck.save(step, jax.tree.map(lambda x, step=step: x + step, state), {"chunk": step}, score=score)
    ck.close()
    ck = checkpoint.Checkpointer(tmp_path, write=False)
    assert ck.steps() == [2, 5, 6]  # latest two, and step 2 with the best trial score
    assert checkpoint.resolve_step(ck, "best") == 2 and checkpoint.resolve_step(ck, "latest") == 6
    restored, _, _ = checkpoint.load(tmp_path, jax.eval_shape(lambda: state), "best")
    np.testing.assert_array_equal(restored["w"], np.arange(3.0) + 2)


# ---------------------------------------------------------------- resume


def test_resume_after_interruption_matches_uninterrupted_run(small_run, tmp_path):
    """Resume from a mid-run checkpoint (later ones gone, a torn metrics.csv, a temporary folder of an
    interrupted save): the final trial metrics and every metrics.csv row equal the uninterrupted run."""
    full = small_run.run_dir
    cut = _interrupted_copy(full, tmp_path / "cut", keep=3)
    assert train.main([f"resume={tmp_path / 'cut'}"]) == 0
    resumed = json.loads((tmp_path / "cut" / "trial_metrics.json").read_text())
    original = json.loads((full / "trial_metrics.json").read_text())
    assert resumed["trial"] == original["trial"] and resumed["sessions"] == original["sessions"]
    assert _rows(tmp_path / "cut" / "metrics.csv") == _rows(full / "metrics.csv")
    assert cut < max(int(p.name) for p in (tmp_path / "cut" / "checkpoints").iterdir() if p.name.isdigit())


def _corrupt(step_dir: pathlib.Path):
    for f in (step_dir / "state").rglob("*"):
        if f.is_file():
            f.write_bytes(b"\x00garbage" * 3)


@pytest.mark.parametrize("damage", ["missing folder", "every checkpoint corrupt", "not a run folder"])
def test_resume_bad_checkpoint_one_line_and_folder_untouched(small_run, tmp_path, capsys, damage):
    run = tmp_path / "run"
    if damage != "missing folder":
        shutil.copytree(small_run.run_dir, run)
    if damage == "every checkpoint corrupt":
        for step in (run / "checkpoints").iterdir():
            _corrupt(step)
    elif damage == "not a run folder":
        (run / "config.yaml").unlink()
    before = _tree_digest(run) if run.exists() else None
    capsys.readouterr()
    assert train.main([f"resume={run}"]) == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if not line.startswith("rlx: skipped checkpoint")]
    assert len(lines) == 1 and lines[0].startswith("rlx train: error:"), err
    assert "Traceback" not in err
    assert (_tree_digest(run) if run.exists() else None) == before


def test_a_damaged_newest_checkpoint_is_skipped_and_the_run_ends_as_uninterrupted(small_run, tmp_path, capsys):
    full = small_run.run_dir
    cut = _interrupted_copy(full, tmp_path / "cut", keep=3)
    _corrupt(tmp_path / "cut" / "checkpoints" / str(cut))  # the newest complete save is damaged
    assert train.main([f"resume={tmp_path / 'cut'}"]) == 0
    assert f"rlx: skipped checkpoint {cut}:" in capsys.readouterr().err
    resumed = json.loads((tmp_path / "cut" / "trial_metrics.json").read_text())
    original = json.loads((full / "trial_metrics.json").read_text())
    assert resumed["trial"] == original["trial"]
    assert _rows(tmp_path / "cut" / "metrics.csv") == _rows(full / "metrics.csv")


def test_a_run_killed_before_its_first_checkpoint_starts_over(small_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run.run_dir, run)
    shutil.rmtree(run / "checkpoints")
    (run / "trial_metrics.json").unlink()
    assert train.main([f"resume={run}"]) == 0
    assert "has no checkpoint yet (killed before the first): starting the run over" in capsys.readouterr().err
    assert json.loads((run / "trial_metrics.json").read_text())["trial"] == small_run.trial
    assert _rows(run / "metrics.csv") == _rows(small_run.run_dir / "metrics.csv")


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_a_new_run_into_a_folder_holding_one_is_refused_and_the_folder_untouched(small_run, tmp_path, capsys, kind):
    """The same command twice (a shell's history, a job retried) must not write over the first run:
    one line naming ``resume=``, exit 2, every file as it was."""
    shutil.copytree(small_run.run_dir, tmp_path / "full")
    before = _tree_digest(tmp_path / "full")
    argv = ["+bench=classic/cartpole", "algo=ppo", *SMALL, f"logger.out_dir={tmp_path}", "logger.name=full"]
    if kind == "sweep":
        argv.append("sweep.algo.lr=[1e-3,3e-3]")
    assert train.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "already holds a run" in lines[0] and f"resume={tmp_path / 'full'}" in lines[0]
    assert _tree_digest(tmp_path / "full") == before


def test_resume_takes_no_other_override(capsys, tmp_path):
    assert train.main([f"resume={tmp_path}", "max_frame=10"]) == 2
    assert "resume" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_sigkill_cartpole_ppo_then_resume_equals_uninterrupted(tmp_path):
    """Acceptance: SIGKILL the default CartPole PPO trial (4 seeds, 2e5 frames) mid-way in a
    subprocess; ``resume=`` finishes it with the same trial metrics as an uninterrupted run; then
    ``rlx.enjoy`` on it reports a mean return close to the run's final score."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m", "rlx.train", f"logger.out_dir={tmp_path}", "logger.progress=false"]
    subprocess.run(base + ["logger.name=whole"], check=True, env=env, cwd=ROOT, timeout=300, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen(
        base + ["logger.name=killed"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ckdir = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            steps = [int(p.name) for p in ckdir.iterdir() if p.name.isdigit()] if ckdir.is_dir() else []
            if steps and max(steps) >= 100:  # about a quarter of the 391 updates
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "trial_metrics.json").exists()
    killed_at = max(int(p.name) for p in ckdir.iterdir() if p.name.isdigit())
    assert killed_at < 391
    subprocess.run(
        [sys.executable, "-m", "rlx.train", f"resume={tmp_path / 'killed'}"],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )
    whole = json.loads((tmp_path / "whole" / "trial_metrics.json").read_text())
    resumed = json.loads((tmp_path / "killed" / "trial_metrics.json").read_text())
    assert resumed["trial"] == whole["trial"]
    assert _rows(tmp_path / "killed" / "metrics.csv") == _rows(tmp_path / "whole" / "metrics.csv")

    result = enjoy.enjoy(tmp_path / "killed", episodes=25)
    final = result["final_total_reward"]
    # the run's final total_reward averages the last 100 training episodes of each seed (a slightly
    # older policy); 100 eval episodes of a 4-seed trial have a standard error of about 10-15 here
    assert abs(result["mean"] - final) < max(0.15 * final, 40.0), (result["mean"], final)


# ---------------------------------------------------------------- enjoy


def test_enjoy_reports_returns(small_run, capsys):
    result = enjoy.enjoy(small_run.run_dir, episodes=6, seed=1, deterministic=True)
    out = capsys.readouterr().out
    assert result["seeds"] == [1] and len(result["returns"][0]) == 6
    assert all(1 <= r <= 500 for r in result["returns"][0])  # CartPole returns are episode lengths
    assert result["returns"] == result["lengths"]
    assert "mean return" in out and "seed 1" in out


def test_enjoy_never_updates_normaliser(tmp_path):
    """Evaluation reads the checkpoint's statistics and never changes them: they live in the agent,
    and the eval env has no normaliser of its own."""
    from rlx.envs.wrappers import RunningMeanStd
    from rlx.evaluate.agent import Agent

    config = _config(tmp_path, "norm", "wrappers.normalize_obs=true")
    algo = ppo.make_algo(config)
    seed0 = jax.jit(algo.init)(jax.random.key(0))
    # statistics as training leaves them (set by hand: no training compile needed)
    trained = RunningMeanStd(
        jnp.asarray([0.1, -0.2, 0.03, 0.4]), jnp.asarray([0.5, 2.0, 0.01, 1.5]), jnp.float32(12345.0)
    )
    agent = Agent(config, algo.policy_params(seed0), trained)
    before = [np.asarray(x).copy() for x in jax.tree.leaves(agent.obs_rms)]
    returns, lengths, finished = enjoy.evaluate_agents([agent, agent], 4, False, 3, 1000)
    assert returns.shape == (2, 4) and bool(finished.all()) and float(lengths.min()) >= 1
    for a, b in zip(before, jax.tree.leaves(agent.obs_rms), strict=True):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_enjoy_cli_errors_are_one_line(tmp_path, capsys):
    assert enjoy_cli.main([str(tmp_path / "nope")]) == 2
    assert enjoy_cli.main([str(tmp_path), "bogus=1"]) == 2
    assert enjoy_cli.main([str(tmp_path), "episodes=x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("rlx enjoy: error:") for line in err)


def test_enjoy_writes_video(small_run, tmp_path, capsys):
    pytest.importorskip("pygame")
    pytest.importorskip("gymnasium")
    path = tmp_path / "episode.gif"
    assert enjoy_cli.main([str(small_run.run_dir), "episodes=2", "seed=0", "max_steps=40", f"video={path}"]) == 0
    from PIL import Image

    with Image.open(path) as im:
        assert 5 < im.n_frames <= 40 and im.size[0] > 100
        frame = np.asarray(im.convert("RGB"))
    assert frame.std() > 1.0  # a drawing, not a blank image
    assert f"video: {path}" in capsys.readouterr().out


def test_no_renderer_is_reported_not_raised():
    from rlx.envs import Env

    class Plain(Env):
        name = "plain"

    assert enjoy.renderer_for(Plain()) is None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_playground_episode_video(tmp_path):
    """A MuJoCo Playground episode rendered by MuJoCo (EGL when headless) and written as mp4 and gif."""
    pytest.importorskip("mujoco_playground")
    from rlx import envs

    if "playground" not in envs.SOURCES:
        pytest.skip("no playground source")
    from rlx.evaluate.agent import Agent
    from rlx.evaluate.episodes import action_bounds

    config = load("env=playground:CartpoleBalance", "algo=ppo", "num_envs=2", "num_seeds=1")
    algo = ppo.make_algo(config)
    state = jax.jit(algo.init)(jax.random.key(0))
    agent = Agent(config, algo.policy_params(state), None, 10.0, 1e-8, *action_bounds(algo.env))
    states, env = enjoy.record_episode(agent, jax.random.key(1), False, max_steps=12)
    render = enjoy.renderer_for(env)
    assert render is not None and len(states) == 12
    frames = render(states)
    assert frames[0].shape == (240, 320, 3) and frames[0].std() > 1.0
    for name in ("ep.gif", "ep.mp4"):
        assert enjoy.write_video(frames, tmp_path / name).stat().st_size > 1000


# ---------------------------------------------------------------- plots


def test_run_plots_and_multi_run_overlay(small_run, tmp_path):
    from rlx.cli import plot as plot_cli

    run = small_run.run_dir
    for name in ("total_reward.png", "total_reward_ma.png"):
        assert (run / "plots" / name).stat().st_size > 10_000
    other = tmp_path / "other"
    shutil.copytree(run, other)
    out = tmp_path / "overlay.png"
    assert plot_cli.main([str(run), str(other), "title=CartPole", f"out={out}"]) == 0
    import matplotlib.image

    img = matplotlib.image.imread(out)
    assert img.ndim == 3 and img.shape[0] > 300
    assert plot_cli.main([str(tmp_path / "missing")]) == 2


# ---------------------------------------------------------------- wandb


def _wandb_records(path: pathlib.Path):
    """Records of a ``.wandb`` file (a LevelDB-style log of protobuf records, W&B's transaction log)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, buf, block = 7, b"", 32768
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            yield rec


def test_wandb_offline_logs_metrics_rows_config_and_plots(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    config = _config(tmp_path, "wb", "logger.wandb=true")  # the small run's program: a compile-cache hit
    t0 = time.perf_counter()
    runner.run(config, tmp_path / "wb")
    assert time.perf_counter() - t0 < 120
    assert os.environ.get("WANDB_MODE") == "offline"
    files = list((tmp_path / "wb" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    records = list(_wandb_records(files[0]))
    history = [
        {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in r.history.item}
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]
    rows = _rows(tmp_path / "wb" / "metrics.csv", drop=())
    logged = [h for h in history if "seed0/total_reward" in h]
    assert len(logged) == len(rows) // 2  # one wandb step per log point, two seeds per point
    by_key = {(int(r["seed"]), int(r["frame"])): r for r in rows}
    for h in logged:
        for seed in (0, 1):
            row = by_key[(seed, int(h["frame"]))]
            for k in ("total_reward", "total_reward_ma", "loss", "update"):
                assert h[f"seed{seed}/{k}"] == pytest.approx(float(row[k]), nan_ok=True)
    assert any(k.startswith("plots/") for h in history for k in h)
    run_rec = next(r for r in records if r.WhichOneof("record_type") == "run")
    cfg = {u.key: json.loads(u.value_json) for u in run_rec.run.config.update}
    cfg = {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in cfg.items()}
    assert cfg["env"] == "CartPole-v1" and cfg["algo"]["name"] == "ppo" and cfg["num_seeds"] == 2


# ---------------------------------------------------------------- HuggingFace Hub


class GitMirrorBackend:
    """Upload side of the Hub: the narrowest fake we can justify. The test Hub server (olah) serves
    local git repositories but accepts no uploads, so ``upload_folder`` commits the files into the git
    repository olah serves (same path filters as huggingface_hub, via its ``filter_repo_objects``);
    every read (``list_files``, ``download``) is real huggingface_hub HTTP against the server."""

    def __init__(self, mirrors: pathlib.Path, endpoint: str):
        self.mirrors, self.endpoint = mirrors, endpoint
        self.reader = hub.HfBackend(endpoint)

    def _repo(self, repo_id, repo_type):
        return self.mirrors / f"{repo_type}s" / repo_id

    def _git(self, repo, *args):
        subprocess.run(
            ["git", "-c", "user.name=rlx-test", "-c", "user.email=test@localhost", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    def ensure_repo(self, repo_id, repo_type):
        repo = self._repo(repo_id, repo_type)
        if not (repo / ".git").exists():
            repo.mkdir(parents=True)
            self._git(repo, "init", "-q", "-b", "main")
            self._git(repo, "commit", "-q", "--allow-empty", "-m", "init")
        return f"{self.endpoint}/{repo_id}"

    def upload_folder(self, repo_id, repo_type, folder, path_in_repo, message, ignore=(), delete=()):
        from huggingface_hub.utils import filter_repo_objects

        repo = self._repo(repo_id, repo_type)
        local = [str(p.relative_to(folder)) for p in pathlib.Path(folder).rglob("*") if p.is_file()]
        local = set(filter_repo_objects(local, ignore_patterns=list(ignore) or None))
        target = repo / path_in_repo
        if delete and target.exists():
            remote = [str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()]
            for rel in filter_repo_objects(remote, allow_patterns=list(delete)):
                if rel not in local:
                    (target / rel).unlink()
        for rel in local:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pathlib.Path(folder) / rel, target / rel)
        self._git(repo, "add", "-A")
        self._git(repo, "commit", "-q", "--allow-empty", "-m", message)

    def list_files(self, repo_id, repo_type):
        return self.reader.list_files(repo_id, repo_type)

    def download(self, repo_id, repo_type, patterns, local_dir):
        return self.reader.download(repo_id, repo_type, patterns, local_dir)


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory):
    """A real Hub-compatible HTTP server (olah, offline, loopback only) serving local git repos."""
    pytest.importorskip("olah")
    pytest.importorskip("huggingface_hub")
    root = tmp_path_factory.mktemp("olah")
    mirrors = root / "mirrors"
    mirrors.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "olah.toml").write_text(
        f'[basic]\nhost = "127.0.0.1"\nport = {port}\nrepos-path = "{root / "cache"}"\n'
        f'mirrors-path = ["{mirrors}"]\nmetadata-cache-ttl = 0\n[accessibility]\noffline = true\n'
    )
    exe = pathlib.Path(sys.executable).with_name("olah-cli")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "olah.server"]
    proc = subprocess.Popen(
        cmd + ["-c", str(root / "olah.toml")], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("olah did not start")
            time.sleep(0.2)
    yield mirrors, f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.timeout(300)
def test_hub_push_list_pull_then_replay_and_resume(small_run, hub_server, tmp_path, capsys, monkeypatch):
    """push (git-mirror fake upload) -> list and pull (real HTTP, olah) -> enjoy and resume the pulled run."""
    mirrors, endpoint = hub_server
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_test_secret_token_never_written")
    backend = GitMirrorBackend(mirrors, endpoint)
    interrupted = tmp_path / "local" / "ppo_cut"
    _interrupted_copy(small_run.run_dir, interrupted, keep=4)
    (interrupted / "wandb").mkdir()
    (interrupted / "wandb" / "secret.txt").write_text("not mirrored")
    assert hub_cli.main(["push", str(small_run.run_dir), str(interrupted), "repo=alice/rlx-runs"], backend) == 0
    assert hub_cli.main(["list", "repo=alice/rlx-runs"], backend) == 0
    listed = capsys.readouterr().out.split()
    assert "full" in listed and "ppo_cut" in listed

    dest = tmp_path / "pulled"
    assert hub_cli.main(["pull", "ppo_cut", "repo=alice/rlx-runs", f"dest={dest}"], backend) == 0
    pulled = dest / "ppo_cut"
    assert not (pulled / "wandb").exists()
    assert sorted(p.name for p in (pulled / "checkpoints").iterdir()) == sorted(
        p.name for p in (interrupted / "checkpoints").iterdir() if p.name.isdigit()
    )
    for p in pulled.rglob("*"):
        if p.is_file():
            assert b"hf_test_secret_token" not in p.read_bytes()

    assert hub_cli.main(["pull", "ppo_cut", "repo=alice/rlx-runs", f"dest={dest}"], backend) == 2  # exists
    assert "--force" in capsys.readouterr().err
    result = enjoy.enjoy(pulled, episodes=3)  # replay the pulled run
    assert len(result["returns"]) == 2 and np.isfinite(result["mean"])
    assert train.main([f"resume={pulled}"]) == 0  # and finish it
    resumed = json.loads((pulled / "trial_metrics.json").read_text())
    original = json.loads((small_run.run_dir / "trial_metrics.json").read_text())
    assert resumed["trial"] == original["trial"]

    # a second push mirrors the folder: checkpoints pruned locally disappear remotely
    assert hub_cli.main(["push", str(pulled), "repo=alice/rlx-runs"], backend) == 0
    remote = [
        f for f in hub.HfBackend(endpoint).list_files("alice/rlx-runs", "model") if f.startswith("ppo_cut/checkpoints/")
    ]
    local_steps = {p.name for p in (pulled / "checkpoints").iterdir() if p.name.isdigit()}
    assert {f.split("/")[2] for f in remote} == local_steps


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_run_with_hub_repo_pushes_best_checkpoints_and_the_folder(hub_server, tmp_path, monkeypatch):
    """``hub.repo_id`` + ``hub.push_best``: each new best checkpoint goes up during the run, the whole
    folder at the end (uploads through the git-mirror fake, the listing over HTTP from olah)."""
    mirrors, endpoint = hub_server
    backend = GitMirrorBackend(mirrors, endpoint)
    monkeypatch.setattr(hub, "HfBackend", lambda endpoint=None: backend)
    config = _config(tmp_path, "pushed", "hub.repo_id=bob/live", "hub.push_best=true")
    runner.run(config, tmp_path / "pushed")
    repo = mirrors / "models" / "bob" / "live"
    log = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert sum("best checkpoint" in line for line in log.splitlines()) >= 2
    assert "push run pushed" in log.splitlines()[0]
    remote = backend.list_files("bob/live", "model")
    assert "pushed/trial_metrics.json" in remote and "pushed/plots/total_reward.png" in remote
    local = {p.name for p in (tmp_path / "pushed" / "checkpoints").iterdir() if p.name.isdigit()}
    assert {f.split("/")[2] for f in remote if f.startswith("pushed/checkpoints/")} == local


def test_hub_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RLX_HUB_REPO", raising=False)
    assert hub_cli.main(["list"]) == 2
    assert hub_cli.main(["push", str(tmp_path), "repo=a/b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("rlx hub: error:") for line in err)


def test_load_run_reads_the_saved_config(small_run):
    config = load_run(small_run.run_dir)
    assert config.num_seeds == 2 and config.max_frame == 20000 and config.algo.name == "ppo"


def test_trial_result_counts_frames_trained_not_the_last_log_point(small_run):
    """Speed scripts divide frames trained by time: the result says how many, even when the last
    update ends past the last log point's frame."""
    meta = json.loads((small_run.run_dir / "trial_metrics.json").read_text())
    assert small_run.frames_per_seed == meta["frames_per_seed"] >= int(small_run.frames[-1])
    assert small_run.frames_per_seed % (4 * 128) == 0  # whole updates of 4 envs x 128 steps
