"""Pictures of a plan (matplotlib, imported only here): the candidates' times and errors,
and original vs plan outputs with their amplified difference."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reorder.measure.verify import output_units, pixels
from reorder.optimizer import reference_call
from reorder.plan import Plan
from reorder.rng import preserved_rng, seed_all
from reorder.views import register_view

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plan.plot(), plan.show_samples() and profile.plot() need matplotlib: "
            'pip install "reorder[notebook]"'
        ) from None
    return plt


def candidates_chart(plan: Plan) -> Figure:
    """One bar per candidate: ms/image (accepted green, rejected grey, chosen outlined),
    its worst PSNR written on it, and the original's time as a line."""
    plt = pyplot()
    report = plan.report
    timed = [(i, c) for i, c in enumerate(report.candidates) if c.ms is not None]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(timed) + 2), 3.6), layout="constrained")
    if not timed:
        ax.text(0.5, 0.5, "no candidate was timed", ha="center", va="center")
        ax.set_axis_off()
        return fig
    positions = np.arange(len(timed))
    bars = ax.bar(
        positions,
        [c.ms for _, c in timed],
        color=["tab:green" if c.accepted else "tab:gray" for _, c in timed],
        edgecolor=["black" if i == report.chosen else "none" for i, _ in timed],
        linewidth=2,
    )
    for bar, (_, c) in zip(bars, timed, strict=True):
        psnr = (
            "exact" if c.worst_psnr is None or np.isinf(c.worst_psnr) else f"{c.worst_psnr:.0f} dB"
        )
        ax.annotate(
            psnr,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if report.original_ms:
        ax.axhline(report.original_ms, color="tab:red", linestyle="--", label="original")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(positions, [f"#{i}" for i, _ in timed])
    ax.set_ylabel("ms / image (one thread)")
    ax.set_title(f"candidates ({report.tolerance}): green accepted, outlined chosen", fontsize=9)
    return fig


def _displayable(arr: np.ndarray, low: float, high: float) -> np.ndarray:
    shown = (arr - low) / max(high - low, 1e-9)
    if shown.ndim == 3 and shown.shape[-1] not in (1, 3):
        shown = shown[..., :3] if shown.shape[-1] > 3 else shown[..., :1]
    return np.clip(shown.squeeze(), 0.0, 1.0)


def samples_grid(
    plan: Plan,
    paths: Sequence[str | os.PathLike],
    seeds: Sequence[int] = (0, 1),
    amplify: float = 10.0,
) -> Figure:
    """Rows: a path and a seed. Columns: the original's output, the plan's, and their
    absolute difference (0..255 units) times `amplify`, all under the same seed."""
    plt = pyplot()
    units, original = output_units(plan.pipeline), reference_call(plan.pipeline)
    generators = plan.pipeline.generators
    rows = [(os.fspath(p), s) for p in paths for s in seeds]
    fig, axes = plt.subplots(
        len(rows), 3, figsize=(7.5, 2.6 * len(rows)), squeeze=False, layout="constrained"
    )
    for row, (path, seed) in enumerate(rows):
        with preserved_rng(generators):  # the caller's streams are left as they were
            seed_all(seed, generators)
            expected = pixels(original(path), units)
            seed_all(seed, generators)
            got = pixels(plan(path), units)
        low, high = float(expected.min()), float(expected.max())
        diff = np.abs(expected - got) * amplify
        panels = (
            (_displayable(expected, low, high), f"original, seed {seed}"),
            (_displayable(got, low, high), "plan"),
            (_displayable(diff, 0.0, 255.0), f"|difference| x {amplify:g}"),
        )
        for ax, (image, title) in zip(axes[row], panels, strict=True):
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(
                f"{title}\n{os.path.basename(path)}" if ax is axes[row][0] else title, fontsize=8
            )
            ax.set_axis_off()
    return fig


register_view(Plan, "plot")(candidates_chart)
register_view(Plan, "samples")(samples_grid)
