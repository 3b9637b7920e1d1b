"""Command line: `reorder demo`, `reorder plan`, `reorder show`, `reorder bench`.

Exit codes: 0 done; 1 `bench` found the plan no longer holds its tolerance on the given
images; 2 something to fix first (a bad path, no images, a module that does not import,
a pipeline reorder cannot read, a file that is not a plan), said in one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reorder.demo import CASES, DEFAULT_SAMPLE_DIR, case_paths
from reorder.frontends import parse
from reorder.ir import PhysicalPlan
from reorder.loading import load
from reorder.measure.timing import time_interleaved
from reorder.measure.verify import TOLERANCES
from reorder.optimizer import MAX_TIMED_SAMPLES, optimize, reference_call, reverify, sample_paths
from reorder.plan import Report
from reorder.planfile import PlanFileError, read_plan_file
from reorder.present.report import format_report

EXIT_NOT_EQUIVALENT = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Something the user must fix before the command can run; the message says what."""


def import_transform(spec: str) -> Any:
    """The object named by "package.module:attribute" or "path/to/file.py:attribute" (dots
    allowed in the attribute), imported as `python -m` would, with the current directory
    on the path (a file's own folder, for a file)."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"{spec!r}: name the transform as MODULE:ATTRIBUTE or FILE.py:ATTRIBUTE, "
            "e.g. train:transform or path/to/train.py:transform"
        )
    try:
        obj: Any = _import_module(module_name)
    except UsageError:
        raise
    except Exception as exc:
        hint = (
            ""
            if module_name.endswith(".py")
            else " (run from the folder that holds it, or add that folder to PYTHONPATH)"
        )
        raise UsageError(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}{hint}"
        ) from None
    for name in attribute.split("."):
        if not hasattr(obj, name):
            raise UsageError(f"{module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, name)
    return obj


def _import_module(name: str) -> Any:
    """A module by dotted name, or a Python file by path (its folder put on the path, so
    that its own imports of neighbouring modules work)."""
    if not name.endswith(".py"):
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(name)
    path = Path(name).resolve()
    if not path.is_file():
        raise UsageError(f"{name}: no such file")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    loaded = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(loaded)
    sys.modules[path.stem] = module  # pickling the transform finds its classes again
    loaded.loader.exec_module(module)
    return module


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


def _images(directory: str) -> list[str]:
    try:
        return sample_paths(directory)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _writable(path: str) -> str:
    """`path`, if a plan file can be written there; else a usage error, before planning."""
    if not path:
        raise UsageError("--out: give a file name, e.g. plan.json")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--out {path}: is a directory; give a file name, e.g. {path}/plan.json")
    if not os.path.isdir(folder):
        raise UsageError(f"--out {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--out {path}: cannot write in {folder}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"--out {path}: the file exists and cannot be written")
    return path


def _positive(convert: Callable[[str], float], what: str) -> Callable[[str], float]:
    """An argparse `type`: a positive, finite `what`, read by `convert` (float or int)."""

    def read(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {what} above 0, not {text}")
        return value

    return read


def _plan(args: argparse.Namespace) -> int:
    _writable(args.out)
    transform = import_transform(args.transform)
    paths = _images(args.images)
    try:
        parse(transform, args.loader)
    except (TypeError, ValueError) as exc:  # a pipeline or loader reorder cannot read
        raise UsageError(str(exc)) from None
    plan = optimize(
        transform,
        paths,
        tolerance=args.tolerance,
        loader=args.loader,
        dataset=_images(args.dataset) if args.dataset else None,
        time_budget=args.budget,
        progress=not args.quiet,
    )
    plan.source = args.transform
    try:
        plan.save(args.out)
    except OSError as exc:  # what no check beforehand can rule out (a full disk)
        raise UsageError(f"--out {args.out}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(plan)
    print(f"wrote {args.out}: {plan.speedup:.2f}x, {plan.describe()}")
    return 0


def _read(path: str) -> dict[str, Any]:
    try:
        return read_plan_file(path)
    except (OSError, PlanFileError) as exc:
        raise UsageError(str(exc)) from None


def _show(args: argparse.Namespace) -> int:
    data = _read(args.plan)
    names = data.get("pipeline")
    try:
        report = Report.from_dict(data["report"])
        physical = data.get("physical")
        description = (
            PhysicalPlan.from_dict(physical).describe(names)
            if physical is not None
            else "the original pipeline, as written"
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UsageError(f"{args.plan}: malformed plan ({exc})") from None
    print(f"{args.plan}: plan for {data.get('source') or 'a pipeline'} of {names}")
    print(f"  loader : {data.get('loader')}; measured with {json.dumps(data.get('versions'))}")
    print(format_report(report, description))
    return 0


def _bench(args: argparse.Namespace) -> int:
    data = _read(args.plan)
    source = args.transform or data.get("source")
    if not isinstance(source, str):
        raise UsageError(f"{args.plan} does not say where its transform is; pass --transform")
    transform = import_transform(source)
    paths = _images(args.images)
    try:
        plan = load(args.plan, transform)
    except PlanFileError as exc:
        raise UsageError(str(exc)) from None
    tolerance = plan.report.tolerance if plan.report.tolerance in TOLERANCES else "exact"
    recheck = reverify(plan, paths)
    timed = paths[:: max(1, -(-len(paths) // MAX_TIMED_SAMPLES))]
    medians = time_interleaved(
        {"original": reference_call(plan.pipeline), "plan": plan},
        {"original": timed, "plan": timed},
        args.repeats,
        generators=plan.pipeline.generators,
    )
    original_ms, plan_ms = (1000 * sum(medians[k]) / len(timed) for k in ("original", "plan"))
    print(f"{args.plan} on {len(paths)} images ({len(timed)} timed), one thread:")
    print(
        f"  original {original_ms:.2f} ms/image, plan {plan_ms:.2f} ms/image: "
        f"{original_ms / plan_ms:.2f}x"
    )
    if recheck.verification.compared == 0:
        print("  (the original raised on every image: these times are of its error paths)")
    print(f"  tolerance '{tolerance}': {recheck.describe()} (0..255 units)")
    if recheck.verdict == "broken":
        print(
            f"reorder: the plan does not hold '{tolerance}' on these images "
            f"({recheck.verification.problem or 'error too large'}); re-run reorder plan",
            file=sys.stderr,
        )
        return EXIT_NOT_EQUIVALENT
    return 0


def _parser() -> argparse.ArgumentParser:
    # Past 50 lines: one declaration per option, the CLI's whole surface in one place.
    parser = argparse.ArgumentParser(
        prog="reorder",
        description="Find a faster, verified-equivalent plan for an augmentation pipeline.",
        epilog="Exit codes: 0 done, 1 plan no longer equivalent (bench), 2 usage or input error.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="plan the embedded default pipelines")
    demo.add_argument("--images", default=str(DEFAULT_SAMPLE_DIR), help="sample image folder")
    demo.add_argument("--per-size", type=int, default=4, help="images per sample size")
    demo.add_argument("--tolerance", default="close", choices=list(TOLERANCES))
    demo.set_defaults(run=_demo)

    plan = commands.add_parser("plan", help="plan your transform on your images")
    plan.add_argument("transform", help="MODULE:ATTRIBUTE of the transform, e.g. train:tf")
    plan.add_argument("--images", required=True, help="a directory of sample images")
    plan.add_argument("--out", required=True, help="where to write the plan (JSON)")
    plan.add_argument(
        "--dataset",
        default=None,
        help="the directory the plan will run on: its file headers give the sizes to verify "
        "over (default: the sample images')",
    )
    plan.add_argument("--tolerance", default="close", choices=list(TOLERANCES))
    plan.add_argument(
        "--budget",
        type=_positive(float, "a number of seconds"),
        default=None,
        help="seconds for the search (default: no limit)",
    )
    plan.add_argument(
        "--loader",
        default=None,
        choices=["pil", "torchvision.io", "cv2"],
        help="how the original reads files (default: the library's usual reader)",
    )
    plan.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    plan.set_defaults(run=_plan)

    show = commands.add_parser("show", help="print a saved plan's report")
    show.add_argument("plan", help="a plan file written by `reorder plan` or Plan.save")
    show.set_defaults(run=_show)

    bench = commands.add_parser("bench", help="time and check a saved plan on other images")
    bench.add_argument("plan", help="a plan file")
    bench.add_argument("--images", required=True, help="a directory of images")
    bench.add_argument("--transform", help="MODULE:ATTRIBUTE (default: the one in the file)")
    bench.add_argument(
        "--repeats", type=_positive(int, "a whole number"), default=5, help="timing rounds"
    )
    bench.set_defaults(run=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"reorder: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
