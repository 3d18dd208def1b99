"""SLM-Lab's session and trial metrics (``slm_lab/experiment/analysis.py``), in numpy.

A log point's ``total_reward`` is the mean raw return of the last 100 completed episodes;
``total_reward_ma`` the mean of the last 100 log points' ``total_reward``. With ``s_i`` the
strength over a random policy's mean return, the session metrics are strength, max/final
strength, sample and training efficiency and stability; a trial averages them over sessions and
adds consistency. Log points taken before any episode has finished (NaN) are left out.
"""

from __future__ import annotations

import warnings

import numpy as np

MA_WINDOW = 100
SESSION_KEYS = (
    "total_reward_ma",
    "strength",
    "max_strength",
    "final_strength",
    "sample_efficiency",
    "training_efficiency",
    "stability",
)


def moving_average(x: np.ndarray, window: int = MA_WINDOW) -> np.ndarray:
    """Trailing mean over up to ``window`` points, ignoring NaN (SLM-Lab's ``total_reward_ma`` column)."""
    x = np.asarray(x, np.float64)
    out = np.full_like(x, np.nan)
    for i in range(len(x)):
        w = x[max(0, i - window + 1) : i + 1]
        w = w[~np.isnan(w)]
        if len(w):
            out[i] = w.mean()
    return out


def session_metrics(frames, total_reward, opt_steps, random_return: float) -> dict:
    frames = np.asarray(frames, np.float64)
    total_reward = np.asarray(total_reward, np.float64)
    opt_steps = np.asarray(opt_steps, np.float64)
    ok = ~np.isnan(total_reward)
    if not ok.any():
        return {k: float("nan") for k in SESSION_KEYS}
    frames, total_reward, opt_steps = frames[ok], total_reward[ok], opt_steps[ok]
    s = total_reward - random_return
    sum_s = s.sum()
    safe = sum_s if sum_s != 0 else np.nan
    return {
        "total_reward_ma": float(total_reward[-MA_WINDOW:].mean()),
        "strength": float(s.mean()),
        "max_strength": float(s.max()),
        "final_strength": float(s[-1]),
        "sample_efficiency": float(np.sum(s / frames) / safe),
        "training_efficiency": float(np.sum(s / np.maximum(opt_steps, 1.0)) / safe),
        "stability": float(1.0 - abs(np.minimum(np.diff(s), 0.0).sum() / safe)),
    }


def trial_metrics(frames, total_reward, opt_steps, random_return: float) -> dict:
    """``total_reward`` of shape (seeds, log points): per-session metrics, their means, consistency.
    Metrics without data (no log point yet, no finished episode) are NaN, without numpy's warnings."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _trial_metrics(frames, total_reward, opt_steps, random_return)


def _trial_metrics(frames, total_reward, opt_steps, random_return: float) -> dict:
    total_reward = np.asarray(total_reward, np.float64)
    sessions = [
        session_metrics(frames, total_reward[i], opt_steps, random_return) for i in range(total_reward.shape[0])
    ]
    trial = {k: float(np.nanmean([s[k] for s in sessions])) for k in SESSION_KEYS}
    ok = ~np.isnan(total_reward).any(axis=0)
    s = total_reward[:, ok] - random_return
    mean_sum = s.mean(axis=0).sum()
    trial["consistency"] = (
        float(1.0 - 2.0 * s.std(axis=0).sum() / mean_sum) if s.size and mean_sum != 0 else float("nan")
    )
    return {"sessions": sessions, "trial": trial}


def add_eval_metrics(result: dict, eval_return: np.ndarray) -> None:
    """Adds the evaluations (``(evaluations, seeds)``) to ``trial_metrics``'s result: each session's
    last and best ``eval_return``, and their means over sessions (an evaluation with no finished
    episode is NaN and left out)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, session in enumerate(result["sessions"]):
            col = eval_return[:, i]
            finite = col[np.isfinite(col)]
            session["eval_return"] = float(finite[-1]) if finite.size else float("nan")
            session["best_eval_return"] = float(finite.max()) if finite.size else float("nan")
        for k in ("eval_return", "best_eval_return"):
            result["trial"][k] = float(np.nanmean([s[k] for s in result["sessions"]]))


def format_trial_line(frame: int, trial: dict) -> str:
    """SLM-Lab's closing line: ``trial_metrics: frame:... | total_reward_ma:... | ...``."""
    keys = SESSION_KEYS + ("consistency",)
    keys += ("eval_return",) if "eval_return" in trial else ()
    parts = [f"frame:{frame:.2e}"] + [f"{k}:{trial[k]:.4g}" for k in keys]
    return "trial_metrics: " + " | ".join(parts)
