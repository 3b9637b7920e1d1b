"""Plain-text report and explanation of a plan (what `print(plan)` shows)."""

from __future__ import annotations

import html

from reorder.ops import KERNELS, Kernel
from reorder.ops.registry import op_types_on
from reorder.plan import Plan, Report
from reorder.rules import RULES
from reorder.views import counted, register_view


def _num(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "inf"
    return format(value, fmt)


def _summary(report: Report, description: str) -> list[str]:
    """The report's lines above the candidates: what was chosen, why, what was checked."""
    lines = [
        f"reorder plan ({report.tolerance} tolerance, {counted(report.samples, 'sample')} x "
        f"{counted(report.seeds, 'seed')}, planned in {report.planning_s:.1f} s)"
        + (f"\n  loaded : from {report.loaded_from}" if report.loaded_from else ""),
        f"  chosen : {description}",
        f"  speedup: {report.speedup:.2f}x"
        + (f"   original {report.original_ms:.2f} ms/image" if report.original_ms else ""),
        f"  why    : {report.why}",
    ]
    if report.spread:
        lines.append(f"  samples: {report.spread}")
    if report.decoded_why:
        lines.append(f"  decoded: {report.decoded_why}")
    if report.raised:
        lines.append(f"  raised : {report.raised}")
    for position, line in enumerate(report.envelope):
        lines.append(f"  {'checked:' if position == 0 else '':<9}{line}")
    chosen = report.chosen_candidate
    if chosen is not None:
        lines.append(
            f"  error  : worst PSNR {_num(chosen.worst_psnr, '.1f')} dB, max |err| "
            f"{_num(chosen.max_abs, '.2f')}, mean |err| {_num(chosen.mean_abs, '.3f')} "
            "(0..255 units, before normalization; the worst over every verification input)"
            + (f", worst at {chosen.worst_sample}" if chosen.worst_sample else "")
        )
    return lines


def format_report(report: Report, description: str) -> str:
    """The report as text: the chosen pipeline (`description`), then every candidate."""
    lines = _summary(report, description)
    if report.candidates:
        lines.append("")
        header = f"  {'#':>2} {'ms/img':>8} {'speedup':>8} {'PSNR dB':>8} {'max err':>8}  verdict"
        lines.append(header)
        for index, cand in enumerate(report.candidates):
            mark = "*" if index == report.chosen else " "
            lines.append(
                f" {mark}{index:>2} {_num(cand.ms, '.2f'):>8} {_num(cand.speedup, '.2f'):>8} "
                f"{_num(cand.worst_psnr, '.1f'):>8} {_num(cand.max_abs, '.2f'):>8}  "
                f"{'accepted' if cand.accepted else 'rejected'}: {cand.reason}"
            )
            lines.append(f"      {cand.description}")
    return "\n".join(lines)


def report_html(report: Report, description: str) -> str:
    """The report as an HTML table (how a plan shows itself in Jupyter)."""
    rows = []
    for index, cand in enumerate(report.candidates):
        style = ' style="font-weight:bold"' if index == report.chosen else ""
        verdict = ("accepted" if cand.accepted else "rejected") + f": {cand.reason}"
        cells = (
            f"{'*' if index == report.chosen else ''}{index}",
            html.escape(cand.description),
            _num(cand.ms, ".2f"),
            _num(cand.speedup, ".2f"),
            _num(cand.worst_psnr, ".1f"),
            _num(cand.max_abs, ".2f"),
            html.escape(verdict),
        )
        rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in ("#", "pipeline", "ms/img", "speedup", "PSNR dB", "max err", "verdict")
    )
    # Every line `print(plan)` shows above its table, as it shows them.
    summary = html.escape("\n".join(_summary(report, description)))
    return (
        f"<pre>{summary}</pre>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def explain(plan: Plan) -> str:
    """Which rules produced the chosen plan, and why each rewrite keeps the contract."""
    if plan.physical is None:
        return f"The plan is the original pipeline: {plan.report.why}"
    by_name = {rule.name: rule for rule in RULES}
    lines = [f"Chosen: {plan.describe()}", ""]
    fired = list(dict.fromkeys(plan.physical.rules))
    if not fired:
        lines.append("No rule fired; the ops run as written.")
    for name in fired:
        rule = by_name.get(name)
        if rule is None:
            lines.append(f"- {name}: (rule not in this version)")
            continue
        exactness = "exact" if rule.exact else "approximate"
        lines.append(f"- {name} ({exactness}): {rule.why}.")
        if rule.approximate_on:
            lines.append(f"  Its error depends on {rule.approximate_on}.")
    lines.append("")
    lines.append("Kernels:")
    used = [plan.physical.decode.kernel] + [
        stage.kernel for segment in plan.physical.segments for stage in segment.stages
    ]
    for name in dict.fromkeys(used):
        if name in KERNELS:
            lines.append(f"- {name}: {_kernel_legend(KERNELS[name])}")
    lines.append("")
    lines.append("Where it was verified (outside this, a segment runs your pipeline's kernels):")
    if plan.envelope is None:
        lines.append("- nowhere recorded: this plan was not made by reorder.optimize")
    else:
        lines += [f"- {line}" for line in plan.report.envelope[:1]]
        lines += [f"- {line}" for line in plan.envelope.describe()]
        for index, segment in sorted(plan.envelope.segments.items()):
            for path, bounds in sorted(segment.paths.items()):
                shrinks = ", ".join(
                    f"{lo:.2f}..{hi:.2f}" for lo, hi in zip(bounds.low, bounds.high, strict=True)
                )
                lines.append(f"  segment {index}: {path} (shrink per axis {shrinks})")
    lines.append("")
    lines.append(
        "Random parameters are drawn by your own transform objects, in your order, from the "
        "same RNG streams; opaque ops receive exactly what they would have."
    )
    return "\n".join(lines)


def _kernel_legend(kernel: Kernel) -> str:
    """What a stage kernel does, and the ops it has its own kernels for (from the
    registry, so that it stays true as ops are added)."""
    served = sorted({op for backend in kernel.backends for op in op_types_on(backend)})
    return f"{kernel.summary} (own kernels for {', '.join(served)})" if served else kernel.summary


@register_view(Plan, "text")
def _text(plan: Plan) -> str:
    return format_report(plan.report, plan.describe())


@register_view(Plan, "html")
def _html(plan: Plan) -> str:
    return report_html(plan.report, plan.describe())


register_view(Plan, "explain")(explain)
