"""How many workers (issue 18): is `plan.balance()`'s recommended worker count as fast as
the best count measured on this machine?

The ImageNet train pipeline on the 500x375 sample photos: `plan.balance()` recommends a
count for the original and for the plan (no step: the fewest workers that deliver as much
as the best count). Then each count is measured again, apart from the recommendation,
with fresh DataLoaders, and the recommended count's throughput is compared with the best
count's. Target: within 10%.

    python bench/balance.py [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alternatives import CASES
from run import write_markdown

import reorder

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(str(p) for p in (ROOT / "sample_images" / "jpeg_500x375").glob("*.jpg"))
DEFAULT_OUT = ROOT / "bench" / "results" / "balance.md"
WITHIN = 0.10
BATCH = 32


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    train = next(c for c in CASES if c.name == "train").original()
    plan = reorder.optimize(train, SAMPLES, progress=False)
    advice = plan.balance(batch_size=BATCH, batches=8, repeats=3)
    print(advice)
    again = plan.balance(batch_size=BATCH, batches=8, repeats=3)  # the check, measured apart
    lines = ["```", str(advice), "```", "", "Measured again, apart from the recommendation:", ""]
    lines += ["| loader | recommended | its images/s | best count | best images/s | ratio | |"]
    lines += ["| --- | --- | --- | --- | --- | --- | --- |"]
    passed = True
    for chosen, check in zip(advice.balances, again.balances, strict=True):
        best = max(check.deliveries, key=lambda d: d.rate.mean)
        mine = check.delivery(chosen.recommended.workers)
        ratio = mine.rate.mean / best.rate.mean
        passed &= ratio >= 1 - WITHIN
        lines.append(
            f"| {chosen.name} | {mine.workers} | {mine.rate.mean:.0f} | {best.workers} | "
            f"{best.rate.mean:.0f} | {ratio:.2f} | {'PASS' if ratio >= 1 - WITHIN else 'MISS'} |"
        )
    lines += ["", f"Target: the recommended count within {WITHIN:.0%} of the best count measured."]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    write_markdown(args.out, "bench/balance.py", markdown)
    advice.plot().savefig(args.out.with_suffix(".png"), dpi=90)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
