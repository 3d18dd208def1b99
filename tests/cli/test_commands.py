"""Every command behaves the same at its edges: ``--help`` is usage and exit 0, a bad argument is one
stderr line ``rlx <cmd>: error: ...`` and exit 2, run as users run them (``python -m rlx.<cmd>``)."""

import os
import pathlib
import subprocess
import sys
import tomllib

import pytest

from rlx.cli import common

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMANDS = ("train", "enjoy", "plot", "hub", "search")


def _run(*args, env=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_is_usage_and_exit_0(cmd):
    proc = _run(f"rlx.{cmd}", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: rlx-{cmd}")
    assert "=" in proc.stdout  # the key=value options are listed
    assert proc.stderr == ""


def test_rlx_dispatches_to_the_command():
    proc = _run("rlx", "plot", "--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: rlx-plot")


@pytest.mark.parametrize(
    "cmd, args, message",
    [
        ("enjoy", ["{tmp}", "bogus=1"], "bogus=1: unknown option; allowed: episodes="),
        ("enjoy", ["{tmp}/missing"], "no such run folder"),
        ("plot", ["{tmp}/missing"], "no metrics.csv"),
        ("plot", ["{tmp}", "target=high"], "target: expected float, got 'high'"),
        ("hub", ["frob"], "unknown command 'frob'"),
        ("hub", ["pull", "a", "b", "repo=u/r"], "pull: give one pattern"),
        ("search", ["algo=ppo", "search.algo.lr__normal=[0,1]"], "unknown space 'normal'"),
    ],
)
def test_bad_argument_is_one_line_and_exit_2(cmd, args, message, tmp_path):
    proc = _run(f"rlx.{cmd}", *(a.format(tmp=tmp_path) for a in args))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"rlx {cmd}: error: ") and message in lines[0]


def test_console_scripts_point_at_the_cli_mains():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"rlx": "rlx.cli:main", **{f"rlx-{c}": f"rlx.cli.{c}:main" for c in COMMANDS}}


def test_old_flag_spellings_read_as_key_value():
    options = {"repo": str, "repo_type": str, "force": bool, "labels": list, "target": float}
    defaults = {"repo": None, "repo_type": "model", "force": False, "labels": None, "target": None}
    new = common.parse(["run", "repo=a/b", "repo_type=dataset", "force=true", "labels=[x,y]"], options, defaults)
    old = common.parse(["run", "--repo", "a/b", "--repo-type=dataset", "--force", "--labels", "x,y"], options, defaults)
    assert (
        new
        == old
        == (["run"], {**defaults, "repo": "a/b", "repo_type": "dataset", "force": True, "labels": ["x", "y"]})
    )


@pytest.mark.parametrize(
    "arg, value",
    [("episodes=1e3", 1000), ("seed=null", None), ("labels=[]", []), ("labels=['a b',c]", ["a b", "c"])],
)
def test_values_convert_as_hydra_writes_them(arg, value):
    _, opts = common.parse([arg], {"episodes": int, "seed": int, "labels": list}, {})
    assert opts[arg.split("=")[0]] == value


@pytest.mark.parametrize("arg", ["episodes=1.5", "deterministic=yes", "-x", "--episodes"])
def test_bad_values_are_usage_errors(arg):
    with pytest.raises(common.UsageError):
        common.parse([arg], {"episodes": int, "deterministic": bool}, {})


def test_ctrl_c_is_one_line_and_130(capsys):
    def body():
        raise KeyboardInterrupt

    assert common.run("enjoy", body, interrupted="stopped") == 130
    assert capsys.readouterr().err == "rlx enjoy: stopped\n"


def test_unknown_errors_keep_their_traceback():
    def body():
        raise ZeroDivisionError("a bug, not a bad argument")

    with pytest.raises(ZeroDivisionError):
        common.run("plot", body)


def test_importing_the_replay_sets_no_gl_backend():
    """MUJOCO_GL is the command's choice, made when it runs; a library import must leave it alone."""
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    code = "import os, rlx.evaluate.enjoy; print(os.environ.get('MUJOCO_GL'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None"


@pytest.mark.parametrize(
    "before, after",
    [({}, "egl"), ({"DISPLAY": ":0"}, None), ({"MUJOCO_GL": "osmesa"}, "osmesa")],
)
def test_enjoy_picks_egl_only_when_headless_and_unset(before, after, monkeypatch):
    from rlx.cli import enjoy

    for key in ("MUJOCO_GL", "DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in before.items():
        monkeypatch.setenv(key, value)
    enjoy._headless_gl()
    assert os.environ.get("MUJOCO_GL") == after


def test_train_help_lists_every_key_with_the_value_this_command_line_uses():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "rlx.train", "+bench=classic/pendulum", "algo=sac", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "keys for algo=sac +bench=classic/pendulum:" in lines
    keys = {line.split("=", 1)[0].strip() for line in lines if line.startswith("  ") and "=" in line}
    assert {"max_frame", "num_seeds", "logger.out_dir", "algo.lr", "algo.tau", "algo.batch_size"} <= keys
    tau = next(line for line in lines if line.strip().startswith("algo.tau="))
    assert "[traced" in tau
