"""Where things go on disk: run-folder names, jax's compilation cache, files written whole or not at all.

Runs, sweeps and searches all name their folder ``<out_dir>/<name>`` with ``name`` from
``logger.name`` or ``[<kind>_]<algo>_<env>_<stamp>``, so a listing sorts each kind by algorithm,
env and time, and a folder name is safe on every filesystem whatever the env id holds.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import re

import jax


def stamp() -> str:
    return datetime.datetime.now().strftime("%Y_%m_%d_%H%M%S")


def run_name(config, kind: str = "") -> str:
    """``logger.name``, else ``[<kind>_]<algo>_<env>_<stamp>`` (env ids such as ``playground:X/Y`` made safe)."""
    if config.logger.name:
        return config.logger.name
    env = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.env)
    return "_".join(p for p in (kind, config.algo.name, env, stamp()) if p)


def run_dir_for(config, kind: str = "") -> pathlib.Path:
    return pathlib.Path(config.logger.out_dir) / run_name(config, kind)


# what a run, a sweep or a trial leaves in its folder as soon as it has started writing
RUN_MARKERS = ("config.yaml", "sweep_spec.json", "metrics.csv", "trial_metrics.json", "checkpoints")


def check_new_folder(folder: pathlib.Path):
    """A new run (or sweep) never writes over one already in its folder: it would mix its rows and
    checkpoints with the old run's (or refuse half-way, after compiling). One line, before anything
    is built, naming the way to continue the old one."""
    held = [m for m in RUN_MARKERS if (pathlib.Path(folder) / m).exists()]
    if held:
        from rlx.config import ConfigError

        raise ConfigError(
            f"logger.name: {folder} already holds a run ({held[0]}); continue it with: rlx-train resume={folder}, "
            "or give another logger.name"
        )


def cache_dir() -> str:
    return os.environ.get("RLX_JAX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rlx", "jax")


def enable_compilation_cache():
    """jax's persistent compilation cache, so a repeated command skips most of its compile."""
    try:
        jax.config.update("jax_compilation_cache_dir", cache_dir())
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    except Exception:  # an older/newer jax without these options: run uncached
        pass


@contextlib.contextmanager
def naming(path):
    """An OSError raised while writing ``path`` names it: a full disk's write error carries no file
    name, and the one line the CLI prints should say where the space ran out."""
    try:
        yield
    except OSError as err:
        if err.filename:
            raise
        raise OSError(err.errno, err.strerror, str(path)) from None


def write_text(path: pathlib.Path, text: str):
    """Through a temporary file and a rename, so a kill never leaves half a file that reads as finished
    (a config.yaml cut short would make the run folder unresumable)."""
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with naming(path):
        tmp.write_text(text)
        tmp.replace(path)


def write_yaml(path: pathlib.Path, data: dict):
    from omegaconf import OmegaConf

    write_text(path, OmegaConf.to_yaml(OmegaConf.create(data)))


def write_json(path: pathlib.Path, data, **kw):
    write_text(path, json.dumps(data, indent=2, **kw))


def truncate_csv(path: pathlib.Path, rows: int):
    """Keeps the header and the first ``rows`` rows (what a checkpoint had logged)."""
    path = pathlib.Path(path)
    if not path.exists():
        return
    with open(path, newline="") as f:
        lines = f.readlines()
    write_text(path, "".join(lines[: 1 + rows]))
