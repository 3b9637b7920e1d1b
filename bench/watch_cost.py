"""What checking for a changed pipeline costs each call.

A plan refuses to run once its pipeline object changed (`PipelineChangedError`); the
check runs on every call. Per frontend, an ImageNet train pipeline is planned on real
photos of ImageNet's sizes, then the plan is timed with and without the check,
interleaved on the same photos (one thread), and the check alone is timed in a loop.

    python bench/watch_cost.py [--out PATH]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import sys
import time
from pathlib import Path

import albumentations as A
import cv2
import torch
from albumentations.pytorch import ToTensorV2
from torchvision import transforms as T
from torchvision.transforms import v2

import reorder
from reorder.measure.timing import time_interleaved
from reorder.photos import PLANNING, UNSEEN, write_photos

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "sample_images" / "real_photos"
DEFAULT_OUT = ROOT / "bench" / "results" / "watch_cost.json"
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
IMAGENET_SIZED = ("imagenet_500x375", "imagenet_375x500", "voc_333x501", "vga_640x480")
CHECKS = 20000


def pipelines() -> dict[str, tuple[object, str]]:
    return {
        "torchvision": (
            T.Compose(
                [
                    T.RandomResizedCrop(224),
                    T.RandomHorizontalFlip(),
                    T.ColorJitter(0.4, 0.4, 0.4),
                    T.ToTensor(),
                    T.Normalize(MEAN, STD),
                ]
            ),
            "pil",
        ),
        "torchvision.v2 (tensors)": (
            v2.Compose(
                [
                    v2.RandomResizedCrop(224),
                    v2.RandomHorizontalFlip(),
                    v2.ToDtype(torch.float32, scale=True),
                    v2.Normalize(MEAN, STD),
                ]
            ),
            "torchvision.io",
        ),
        "albumentations": (
            A.Compose(
                [
                    A.RandomResizedCrop((224, 224)),
                    A.HorizontalFlip(),
                    A.HueSaturationValue(),
                    A.Normalize(),
                    ToTensorV2(),
                ],
                seed=0,
            ),
            "cv2",
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    photos = write_photos(PHOTOS, PLANNING + UNSEEN)
    samples = [photos[name] for name, *_ in PLANNING]
    timed = [photos[name] for name in IMAGENET_SIZED]
    rows = []
    for name, (transform, loader) in pipelines().items():
        plan = reorder.optimize(transform, samples, loader=loader, seeds=1, progress=False)
        unchecked = copy.copy(plan.transform)
        unchecked.watch = copy.copy(plan.transform.watch)
        unchecked.watch.changes = lambda: None
        lazy = [plan.loader(p) for p in timed]
        medians = time_interleaved(
            {
                "checked": functools.partial(plan.pipeline.invoke, plan.transform),
                "unchecked": functools.partial(plan.pipeline.invoke, unchecked),
            },
            {"checked": lazy, "unchecked": lazy},
            repeats=15,
            generators=plan.pipeline.generators,
        )
        checked_ms, unchecked_ms = (1000 * sum(medians[k]) / len(timed) for k in medians)
        watch = plan.transform.watch
        start = time.perf_counter()
        for _ in range(CHECKS):
            watch.changes()
        check_us = (time.perf_counter() - start) / CHECKS * 1e6
        rows.append(
            {
                "pipeline": name,
                "objects_watched": len(watch._objects),
                "check_us": check_us,
                "checked_ms": checked_ms,
                "unchecked_ms": unchecked_ms,
                "ratio": checked_ms / unchecked_ms,
            }
        )
    print(f"plan.transform on {len(timed)} ImageNet-sized photos, one thread:")
    print(f"  {'pipeline':<26} {'check µs':>9} {'with ms':>8} {'without':>8} {'ratio':>6}")
    for row in rows:
        print(
            f"  {row['pipeline']:<26} {row['check_us']:>9.1f} {row['checked_ms']:>8.3f} "
            f"{row['unchecked_ms']:>8.3f} {row['ratio']:>6.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"photos": IMAGENET_SIZED, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
