"""A normal (non-editable) install ships the Hydra configs: the CLI runs from the installed package."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_non_editable_install_runs_the_cli(tmp_path):
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert (target / "rlx" / "configs" / "bench" / "classic" / "cartpole.yaml").exists()
    # run from an unrelated folder with only the installed copy on the path (not the checkout)
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import rlx, sys; print(rlx.__file__); from rlx.cli.train import main; "
            "sys.exit(main(['+bench=classic/acrobot', 'max_frame=1024', 'num_seeds=1', 'algo.num_steps=64', "
            f"'logger.out_dir={tmp_path}/runs', 'logger.progress=false']))",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0].startswith(str(target))
    assert "trial_metrics: frame:1.02e+03" in proc.stdout
