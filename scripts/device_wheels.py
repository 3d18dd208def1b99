"""Downloads the wheel bundle the GPU device machine lacks, for ``benchmarks/device_check.sh``.

The device machine (one H200, CPython 3.12, no package index) already has jax 0.11.2 with its CUDA 13
plugin, flax, optax, chex, orbax-checkpoint, numpy, matplotlib, scipy, pyyaml, absl-py, etils, lxml,
tensorstore and the rest of its image (``/work/.library/device/KINDS.md``). This script fetches exactly
what rlx needs beyond that, pinned to the dev venv's versions, as CPython 3.12 manylinux x86-64 wheels,
into ``wheels/`` (git-ignored), in three groups:

* ``core``: gymnax, distrax, flashbax, hydra-core, omegaconf, antlr4-python3-runtime (sdist only on
  PyPI: built here into a pure-Python wheel) and their missing needs (gymnasium, tfp-nightly, dm-tree...).
* ``mujoco``: mujoco, mujoco-mjx, brax, playground and their missing needs, for MJX (``impl=jax``)
  only. Left out on purpose, each checked to be not imported on that path: warp-lang (142 MiB, MuJoCo
  Warp, ``impl=warp`` only), mujoco-studio (12 MiB, the viewer), the envpool menagerie asset wheels
  (85 + 87 MiB, locomotion / manipulation robots; the dm_control suite XMLs ship in playground's wheel),
  and mediapy's IPython, brax's flask / tensorboardX (rendering and logging modules rlx never imports).
* ``envpool``: envpool and envpool-assets *slimmed to Atari* (upstream they are 61 + 87 MiB): the
  Atari extension, every ``.py`` file and the Atari ROMs, with each wheel's RECORD rewritten.

Everything is installed with ``--no-deps`` (the image holds the rest; the left-out packages above
would stop a resolving install). The device tool carries 64 MiB per call, the repository included:
groups are placed into ``wheels/`` in the order above while they fit, and a group that does not fit
goes to ``wheels-extra/`` (a second bundle for a second call) with a line saying so.

    python scripts/device_wheels.py                  # all groups; prints sizes and the install line
    python scripts/device_wheels.py --groups core    # only the core group
    python scripts/device_wheels.py --check-pins     # pins against this interpreter's packages, no download
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as md
import pathlib
import shutil
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIMIT_MIB = 64.0
MIB = 1024 * 1024

#: (distribution, version) per group, pinned to /work/main/.venv (pip freeze, 2026-12-01)
GROUPS: dict[str, list[tuple[str, str]]] = {
    "core": [
        ("gymnax", "1.0.1"),
        ("distrax", "0.1.9"),
        ("flashbax", "0.1.3"),
        ("hydra-core", "1.3.8"),
        ("omegaconf", "2.3.1"),
        ("antlr4-python3-runtime", "4.9.3"),
        ("gymnasium", "1.3.0"),
        ("farama-notifications", "0.0.6"),
        ("tfp-nightly", "0.26.0.dev20261027"),
        ("dm-tree", "0.1.10"),
        ("gast", "0.7.0"),
        ("decorator", "5.3.1"),
    ],
    "mujoco": [
        ("mujoco", "4.0.0"),
        ("mujoco-core", "4.0.0"),
        ("mujoco-mjx", "3.17.0"),
        ("brax", "0.14.2"),
        ("playground", "0.2.0"),
        ("jaxopt", "0.8.5"),
        ("trimesh", "5.2.0"),
        ("ml-collections", "1.1.0"),
        ("mediapy", "1.2.7"),
        ("glfw", "2.11.0"),
        ("pyopengl", "3.1.10"),
    ],
    "envpool": [
        ("envpool", "1.2.7"),
        ("envpool-assets", "0.4.1"),
        ("dm-env", "1.6"),
        ("optree", "0.20.0"),
    ],
}
SDIST_ONLY = {"antlr4-python3-runtime"}  # no wheel on PyPI: built here (pure Python)
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
PLATFORMS += ["manylinux1_x86_64"]


def _keep_envpool(path: str) -> bool:
    if path.startswith("envpool.libs/"):  # Qt, for vizdoom / gfootball rendering
        return False
    return (
        path.endswith(".py") or ".dist-info/" in path or path.startswith("envpool/atari/") or path.endswith("py.typed")
    )


def _keep_envpool_assets(path: str) -> bool:
    return path.endswith(".py") or ".dist-info/" in path or path.startswith("envpool_assets/atari/")


#: envpool.entry imports every family's registration, whose package imports its extension: Atari only
_ENVPOOL_ENTRY = b'''"""Entry point for all envs' registration (slimmed to Atari by rlx's scripts/device_wheels.py)."""

import envpool.atari.registration  # noqa: F401
'''

#: distribution -> (member filter, replaced members) for a slimmed copy of its wheel
SLIM = {
    "envpool": (_keep_envpool, {"envpool/entry.py": _ENVPOOL_ENTRY}),
    "envpool-assets": (_keep_envpool_assets, {}),
}


def norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def wheel_dist(filename: str) -> str:
    return norm(filename.split("-", 1)[0])


def find_wheel(folder: pathlib.Path, name: str, version: str) -> pathlib.Path | None:
    for p in sorted(folder.glob("*.whl")):
        parts = p.name.split("-")
        if wheel_dist(p.name) == norm(name) and parts[1] == version:
            return p
    return None


def download(name: str, version: str, cache: pathlib.Path, python: str = sys.executable) -> pathlib.Path:
    """The wheel of ``name==version`` in ``cache``, fetched with pip when it is not there yet."""
    found = find_wheel(cache, name, version)
    if found:
        return found
    spec = f"{name}=={version}"
    if name in SDIST_ONLY:
        cmd = [python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-binary", name, "-w", str(cache), spec]
    else:
        plat = [a for p in PLATFORMS for a in ("--platform", p)]
        cmd = [python, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12"]
        cmd += ["--implementation", "cp", *plat, "-d", str(cache), spec]
    subprocess.run(cmd, check=True)
    found = find_wheel(cache, name, version)
    if found is None:
        raise SystemExit(f"device_wheels: pip fetched no wheel for {spec}")
    return found


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def slim_wheel(src: pathlib.Path, dst: pathlib.Path, keep, replace: dict[str, bytes] | None = None) -> None:
    """A copy of wheel ``src`` holding only the members ``keep(path)`` accepts (``replace``: new contents
    for some of them), with a rewritten RECORD."""
    replace = replace or {}
    tmp = dst.with_suffix(".part")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        record = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        lines = []
        for info in zin.infolist():
            if info.filename == record or info.is_dir() or not keep(info.filename):
                continue
            data = replace.get(info.filename) or zin.read(info)
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            lines.append(f"{info.filename},{_record_hash(data)},{len(data)}")
        lines.append(f"{record},,")
        zout.writestr(record, "\n".join(lines) + "\n")
    tmp.replace(dst)


def tree_bytes() -> int:
    """What the repository itself sends with each call (tracked files and untracked ones git does not ignore)."""
    cmd = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 2 * MIB
    return sum((ROOT / p).stat().st_size for p in out.decode().split("\0") if p and (ROOT / p).is_file())


def check_pins() -> list[str]:
    """Pins that differ from this interpreter's installed versions (packages not installed are skipped)."""
    bad = []
    for group, pins in GROUPS.items():
        for name, version in pins:
            try:
                have = md.version(name)
            except md.PackageNotFoundError:
                continue
            if have != version:
                bad.append(f"{group}: {name} pinned {version}, installed {have}")
    return bad


