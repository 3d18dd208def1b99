"""Mirror run folders to a HuggingFace Hub repo, and fetch them back (SLM-Lab's push / pull / list).

One Hub repo holds many runs, each under ``<run folder name>/`` with its config.yaml, metrics.csv,
trial_metrics.json, plots/ and checkpoints/. A pulled run is an ordinary run folder: replay it
(``python -m rlx.enjoy``) or resume it (``python -m rlx.train resume=...``).

    python -m rlx.hub push runs/ppo_CartPole-v1_2025_01_01_120000 --repo user/rlx-runs
    python -m rlx.hub list --repo user/rlx-runs
    python -m rlx.hub pull ppo_CartPole --repo user/rlx-runs        # every run whose name contains it

``--repo`` defaults to ``$RLX_HUB_REPO``; the endpoint is huggingface_hub's (``HF_ENDPOINT``). The
token comes from ``HF_TOKEN`` or ``hf auth login``, through huggingface_hub alone: rlx never reads,
prints or writes it.

Everything goes through the small ``Backend`` interface (``ensure_repo``, ``upload_folder``,
``list_files``, ``download``); ``HfBackend`` is the real one.
"""

from __future__ import annotations

import fnmatch
import os
import pathlib
import shutil
from typing import Protocol
from collections.abc import Sequence

# never mirrored: wandb's own files, interrupted checkpoint saves, temporary files
IGNORE = ["wandb/**", "**/*.orbax-checkpoint-tmp*/**", "*.orbax-checkpoint-tmp*/**", "**/*.tmp", "*.tmp"]


class HubError(RuntimeError):
    """A failed Hub operation; ``str(err)`` is one line."""


class Backend(Protocol):
    def ensure_repo(self, repo_id: str, repo_type: str) -> str: ...

    def upload_folder(
        self,
        repo_id: str,
        repo_type: str,
        folder: pathlib.Path,
        path_in_repo: str,
        message: str,
        ignore: Sequence[str] = (),
        delete: Sequence[str] = (),
    ) -> None: ...

    def list_files(self, repo_id: str, repo_type: str) -> list[str]: ...

    def download(self, repo_id: str, repo_type: str, patterns: Sequence[str], local_dir: pathlib.Path) -> None: ...


class HfBackend:
    """huggingface_hub's HfApi and snapshot_download; ``endpoint=None`` means ``HF_ENDPOINT`` or the Hub."""

    def __init__(self, endpoint: str | None = None):
        from huggingface_hub import HfApi

        self.endpoint = endpoint
        self.api = HfApi(endpoint=endpoint)

    def ensure_repo(self, repo_id, repo_type):
        url = self.api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
        return str(url)

    def upload_folder(self, repo_id, repo_type, folder, path_in_repo, message, ignore=(), delete=()):
        self.api.upload_folder(
            repo_id=repo_id,
            repo_type=repo_type,
            folder_path=str(folder),
            path_in_repo=path_in_repo,
            commit_message=message,
            ignore_patterns=list(ignore) or None,
            delete_patterns=list(delete) or None,
        )

    def list_files(self, repo_id, repo_type):
        return list(self.api.list_repo_files(repo_id, repo_type=repo_type))

    def download(self, repo_id, repo_type, patterns, local_dir):
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id,
            repo_type=repo_type,
            allow_patterns=list(patterns),
            local_dir=str(local_dir),
            endpoint=self.endpoint,
        )


def _backend(backend: Backend | None) -> Backend:
    if backend is not None:
        return backend
    try:
        return HfBackend()
    except ImportError:
        raise HubError("huggingface_hub is not installed: pip install 'rlx[hub]'") from None


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:200]}" if text else type(err).__name__


def default_repo(repo_id: str | None) -> str:
    repo_id = repo_id or os.environ.get("RLX_HUB_REPO")
    if not repo_id:
        raise HubError("no Hub repo: give --repo user/name (or set RLX_HUB_REPO)")
    if repo_id.count("/") != 1:
        raise HubError(f"{repo_id!r} is not a Hub repo id of the form user/name")
    return repo_id


