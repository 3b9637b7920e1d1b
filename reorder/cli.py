"""Command line: `reorder demo` plans the embedded default pipelines on the sample images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reorder.demo import CASES, DEFAULT_SAMPLE_DIR, case_paths
from reorder.planner import optimize


def _demo(args: argparse.Namespace) -> int:
    folder = Path(args.images)
    print(f"reorder demo: sample images in {folder}/ (made on first run, then reused)")
    rows = []
    for case in CASES:
        paths = case_paths(case, folder, per_size=args.per_size)
        plan = optimize(
            case.make_transform(),
            paths,
            tolerance=args.tolerance,
            loader=case.loader,
            progress=True,
        )
        report, chosen = plan.report, plan.chosen
        plan_ms = chosen.ms if chosen is not None else report.original_ms
        psnr = (
            f"{chosen.worst_psnr:.1f} dB"
            if chosen and chosen.worst_psnr != float("inf")
            else "identical"
        )
        rows.append((case.name, report.original_ms, plan_ms, plan.speedup, psnr, plan.describe()))
        print(
            f"\n== {case.name}: {len(paths)} images, {case.make_transform()!r}".replace("\n", " ")
        )
        print(plan)
    print("\nSummary (ms/image, one thread, measured while planning):")
    print(f"{'case':<34}{'original':>10}{'plan':>10}{'speedup':>9}  {'worst error':<12} chosen")
    for name, original_ms, plan_ms, speedup, psnr, chosen in rows:
        print(
            f"{name:<34}{original_ms:>10.2f}{plan_ms:>10.2f}{speedup:>8.2f}x  {psnr:<12} {chosen}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reorder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="plan the embedded default pipelines")
    demo.add_argument("--images", default=str(DEFAULT_SAMPLE_DIR), help="sample image folder")
    demo.add_argument("--per-size", type=int, default=4, help="images per sample size")
    demo.add_argument("--tolerance", default="close", choices=["exact", "close", "fast"])
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
