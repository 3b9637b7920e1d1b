"""The alternatives suite (issue 5): per case and image set, side by side in one run:

1. the original pipeline as written (torchvision on PIL, or albumentations on OpenCV);
2. the plan on a path (`plan(path)`), and `plan.transform` on the reference loader's
   image (the user kept their loader), to show what each tier gives;
3. the same ops hand-written for torchvision v2 on `decode_image` uint8 tensors;
4. the same ops in albumentations;
5. NVIDIA DALI's CPU pipeline for the same ops (one thread, batch of one), if installed;
6. the floor: reading the file and decoding it at the smallest DCT scale covering the
   output (a PNG: decoding it), and nothing else.

Latency: one thread, warm-up, then repeats interleaved across all contenders; per image
the median; per contender the mean of those. Ratios are taken on those means, measured in
the same run. Throughput: a real DataLoader (2 workers, batches of 32), original vs plan,
images per second after the first batch, and each worker's peak resident memory.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from alternatives import (
    CASES,
    Case,
    DaliRunner,
    albumentations_on_arrays,
    dali_available,
    v2_on_tensors,
)
from common import decode_floor, factor_text, floor_input, output_short_side, verify
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import reorder
from reorder.measure.timing import time_interleaved
from reorder.measure.verify import TOLERANCES
from reorder.ops.decode import LOADERS, cv2_rgb_loader, jpeg_size
from reorder.optimizer import reference_call
from reorder.photos import write_photos
from reorder.samples import write_sample_images

TOLERANCE = "close"
JPEG_SETS = ("photo_4032x3024", "frame_1920x1080", "imagenet_500x375", "portrait_384x512")
PNG_SET = "png_500x375"
ALTERNATIVES = ("v2 tensors", "albumentations", "DALI")
# Issue 5's targets.
GEOMEAN_OVER_ORIGINAL = 3.0
GEOMEAN_OVER_BEST_ALTERNATIVE = 1.5
FLOOR_RATIO = 1.3
# A case is decode-dominated where decoding alone (the floor) is at least this share of
# the original's time.
DECODE_DOMINATED_SHARE = 0.5


@dataclass(frozen=True)
class SuiteSettings:
    repeats: int
    per_size: int
    loader_items: int  # images through the DataLoader, per contender
    cases: tuple[str, ...]
    sets: tuple[str, ...]


FULL_SUITE = SuiteSettings(5, 4, 64, tuple(c.name for c in CASES), (*JPEG_SETS, PNG_SET))
QUICK_SUITE = SuiteSettings(
    3, 2, 32, ("eval", "kaggle (albumentations)"), ("frame_1920x1080", "imagenet_500x375")
)

# Issue 17's small images: real photos (not scenes), four per size, as JPEGs.
SMALL_SIZES = ((64, 48), (375, 500), (500, 375), (640, 480))
SMALL_PHOTOS = ("chelsea", "coffee", "astronaut", "hopper")
SMALL_SETS = tuple(f"jpeg_{w}x{h}" for w, h in SMALL_SIZES)
SMALL_CASES = ("train", "eval", "color->downscale", "kaggle (albumentations)")
SMALL_SUITE = SuiteSettings(5, 4, 64, SMALL_CASES, SMALL_SETS)


@dataclass(frozen=True)
class SuiteResult:
    case: str
    images: str
    ms: dict[str, float]  # contender -> mean ms/image
    spread: dict[str, float]  # contender -> relative spread of per-image medians (max/min)
    floor_factor: str
    worst_psnr: float | None  # plan vs original on fresh seeds; None: identical
    within_tolerance: bool
    images_per_s: dict[str, float]  # "original", "plan" through the DataLoader
    peak_worker_mb: dict[str, float]
    chosen: str

    @property
    def speedup(self) -> float:
        return self.ms["original"] / self.ms["plan"]

    @property
    def best_alternative(self) -> tuple[str, float] | None:
        timed = [(name, self.ms[name]) for name in ALTERNATIVES if name in self.ms]
        return min(timed, key=lambda item: item[1]) if timed else None

    @property
    def over_best_alternative(self) -> float | None:
        best = self.best_alternative
        return best[1] / self.ms["plan"] if best else None

    @property
    def over_floor(self) -> float:
        return self.ms["plan"] / self.ms["floor"]

    @property
    def decode_dominated(self) -> bool:
        return self.ms["floor"] >= DECODE_DOMINATED_SHARE * self.ms["original"]


def png_set(folder: Path, per_size: int) -> list[str]:
    """PNG copies of the 500x375 sample scenes (made once)."""
    target = folder / PNG_SET
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for jpeg in sorted((folder / "imagenet_500x375").glob("*.jpg"))[:per_size]:
        png = target / (jpeg.stem + ".png")
        if not png.exists():
            with Image.open(jpeg) as img:
                img.convert("RGB").save(png)
        paths.append(str(png))
    return paths


def small_photo_sets(folder: Path, per_size: int) -> dict[str, list[str]]:
    """`SMALL_SETS`: photos cut and scaled to each small size, JPEG quality 90 (made once)."""
    sets = {}
    for name, (width, height) in zip(SMALL_SETS, SMALL_SIZES, strict=True):
        entries = tuple(
            (f"{source}_{width}x{height}", source, width, height, "JPEG", 90, 2)
            for source in SMALL_PHOTOS[:per_size]
        )
        sets[name] = list(write_photos(folder / name, entries).values())
    return sets


def image_sets(folder: Path, per_size: int) -> dict[str, list[str]]:
    sets: dict[str, list[str]] = {}
    for path in write_sample_images(folder, per_size=per_size):
        sets.setdefault(path.parent.name, []).append(str(path))
    sets[PNG_SET] = png_set(folder, per_size)
    return {**sets, **small_photo_sets(folder, per_size)}


def _image(output: Any) -> Any:
    return output["image"] if isinstance(output, dict) else output


def floor_call(paths: Sequence[str], short_side: int) -> tuple[Callable[[str], Any], str]:
    """Reading and decoding each file at the smallest DCT scale whose short side covers
    the output (a file libjpeg-turbo does not take, a PNG: a plain OpenCV decode); and
    the scales used."""
    inputs = {
        p: floor_input(p, short_side) if jpeg_size(Path(p).read_bytes()) else None for p in paths
    }

    def floor(path: str) -> Any:
        source = inputs[path]
        if source is None:
            return cv2_rgb_loader(path)
        return decode_floor(source)

    factors = [s.factor for s in inputs.values() if s is not None]
    return floor, factor_text(factors) if factors else "png"


class _Images(Dataset):
    """`call(path)` over the paths, repeated to `items`; returns the image and how far the
    worker's peak resident memory has grown since it started (kB)."""

    def __init__(self, paths: Sequence[str], call: Callable[[str], Any], items: int) -> None:
        self.paths, self.call, self.items = list(paths), call, items

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, i: int) -> tuple[Any, int]:
        output = _image(self.call(self.paths[i % len(self.paths)]))
        return output, _peak_kb() - _WORKER_START_KB[0]