def push(
    run_dir: pathlib.Path, repo_id: str | None = None, *, repo_type: str = "model", backend: Backend | None = None
) -> str:
    """Uploads a run folder to ``<repo>/<run name>/`` (remote files the folder no longer has, such as
    checkpoints pruned since the last push, are deleted). Returns the repo's URL."""
    run_dir = pathlib.Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise HubError(f"{run_dir}: not a run folder (no config.yaml)")
    repo_id = default_repo(repo_id)
    api = _backend(backend)
    try:
        url = api.ensure_repo(repo_id, repo_type)
        api.upload_folder(
            repo_id, repo_type, run_dir, run_dir.name, f"rlx: push run {run_dir.name}", ignore=IGNORE, delete=["**"]
        )
    except HubError:
        raise
    except Exception as err:
        raise HubError(f"push to {repo_id} failed ({_one_line(err)})") from None
    return url


def push_checkpoint(
    run_dir: pathlib.Path,
    step: int,
    repo_id: str | None = None,
    *,
    repo_type: str = "model",
    backend: Backend | None = None,
):
    """Uploads one checkpoint step (the new best) plus the files that say what it is."""
    run_dir = pathlib.Path(run_dir)
    repo_id = default_repo(repo_id)
    api = _backend(backend)
    try:
        api.ensure_repo(repo_id, repo_type)
        api.upload_folder(
            repo_id,
            repo_type,
            run_dir / "checkpoints" / str(step),
            f"{run_dir.name}/checkpoints/{step}",
            f"rlx: {run_dir.name} best checkpoint {step}",
            ignore=IGNORE,
        )
        api.upload_folder(
            repo_id, repo_type, run_dir, run_dir.name, f"rlx: {run_dir.name} config", ignore=["checkpoints/**", *IGNORE]
        )
    except Exception as err:
        raise HubError(f"push of checkpoint {step} to {repo_id} failed ({_one_line(err)})") from None


def list_runs(repo_id: str | None = None, *, repo_type: str = "model", backend: Backend | None = None) -> list[str]:
    """Names of the runs in a repo (top-level folders that hold a config.yaml)."""
    repo_id = default_repo(repo_id)
    try:
        files = _backend(backend).list_files(repo_id, repo_type)
    except Exception as err:
        raise HubError(f"list of {repo_id} failed ({_one_line(err)})") from None
    return sorted({f.split("/", 1)[0] for f in files if f.count("/") == 1 and f.endswith("/config.yaml")})


def pull(
    pattern: str,
    repo_id: str | None = None,
    *,
    dest: pathlib.Path = pathlib.Path("runs"),
    repo_type: str = "model",
    backend: Backend | None = None,
    force: bool = False,
) -> list[pathlib.Path]:
    """Downloads every run whose name contains ``pattern`` (or matches it as a glob) into ``dest``;
    a local folder of the same name is replaced only with ``force``."""
    repo_id = default_repo(repo_id)
    api = _backend(backend)
    runs = [
        r for r in list_runs(repo_id, repo_type=repo_type, backend=api) if pattern in r or fnmatch.fnmatch(r, pattern)
    ]
    if not runs:
        raise HubError(f"no run in {repo_id} matches {pattern!r}")
    dest = pathlib.Path(dest)
    clash = [r for r in runs if (dest / r).exists()]
    if clash and not force:
        raise HubError(f"{dest / clash[0]} exists; pass --force to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / f".rlx-pull-{os.getpid()}"
    out = []
    try:
        api.download(repo_id, repo_type, [f"{r}/**" for r in runs], staging)
        for r in runs:
            target = dest / r
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(staging / r), str(target))
            out.append(target)
    except HubError:
        raise
    except Exception as err:
        raise HubError(f"pull from {repo_id} failed ({_one_line(err)})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
