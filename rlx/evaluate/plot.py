"""Learning curves: mean across seeds with a band of one standard deviation (clipped to the seeds'
range), against frames.

``plot_run(run_dir)`` draws a run's own graphs (``plots/total_reward.png``,
``plots/total_reward_ma.png`` and, with ``eval.every_frames``, ``plots/eval_return.png``) at the end
of training; ``rlx-plot RUN [RUN ...] title=X`` overlays
several runs (a sweep folder stands for its trials) in one graph (SLM-Lab's multi-trial graph: each
trial's mean over its sessions with a +-1 std band, ``slm_lab/experiment/analysis.py``).
"""

from __future__ import annotations

import csv
import pathlib
import warnings

import numpy as np


def load_curve(metrics_csv: pathlib.Path, column: str = "total_reward"):
    """``(frames, values[seed, point])`` from a run's metrics.csv (points common to every seed)."""
    by_seed: dict[int, list[tuple[float, float]]] = {}
    with open(metrics_csv, newline="") as f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            raise ValueError(f"{metrics_csv}: no column {column!r}; columns: {', '.join(reader.fieldnames or [])}")
        for row in reader:
            by_seed.setdefault(int(row["seed"]), []).append((float(row["frame"]), float(row[column])))
    if not by_seed:
        raise ValueError(f"{metrics_csv}: no rows")
    seeds = sorted(by_seed)
    n = min(len(by_seed[s]) for s in seeds)
    frames = np.array([fr for fr, _ in by_seed[seeds[0]][:n]])
    values = np.array([[v for _, v in by_seed[s][:n]] for s in seeds])
    return frames, values


def run_label(run_dir: pathlib.Path) -> str:
    """``<algo> <env>`` from the run's config.yaml, else the folder name."""
    run_dir = pathlib.Path(run_dir)
    try:
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(run_dir / "config.yaml")
        return f"{cfg.algo.name} {cfg.env} ({run_dir.name})"
    except Exception:
        return run_dir.name


def metrics_csv(run: pathlib.Path) -> pathlib.Path:
    run = pathlib.Path(run)
    return run / "metrics.csv" if run.is_dir() else run


def expand_runs(paths) -> list[pathlib.Path]:
    """Run folders (or metrics.csv files); a sweep or search folder stands for its ``trials/*``."""
    out = []
    for p in map(pathlib.Path, paths):
        trials = sorted(t for t in (p / "trials").glob("*") if (t / "metrics.csv").is_file()) if p.is_dir() else []
        out += trials if trials and not (p / "metrics.csv").is_file() else [p]
    return out


def fresh_path(path: pathlib.Path) -> pathlib.Path:
    """``path``, or ``<stem>_2<suffix>``, ``_3`` ... : the first that does not exist yet, so a new
    plot never replaces an earlier one."""
    path = pathlib.Path(path)
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    return candidate


def plot_runs(
    runs: list[tuple[str, pathlib.Path]],
    out: pathlib.Path,
    title: str,
    column: str = "total_reward",
    target: float | None = None,
):
    """One line (mean over seeds) and one band (+-1 std over seeds) per run; ``runs`` are
    ``(label, run folder or metrics.csv)`` pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, path) in enumerate(runs):
        frames, values = load_curve(metrics_csv(path), column)
        if column == "eval_return":  # evaluated at some log points only: the others are NaN
            frames, values = frames[np.isfinite(values).any(0)], values[:, np.isfinite(values).any(0)]
        with warnings.catch_warnings():  # log points before any episode ended are NaN for every seed
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0)
            std = np.nanstd(values, axis=0)
            lo = np.maximum(mean - std, np.nanmin(values, axis=0))  # never past what some seed reached
            hi = np.minimum(mean + std, np.nanmax(values, axis=0))
        color = colors[i % len(colors)]
        n = values.shape[0]
        ax.plot(frames, mean, color=color, lw=1.4, label=f"{label}, {n} seed{'s' if n != 1 else ''}")
        ax.fill_between(frames, lo, hi, color=color, alpha=0.2, lw=0)
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1, label="target")
    ax.set_xlabel("frames")
    ax.set_ylabel(column.replace("_", " ") + " (mean, band: ±1 std over seeds)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_run(run_dir: pathlib.Path) -> list[pathlib.Path]:
    """A run's own graphs, written to ``<run>/plots/`` (``eval_return.png`` too when it evaluated)."""
    run_dir = pathlib.Path(run_dir)
    label = run_label(run_dir)
    title = label.split(" (")[0]
    with open(metrics_csv(run_dir), newline="") as f:
        columns = next(csv.reader(f), [])
    return [
        plot_runs([(label, run_dir)], run_dir / "plots" / f"{column}.png", title=title, column=column)
        for column in ("total_reward", "total_reward_ma", "eval_return")
        if column in columns
    ]
