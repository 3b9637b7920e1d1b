"""Small images (issue 17): ImageNet-sized and smaller photos, where a plan gains least.

The ImageNet train and eval pipelines, the colour pipeline and the albumentations Kaggle
pipeline on real photos of 64x48, 375x500, 500x375 and 640x480 (JPEG), each case and size
in a fresh process, beside albumentations, v2 on tensors and the decode floor, measured
side by side in one run with one thread. Then the targets, each PASS or MISS.

    python bench/small.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from run import write_markdown
from suite import SMALL_SUITE, SuiteResult, main_suite

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_images"
DEFAULT_OUT = ROOT / "bench" / "results" / "small.json"
TARGET_SET = "jpeg_500x375"
OVER_ORIGINAL = 2.0
OVER_FLOOR = 1.5
RIVALS = ("albumentations", "v2 tensors")


def _at(results: Sequence[SuiteResult], case: str) -> SuiteResult:
    return next(r for r in results if r.case == case and r.images == TARGET_SET)


def small_targets(results: Sequence[SuiteResult]) -> list[tuple[str, str, str, bool]]:
    """(name, goal, measured, passed) for issue 17's targets."""
    train, evaluation = _at(results, "train"), _at(results, "eval")
    slower = [
        f"{r.case} @ {r.images} ({r.ms['plan']:.2f} vs {rival} {r.ms[rival]:.2f} ms)"
        for r in results
        for rival in RIVALS
        if r.ms["plan"] > r.ms[rival]
    ]
    failing = [f"{r.case} @ {r.images}" for r in results if not r.within_tolerance]
    return [
        (
            f"train @ {TARGET_SET}: speedup over the original",
            f">= {OVER_ORIGINAL:.1f}x",
            f"{train.speedup:.2f}x",
            train.speedup >= OVER_ORIGINAL,
        ),
        (
            f"train @ {TARGET_SET}: plan over the decode floor",
            f"<= {OVER_FLOOR:.1f}x",
            f"{train.over_floor:.2f}x",
            train.over_floor <= OVER_FLOOR,
        ),
        (
            f"eval @ {TARGET_SET}: speedup over the original",
            f">= {OVER_ORIGINAL:.1f}x",
            f"{evaluation.speedup:.2f}x",
            evaluation.speedup >= OVER_ORIGINAL,
        ),
        (
            "every small case: plan at least as fast as albumentations and v2 on tensors",
            "no case slower",
            "all" if not slower else f"{len(slower)} slower: " + "; ".join(slower),
            not slower,
        ),
        (
            "every plan within its tolerance on fresh seeds",
            "'close'",
            "all" if not failing else "fails: " + ", ".join(failing),
            not failing,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)
    results_json, markdown = main_suite(SAMPLE_DIR, SMALL_SUITE, None, small_targets, issue=17)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results_json, indent=1) + "\n")
    write_markdown(args.out.with_suffix(".md"), "bench/small.py", markdown)
    print(f"\nwrote {args.out}, {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