_WORKER_START_KB = [0]


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _start_worker(worker_id: int) -> None:
    cv2.setNumThreads(1)
    _WORKER_START_KB[0] = _peak_kb()  # what it inherited from the parent at fork


def throughput(call: Callable[[str], Any], paths: Sequence[str], items: int) -> tuple[float, float]:
    """Images per second through DataLoader(num_workers=2, batch_size=32, persistent
    workers) over a whole epoch of `items`, after a warm-up epoch; and how much each
    worker's peak resident memory grew above what it inherited (MB)."""
    loader = DataLoader(
        _Images(paths, call, items),
        batch_size=32,
        num_workers=2,
        persistent_workers=True,
        worker_init_fn=_start_worker,
    )
    for _ in loader:  # warm-up: start the workers, fill caches
        pass
    started, images, peak = time.perf_counter(), 0, 0
    for batch, grown in loader:
        images += len(batch)
        peak = max(peak, int(grown.max()))
    elapsed = time.perf_counter() - started
    return images / elapsed, peak / 1024


def run_suite_case(case: Case, name: str, paths: list[str], settings: SuiteSettings) -> SuiteResult:
    transform = case.original()
    plan = reorder.optimize(transform, paths, tolerance=TOLERANCE, progress=False)
    pipeline = plan.pipeline
    original = reference_call(pipeline)
    load = LOADERS[pipeline.loader]
    calls: dict[str, Callable[[str], Any]] = {
        "original": original,
        "plan": plan,
        "plan.transform": lambda p: pipeline.invoke(plan.transform, load(p)),
        "v2 tensors": v2_on_tensors(case.v2_tensor()),
    }
    # An albumentations original is itself the albumentations alternative.
    written_in_albumentations = pipeline.frontend == "albumentations"
    if not written_in_albumentations:
        calls["albumentations"] = albumentations_on_arrays(case.albumentations())
    if case.dali is not None and dali_available() is None:
        calls["DALI"] = DaliRunner(case.dali)
    calls["floor"], floor_factor = floor_call(paths, output_short_side(original, paths[0]))
    medians = time_interleaved(
        calls, {n: paths for n in calls}, settings.repeats, generators=pipeline.generators
    )
    verdict = verify(plan, paths)
    rates, peaks = {}, {}
    for contender in ("original", "plan"):
        rates[contender], peaks[contender] = throughput(
            calls[contender], paths, settings.loader_items
        )
    ms = {n: 1000 * statistics.fmean(m) for n, m in medians.items()}
    if written_in_albumentations:
        ms["albumentations"] = ms["original"]
    return SuiteResult(
        case=case.name,
        images=name,
        ms=ms,
        spread={n: max(m) / min(m) for n, m in medians.items()},
        floor_factor=floor_factor,
        worst_psnr=None if math.isinf(verdict.worst_psnr) else verdict.worst_psnr,
        within_tolerance=verdict.within(TOLERANCE),
        images_per_s=rates,
        peak_worker_mb=peaks,
        chosen=plan.describe(),
    )


def geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan


def suite_targets(results: Sequence[SuiteResult]) -> list[tuple[str, str, str, bool]]:
    """(name, goal, measured, passed) for issue 5's targets."""
    speedups = [r.speedup for r in results]
    over_alt = [r.over_best_alternative for r in results if r.over_best_alternative]
    dominated = [r for r in results if r.decode_dominated]
    worst_floor = max(dominated, key=lambda r: r.over_floor, default=None)
    failing = [f"{r.case} @ {r.images}" for r in results if not r.within_tolerance]
    return [
        (
            "geometric mean speedup over the original",
            f">= {GEOMEAN_OVER_ORIGINAL:.1f}x",
            f"{geomean(speedups):.2f}x over {len(speedups)} cases",
            geomean(speedups) >= GEOMEAN_OVER_ORIGINAL,
        ),
        (
            "geometric mean speedup over the best of v2 tensors, albumentations, DALI",
            f">= {GEOMEAN_OVER_BEST_ALTERNATIVE:.1f}x",
            f"{geomean(over_alt):.2f}x",
            geomean(over_alt) >= GEOMEAN_OVER_BEST_ALTERNATIVE,
        ),
        (
            "decode-dominated cases (floor >= half the original): plan within the floor",
            f"<= {FLOOR_RATIO:.1f}x the floor",
            "none"
            if worst_floor is None
            else f"worst {worst_floor.over_floor:.2f}x ({worst_floor.case} @ "
            f"{worst_floor.images}), {len(dominated)} cases",
            worst_floor is None or worst_floor.over_floor <= FLOOR_RATIO,
        ),
        (
            "every plan within its tolerance on fresh seeds",
            f"'{TOLERANCE}': PSNR >= {TOLERANCES[TOLERANCE][0]:.0f} dB",
            "all" if not failing else "fails: " + ", ".join(failing),
            not failing,
        ),
    ]


