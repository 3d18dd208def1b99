"""benchmarks/device_check.py (the one-call GPU check) in --smoke mode, and scripts/device_wheels.py."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import zipfile

import pytest
from scriptload import load_script


dc = load_script("benchmarks/device_check.py")
dw = load_script("scripts/device_wheels.py")


def _check(tmp_path, budget=100.0, smoke=True):
    args = argparse.Namespace(smoke=smoke, budget=budget, out=str(tmp_path / "dc.json"), argv=[], smoke_scale=1.0)
    check = dc.Check(args)
    check.current = None
    return check


def test_smoke_cartpole_writes_json_and_markdown(tmp_path):
    out = tmp_path / "dc.json"
    assert dc.main(["--smoke", "--parts", "cartpole", "--out", str(out), "--budget", "120"]) == 0
    data = json.loads(out.read_text())
    assert data["smoke"] and data["finished"] and data["machine"]["backend"] == "cpu"
    (part,) = data["parts"]
    assert part["name"] == "cartpole" and part["status"] == "ok", part
    (row,) = part["rows"]
    assert row["frames_per_seed"] == 3 * 512 and row["seeds"] == 2 and row["chunks"] == 3
    assert row["compile_s"] > 0 and row["fps"] > 0 and row["command"].startswith("python -m rlx.train +bench=")
    md = out.with_suffix(".md").read_text()
    assert "CPU smoke figures (not GPU)" in md and "| 1 | cartpole |" in md
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave nothing behind


def test_missing_package_budget_and_failure_are_recorded_and_the_run_goes_on(tmp_path):
    check = _check(tmp_path)
    missing = dc.Part("needs_x", 9, "needs a package", 10, 1, 1, ("rlx_no_such_package_xyz",))
    entry = dc.run_part(check, missing, func=lambda *a: pytest.fail("must not run"))
    assert entry["status"] == "skipped" and "rlx_no_such_package_xyz" in entry["reason"]

    def boom(check, part, limit):
        raise ValueError("first line\nsecond line")

    entry = dc.run_part(check, dc.Part("boom", 9, "raises", 10, 1, 1), func=boom)
    assert entry["status"] == "failed" and entry["error"] == "ValueError: first line"

    seen = {}

    def fine(check, part, limit):
        seen["limit"] = limit
        check.saw_compile(part.weight, 3.0)
        return [{"command": "x", "seeds": 1, "envs": 2, "frames_per_seed": 10, "score": 1.5, "fps": 7.0}]

    entry = dc.run_part(check, dc.Part("fine", 9, "works", 10, 1, 1), func=fine)
    assert entry["status"] == "ok" and 0 < seen["limit"] <= 10
    assert check.unit_compile() == 3.0  # estimates now come from what ran

    check.budget = check.elapsed() + 1.0  # 1 s left: a part estimated at 3 s x 2 does not fit
    entry = dc.run_part(check, dc.Part("big", 9, "too big", 10, 2, 1), func=lambda *a: pytest.fail("must not run"))
    assert entry["status"] == "skipped" and entry["reason"].startswith("needs about")

    data = json.loads((tmp_path / "dc.json").read_text())  # rewritten after every part
    assert [e["name"] for e in data["parts"]] == ["needs_x", "boom", "fine", "big"]
    assert [e["status"] for e in data["parts"]] == ["skipped", "failed", "ok", "skipped"]
    md = (tmp_path / "dc.md").read_text()
    assert "failed: ValueError: first line" in md and "| 9 | fine | `x` | 1 x 2 | 10 | 1.50 |" in md


def test_every_part_has_a_run_and_a_function():
    assert set(dc.FUNCS) == set(dc.PART_NAMES)
    for name, (gpu, smoke) in dc.RUNS.items():
        assert name in dc.PART_NAMES and gpu[0].startswith("+bench=") and smoke[0] == gpu[0]
    # CartpoleBalance runs at its official budget and num_envs on the device: no overrides
    assert dc.RUNS["cartpole_balance"][0] == ["+bench=playground/cartpole_balance"]


def test_bundle_plan_keeps_priority_order_under_the_limit():
    assert dw.plan({"core": 10, "mujoco": 30, "envpool": 15}, 50) == (["core", "mujoco"], ["envpool"])
    # once a group does not fit, later ones go to the second bundle too (install order stays meaningful)
    assert dw.plan({"core": 10, "mujoco": 60, "envpool": 1}, 50) == (["core"], ["mujoco", "envpool"])
    assert dw.plan({"core": 10}, 50) == (["core"], [])


def test_slim_wheel_keeps_the_filtered_members_with_a_valid_record(tmp_path):
    src = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("pkg/__init__.py", "x = 1\n")
        z.writestr("pkg/atari/roms/pong.bin", b"\x00" * 64)
        z.writestr("pkg/mujoco/big.so", b"\x01" * 1000)
        z.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
        z.writestr("pkg-1.0.dist-info/RECORD", "stale\n")
    dst = tmp_path / "out" / src.name
    dst.parent.mkdir()
    keep = lambda p: p.endswith(".py") or ".dist-info/" in p or p.startswith("pkg/atari/")
    dw.slim_wheel(src, dst, keep, {"pkg/__init__.py": b"x = 2\n"})
    with zipfile.ZipFile(dst) as z:
        names = set(z.namelist())
        assert z.read("pkg/__init__.py") == b"x = 2\n"
        record = z.read("pkg-1.0.dist-info/RECORD").decode().splitlines()
        data = z.read("pkg/atari/roms/pong.bin")
    assert "pkg/mujoco/big.so" not in names and "pkg/atari/roms/pong.bin" in names
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert f"pkg/atari/roms/pong.bin,sha256={digest},64" in record
    assert record[-1] == "pkg-1.0.dist-info/RECORD,,"
    assert len(record) == len(names)
