"""Views of a balance report (`reorder.balance`, `plan.balance()`): the table with the
recommended worker count, and the picture of loader time against model time per batch."""

from __future__ import annotations

from typing import Any

from reorder.measure.balance import Balance, BalanceReport
from reorder.present.plots import pyplot
from reorder.views import register_view

_FED = {True: "fed", False: "waits", None: "within noise"}


def _demand_line(balance: Balance) -> str:
    demand = balance.demand
    if demand is None:
        return (
            "demand: none given (pass step= or images_per_s=): the counts are compared "
            "by what they deliver"
        )
    if balance.demand_source == "step":
        return (
            f"demand: the step consumes {demand.mean:.0f} images/s "
            f"(timed: {demand.low:.0f}-{demand.high:.0f})"
        )
    return f"demand: {demand.mean:.0f} images/s (stated)"


def _advice(balance: Balance) -> str:
    best = balance.recommended
    rate = best.rate.mean
    line = f"  -> num_workers={best.workers}: about {balance.expected_images_per_s:.0f} images/s"
    if balance.demand is None:
        return line + " (the fewest workers that deliver as much as the best count measured)"
    share = balance.waiting_share(best) or 0.0
    if balance.fed(best) is None:
        return line + "; its repeats straddle the demand: within noise of keeping the model fed"
    if balance.fed(best):
        return line + f"; the loader keeps the model fed (it delivers {rate:.0f})"
    return line + (
        f"; the loader is the bottleneck at every count measured: the model waits about "
        f"{100 * share:.0f}% of the time"
        if not any(balance.fed(d) for d in balance.deliveries)
        else f"; the model waits about {100 * share:.0f}% of the time"
    )


@register_view(BalanceReport, "text")
def balance_text(report: BalanceReport) -> str:
    first = report.balances[0]
    lines = [
        f"how many workers: batches of {first.batch_size}, {report.batches} batches x "
        f"{report.repeats} repeats per count (a fresh DataLoader each, after its warm-up); "
        "a count keeps the model fed when even its slowest repeat meets the demand"
    ]
    for balance in report.balances:
        lines += [f"{balance.name}: {_demand_line(balance)}"]
        lines.append(f"  {'workers':>7}  {'images/s':>9}  {'range':>11}  {'model waits':>11}")
        for delivery in balance.deliveries:
            share = balance.waiting_share(delivery)
            waits = "-" if share is None else f"{100 * share:.0f}%"
            verdict = "" if balance.demand is None else _FED[balance.fed(delivery)]
            rate = delivery.rate
            lines.append(
                f"  {delivery.workers:>7}  {rate.mean:>9.0f}  "
                f"{f'{rate.low:.0f}-{rate.high:.0f}':>11}  {waits:>11}  {verdict}"
            )
        lines.append(_advice(balance))
    return "\n".join(lines)


@register_view(BalanceReport, "plot")
def balance_chart(report: BalanceReport) -> Any:
    plt = pyplot()
    fig, axes = plt.subplots(
        1,
        len(report.balances),
        figsize=(4.5 * len(report.balances), 3.6),
        squeeze=False,
        sharey=True,
    )
    for ax, balance in zip(axes[0], report.balances, strict=True):
        workers = [d.workers for d in balance.deliveries]
        loader_ms = [1e3 * balance.batch_size / d.rate.mean for d in balance.deliveries]
        per_batch = [1e3 * balance.batch_size / d.rate.high for d in balance.deliveries]
        slowest = [1e3 * balance.batch_size / d.rate.low for d in balance.deliveries]
        spread = [
            [ms - low for ms, low in zip(loader_ms, per_batch, strict=True)],
            [high - ms for ms, high in zip(loader_ms, slowest, strict=True)],
        ]
        ax.bar(workers, loader_ms, yerr=spread, color="#4c78a8", capsize=3, label="loader")
        if balance.demand is not None:
            model_ms = 1e3 * balance.batch_size / balance.demand.mean
            source = "step, timed" if balance.demand_source == "step" else "stated"
            ax.axhline(model_ms, color="#e45756", label=f"model ({source})")
            for n, ms in zip(workers, loader_ms, strict=True):
                if ms > model_ms:  # the model waits for this part of every batch
                    ax.bar(
                        n,
                        ms - model_ms,
                        bottom=model_ms,
                        color="none",
                        hatch="//",
                        edgecolor="#e45756",
                        linewidth=0,
                    )
        best = balance.recommended.workers
        ax.bar(best, loader_ms[workers.index(best)], fill=False, edgecolor="black", linewidth=2)
        ax.set_xticks(workers)
        ax.set_xlabel("num_workers (outlined: recommended)")
        ax.set_ylabel(f"ms per batch of {balance.batch_size}")
        ax.set_title(f"{balance.name}: loader vs model (hatched: model waits)", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