def run_suite(folder: Path, settings: SuiteSettings) -> list[SuiteResult]:
    """Each case and image set in a fresh process: how fast a full-size decode runs depends
    on the allocator's history (page faults on Pillow's 16 MiB blocks: 4032x3024 JPEGs
    decoded in 115 ms in a fresh process, 77 ms after other code had grown the heap). A
    fresh process is what a DataLoader worker running one pipeline sees."""
    image_sets(folder, settings.per_size)  # made once, here
    results = []
    for case in CASES:
        if case.name not in settings.cases:
            continue
        for name in settings.sets:
            print(f"  {case.name} @ {name} ...", flush=True)
            one = json.dumps({"case": case.name, "set": name, "settings": asdict(settings)})
            child = subprocess.run(
                [sys.executable, __file__, str(folder), one],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise RuntimeError(f"{case.name} @ {name} failed:\n{child.stderr}")
            results.append(SuiteResult(**json.loads(child.stdout.strip().splitlines()[-1])))
    return results


def _run_one(folder: Path, request: str) -> None:
    """In the child process: one case on one image set, printed as a JSON line."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    wanted = json.loads(request)
    settings = SuiteSettings(**{**wanted["settings"], "cases": (), "sets": ()})
    case = next(c for c in CASES if c.name == wanted["case"])
    paths = image_sets(folder, settings.per_size)[wanted["set"]]
    result = run_suite_case(case, wanted["set"], paths, settings)
    print(json.dumps(asdict(result)))


COLUMNS = ("original", "plan", "plan.transform", "v2 tensors", "albumentations", "DALI", "floor")


def _ms(result: SuiteResult, name: str) -> str:
    return f"{result.ms[name]:.2f}" if name in result.ms else "-"


def suite_rows(results: Sequence[SuiteResult]) -> list[list[str]]:
    rows = []
    for r in results:
        best = r.best_alternative
        rows.append(
            [
                r.case,
                r.images,
                *(_ms(r, c) for c in COLUMNS),
                f"{r.speedup:.2f}x",
                f"{r.over_best_alternative:.2f}x ({best[0]})" if best else "-",
                f"{r.over_floor:.2f}x",
                "identical" if r.worst_psnr is None else f"{r.worst_psnr:.1f} dB",
                f"{r.images_per_s['original']:.0f} / {r.images_per_s['plan']:.0f}",
                f"{r.peak_worker_mb['original']:.0f} / {r.peak_worker_mb['plan']:.0f}",
            ]
        )
    return rows


HEADER = (
    "case",
    "images",
    *(f"{c} ms" for c in COLUMNS),
    "speedup",
    "vs best alternative",
    "plan/floor",
    "worst PSNR",
    "DataLoader img/s orig/plan",
    "worker memory growth MB orig/plan",
)


def suite_markdown(
    results: Sequence[SuiteResult], targets: Sequence[tuple], note: str, issue: int = 5
) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in suite_rows(results)]
    lines += ["", note, "", f"Targets (issue {issue}):", ""]
    lines += [
        f"- {'PASS' if ok else 'MISS'} {name}: {measured} (target {goal})"
        for name, goal, measured, ok in targets
    ]
    return "\n".join(lines) + "\n"


def suite_chart(results: Sequence[SuiteResult], path: Path) -> None:
    """Speedup over the original per case, the best alternative's, and the floor's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.case}\n{r.images}" for r in results]
    x = np.arange(len(results))
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(results)), 5), layout="constrained")
    ax.bar(x - 0.2, [r.speedup for r in results], 0.4, label="plan", color="tab:green")
    alt = [r.ms["original"] / r.best_alternative[1] if r.best_alternative else 0 for r in results]
    ax.bar(x + 0.2, alt, 0.4, label="best alternative", color="tab:gray")
    ax.scatter(
        x - 0.2,
        [r.ms["original"] / r.ms["floor"] for r in results],
        marker="_",
        s=200,
        color="black",
        label="decode floor",
        zorder=3,
    )
    ax.axhline(1.0, color="tab:red", linewidth=1)
    ax.set_xticks(x, labels, rotation=90, fontsize=7)
    ax.set_ylabel("speedup over the original (one thread)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%gx"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([0.5, 1, 2, 3, 5, 10, 20])
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_suite(
    results: Sequence[SuiteResult], targets: Sequence[tuple], note: str, issue: int = 5
) -> None:
    rows = [list(HEADER)] + suite_rows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(note)
    print(f"\nTargets (issue {issue}):")
    for name, goal, measured, ok in targets:
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {measured} (target {goal})")


def as_json(results: Sequence[SuiteResult], targets: Sequence[tuple], note: str) -> dict:
    return {
        "note": note,
        "results": [
            {
                **r.__dict__,
                "speedup": r.speedup,
                "over_best_alternative": r.over_best_alternative,
                "best_alternative": r.best_alternative[0] if r.best_alternative else None,
                "over_floor": r.over_floor,
                "decode_dominated": r.decode_dominated,
            }
            for r in results
        ],
        "targets": [
            {"name": n, "goal": g, "measured": m, "verdict": "PASS" if ok else "MISS"}
            for n, g, m, ok in targets
        ],
    }


def main_suite(
    folder: Path,
    settings: SuiteSettings,
    chart: Path | None,
    check: Callable[[Sequence[SuiteResult]], list[tuple]] = suite_targets,
    issue: int = 5,
) -> tuple[dict, str]:
    """Run the suite; print it with the targets `check` gives; draw its chart (if
    `chart`); return its JSON part and markdown."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    why_not_dali = dali_available()
    note = (
        "ms/image: one thread, mean over images of per-image medians. DataLoader: 2 workers, "
        "batches of 32. "
        + (
            f"DALI column skipped: {why_not_dali}."
            if why_not_dali
            else "DALI: CPU pipeline, one thread, batch of one, no GPU."
        )
    )
    results = run_suite(folder, settings)
    targets = check(results)
    print()
    print_suite(results, targets, note, issue)
    if chart is not None:
        suite_chart(results, chart)
    return as_json(results, targets, note), suite_markdown(results, targets, note, issue)


if __name__ == "__main__":
    _run_one(Path(sys.argv[1]), sys.argv[2])