def plan(sizes: dict[str, int], limit: int) -> tuple[list[str], list[str]]:
    """Groups (in priority order) that fit together under ``limit`` bytes, and those that do not."""
    fit, rest, used = [], [], 0
    for group, size in sizes.items():
        if not rest and used + size <= limit:
            fit.append(group)
            used += size
        else:
            rest.append(group)
    return fit, rest


INSTALL = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "
    "--target /tmp/rlx-site {dir}/*.whl && export PYTHONPATH=/tmp/rlx-site:$PWD"
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--groups", default=",".join(GROUPS), help="comma list of " + ", ".join(GROUPS))
    p.add_argument("--dir", default=str(ROOT / "wheels"), help="the bundle carried to the device")
    p.add_argument("--extra-dir", default=str(ROOT / "wheels-extra"), help="groups that do not fit the first")
    p.add_argument("--cache", default=str(ROOT / ".wheels-cache"), help="downloads, never carried")
    p.add_argument("--limit-mib", type=float, default=LIMIT_MIB, help="what the device tool carries per call")
    p.add_argument("--check-pins", action="store_true", help="compare pins with this interpreter's packages, exit")
    args = p.parse_args(argv)
    if args.check_pins:
        bad = check_pins()
        print("\n".join(bad) if bad else "device_wheels: every installed pin matches")
        return 1 if bad else 0
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        p.error(f"unknown group(s): {', '.join(unknown)}")
    cache, out, extra = pathlib.Path(args.cache), pathlib.Path(args.dir), pathlib.Path(args.extra_dir)
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / "bundle"
    shutil.rmtree(staging, ignore_errors=True)
    files: dict[str, list[pathlib.Path]] = {}
    for group in groups:
        (staging / group).mkdir(parents=True)
        files[group] = []
        for name, version in GROUPS[group]:
            src = download(name, version, cache)
            dst = staging / group / src.name
            if name in SLIM:
                slim_wheel(src, dst, *SLIM[name])
            else:
                shutil.copy2(src, dst)
            files[group].append(dst)
    sizes = {g: sum(f.stat().st_size for f in fs) for g, fs in files.items()}
    tree = tree_bytes()
    limit = int(args.limit_mib * MIB) - tree - MIB // 2  # the repository and a margin travel too
    fit, rest = plan(sizes, limit)
    for folder in (out, extra):
        shutil.rmtree(folder, ignore_errors=True)
    for group in groups:
        dest = out if group in fit else extra
        dest.mkdir(parents=True, exist_ok=True)
        for f in files[group]:
            shutil.move(str(f), dest / f.name)
    shutil.rmtree(staging, ignore_errors=True)
    for group in groups:
        slim = [n for n, _ in GROUPS[group] if n in SLIM]
        note = f" (slimmed: {', '.join(slim)})" if slim else ""
        where = out.name if group in fit else extra.name
        print(
            f"device_wheels: {group:8s} {len(files[group]):3d} wheels {sizes[group] / MIB:7.2f} MiB -> {where}/{note}"
        )
    total = sum(sizes[g] for g in fit)
    print(
        f"device_wheels: {out.name}/ {total / MIB:.2f} MiB + repository {tree / MIB:.2f} MiB = "
        f"{(total + tree) / MIB:.2f} MiB of the {args.limit_mib:.0f} MiB one call carries"
    )
    if rest:
        print(
            f"device_wheels: {', '.join(rest)} did not fit: in {extra.name}/, a second bundle for a second call "
            f"(carry {extra.name} and set RLX_WHEELS={extra.name})"
        )
    print("device_wheels: install line: " + INSTALL.format(dir=out.name))
    print(f"device_wheels: device command: bash benchmarks/device_check.sh   (carry: [{out.name!r}])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
