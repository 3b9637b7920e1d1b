"""The embedded default job: plan the pipelines users ask about on the project's own images."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torchvision import transforms as T
from torchvision.transforms import v2

from reorder.samples import write_sample_images

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Made once and reused, in the user's cache (not the current folder: they are 4 MB).
DEFAULT_SAMPLE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "reorder" / "sample_images"
)


@dataclass(frozen=True)
class DemoCase:
    name: str
    make_transform: Callable[[], Any]
    image_set: str  # a DEMO_SIZES name: the images this case runs on
    loader: str | None = None  # what the original reads files with (optimize's `loader`)


def _normalize() -> list[Any]:
    return [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


def _albumentations_eval() -> Any:
    """The eval pipeline as an albumentations user writes it (OpenCV resize, no antialias)."""
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    return A.Compose(
        [
            A.SmallestMaxSize(256),
            A.CenterCrop(224, 224),
            A.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            ToTensorV2(),
        ]
    )


def _v2_tensor_eval() -> Any:
    """The eval pipeline as a v2 user writes it for uint8 tensors from torchvision.io."""
    return v2.Compose(
        [
            v2.Resize(256),
            v2.CenterCrop(224),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


CASES: tuple[DemoCase, ...] = (
    DemoCase(
        "eval, 4032x3024",
        lambda: T.Compose([T.Resize(256), T.CenterCrop(224), *_normalize()]),
        "photo_4032x3024",
    ),
    DemoCase("eval (albumentations), 4032x3024", _albumentations_eval, "photo_4032x3024"),
    DemoCase(
        "eval (v2 on tensors), 4032x3024", _v2_tensor_eval, "photo_4032x3024", "torchvision.io"
    ),
    DemoCase(
        "eval, 1920x1080",
        lambda: T.Compose([T.Resize(256), T.CenterCrop(224), *_normalize()]),
        "frame_1920x1080",
    ),
    DemoCase(
        "eval (v2), 1920x1080",
        lambda: v2.Compose(
            [
                v2.Resize(256),
                v2.CenterCrop(224),
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            ]
        ),
        "frame_1920x1080",
    ),
    DemoCase("eval (albumentations), 1920x1080", _albumentations_eval, "frame_1920x1080"),
    DemoCase(
        "train, 500x375",
        lambda: T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), *_normalize()]),
        "imagenet_500x375",
    ),
    DemoCase(
        "resize->rotate, 384x512",
        lambda: T.Compose([T.Resize((1024, 1024)), T.RandomRotation([-8, 8]), *_normalize()]),
        "portrait_384x512",
    ),
    DemoCase(
        "rotate->resize, 384x512",
        lambda: T.Compose([T.RandomRotation([-8, 8]), T.Resize((1024, 1024)), *_normalize()]),
        "portrait_384x512",
    ),
)


def case_paths(case: DemoCase, folder: Path = DEFAULT_SAMPLE_DIR, per_size: int = 4) -> list[str]:
    paths = write_sample_images(folder, per_size=per_size)
    return [str(p) for p in paths if p.parent.name == case.image_set]
