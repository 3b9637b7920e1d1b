"""Views of a step profile (`reorder.profile`, `plan.profile()`): a text table with bars,
the same as HTML, and a matplotlib chart."""

from __future__ import annotations

import html
from typing import Any

from reorder.measure.steps import PipelineSteps, StepProfile
from reorder.present.plots import pyplot
from reorder.views import register_view

_BAR = 32  # characters of the longest bar in the text table


def _heading(profile: StepProfile) -> str:
    images = len(profile.samples)
    return (
        f"where the time goes: {images} image{'s' if images != 1 else ''} x "
        f"{profile.repeats} repeat{'s' if profile.repeats != 1 else ''}, one thread; ms/image "
        "(mean over the repeats and images; range over the images)"
    )


def _summary_line(pipeline: PipelineSteps) -> str:
    return (
        f"{pipeline.name}: {pipeline.mean_ms:.2f} ms/image; its steps add up to "
        f"{pipeline.steps_ms:.2f} ({100 * pipeline.accounted:.0f}%): {pipeline.description}"
    )


def _scale(profile: StepProfile) -> float:
    return max(step.mean_ms for p in profile.pipelines for step in p.steps) or 1.0


@register_view(StepProfile, "text")
def steps_text(profile: StepProfile) -> str:
    scale = _scale(profile)
    width = max(len(step.name) for p in profile.pipelines for step in p.steps)
    lines = [_heading(profile)]
    for pipeline in profile.pipelines:
        lines.append(_summary_line(pipeline))
        for step in pipeline.steps:
            bar = "#" * round(_BAR * step.mean_ms / scale)
            share = 100 * step.mean_ms / pipeline.mean_ms if pipeline.mean_ms else 0.0
            lines.append(
                f"  {step.name:<{width}}  {step.mean_ms:7.3f}  "
                f"({step.low_ms:.3f}-{step.high_ms:.3f})  {share:3.0f}%  {bar}"
            )
    return "\n".join(lines)


@register_view(StepProfile, "html")
def steps_html(profile: StepProfile) -> str:
    scale = _scale(profile)
    rows = []
    for pipeline in profile.pipelines:
        summary = html.escape(_summary_line(pipeline))
        rows.append(f"<tr><th colspan='5' style='text-align:left'>{summary}</th></tr>")
        for step in pipeline.steps:
            share = 100 * step.mean_ms / pipeline.mean_ms if pipeline.mean_ms else 0.0
            width = 200 * step.mean_ms / scale
            bar = f"<div style='background:#4c78a8;height:0.8em;width:{width:.0f}px'></div>"
            rows.append(
                f"<tr><td>{html.escape(step.name)}</td><td>{step.mean_ms:.3f}</td>"
                f"<td>{step.low_ms:.3f}-{step.high_ms:.3f}</td><td>{share:.0f}%</td><td>{bar}</td></tr>"
            )
    head = "<tr><th>step</th><th>ms</th><th>range</th><th>share</th><th></th></tr>"
    return f"<p>{html.escape(_heading(profile))}</p><table>{head}{''.join(rows)}</table>"


@register_view(StepProfile, "plot")
def steps_chart(profile: StepProfile) -> Any:
    plt = pyplot()
    labels, means, errors, colours = [], [], [[], []], []
    palette = ("#9e9e9e", "#4c78a8")
    for index, pipeline in enumerate(profile.pipelines):
        for step in pipeline.steps:
            labels.append(f"{pipeline.name}: {step.name}")
            means.append(step.mean_ms)
            errors[0].append(step.mean_ms - step.low_ms)
            errors[1].append(step.high_ms - step.mean_ms)
            colours.append(palette[index % len(palette)])
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(labels) + 1.2))
    rows = range(len(labels))
    ax.barh(rows, means, xerr=errors, color=colours, capsize=3)
    for row, mean in zip(rows, means, strict=True):
        ax.annotate(
            f"{mean:.2f}",
            (mean, row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(list(rows), labels)
    ax.invert_yaxis()
    ax.set_xlabel("ms per image (bar: mean over images; whiskers: range over images)")
    totals = ", ".join(f"{p.name} {p.mean_ms:.2f} ms/image" for p in profile.pipelines)
    ax.set_title(f"Where the time goes\n{totals}", fontsize=10)
    fig.tight_layout()
    return fig
