"""The suite's cases: each pipeline as its user writes it, and the same ops written for what
the user would pick instead (torchvision v2 on decoded tensors, albumentations on OpenCV
arrays, NVIDIA DALI's CPU pipeline). Each alternative is a function of an image path."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import transforms as T
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms import v2

from reorder.ops.decode import cv2_rgb_loader

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
MEAN_255 = [m * 255 for m in MEAN]
STD_255 = [s * 255 for s in STD]


@dataclass(frozen=True)
class Case:
    name: str
    original: Callable[[], Any]  # the pipeline as its user wrote it
    v2_tensor: Callable[[], Any]  # the same ops in v2, on decode_image tensors
    albumentations: Callable[[], Any]  # the same ops in albumentations
    dali: Callable[[Any], Any] | None  # the same ops as a DALI graph on encoded bytes


def _v1_tail() -> list[Any]:
    return [T.ToTensor(), T.Normalize(MEAN, STD)]


def _v2_tail() -> list[Any]:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]


def _albu_tail() -> list[Any]:
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    return [A.Normalize(MEAN, STD), ToTensorV2()]


def _dali():
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    return fn, types


def _dali_decode(encoded: Any) -> Any:
    fn, types = _dali()
    return fn.decoders.image(encoded, device="cpu", output_type=types.RGB)


def _dali_normalize(images: Any, crop: tuple[int, int] | None = None, mirror: Any = 0) -> Any:
    fn, types = _dali()
    extra = {"crop": crop} if crop else {}
    return fn.crop_mirror_normalize(
        images,
        dtype=types.FLOAT,
        output_layout="CHW",
        mean=MEAN_255,
        std=STD_255,
        mirror=mirror,
        **extra,
    )


def _dali_eval(encoded: Any) -> Any:
    fn, _ = _dali()
    images = fn.resize(_dali_decode(encoded), resize_shorter=256, antialias=True)
    return _dali_normalize(images, crop=(224, 224))


def _dali_train(encoded: Any) -> Any:
    fn, types = _dali()
    images = fn.decoders.image_random_crop(encoded, device="cpu", output_type=types.RGB)
    images = fn.resize(images, size=(224, 224), antialias=True)
    return _dali_normalize(images, mirror=fn.random.coin_flip())


def _dali_resize_rotate(encoded: Any, rotate_first: bool) -> Any:
    fn, _ = _dali()
    images = _dali_decode(encoded)
    angle = fn.random.uniform(range=(-8.0, 8.0))
    if rotate_first:
        images = fn.rotate(images, angle=angle, keep_size=True, fill_value=0)
        images = fn.resize(images, size=(1024, 1024), antialias=True)
    else:
        images = fn.resize(images, size=(1024, 1024), antialias=True)
        images = fn.rotate(images, angle=angle, keep_size=True, fill_value=0)
    return _dali_normalize(images)


def _dali_kaggle(encoded: Any) -> Any:
    fn, types = _dali()
    images = fn.decoders.image_random_crop(encoded, device="cpu", output_type=types.RGB)
    images = fn.resize(images, size=(224, 224), antialias=True)
    images = fn.flip(images, horizontal=fn.random.coin_flip())
    images = fn.rotate(images, angle=fn.random.uniform(range=(-45.0, 45.0)), keep_size=True)
    images = fn.hsv(
        images,
        hue=fn.random.uniform(range=(-20.0, 20.0)),
        saturation=fn.random.uniform(range=(0.85, 1.15)),
        value=fn.random.uniform(range=(0.9, 1.1)),
    )
    images = fn.brightness_contrast(
        images,
        brightness=fn.random.uniform(range=(0.8, 1.2)),
        contrast=fn.random.uniform(range=(0.8, 1.2)),
    )
    return _dali_normalize(images)


def _dali_color(encoded: Any) -> Any:
    fn, _ = _dali()
    images = fn.color_twist(
        _dali_decode(encoded),
        brightness=fn.random.uniform(range=(0.6, 1.4)),
        contrast=fn.random.uniform(range=(0.6, 1.4)),
        saturation=fn.random.uniform(range=(0.6, 1.4)) * (1 - fn.random.coin_flip(probability=0.2)),
        hue=fn.random.uniform(range=(-36.0, 36.0)),
    )
    images = fn.resize(images, resize_shorter=256, antialias=True)
    return _dali_normalize(images, crop=(224, 224))


def _albu(*transforms: Callable[[Any], list[Any]]) -> Callable[[], Any]:
    def make() -> Any:
        import albumentations as A

        return A.Compose([t for make_ops in transforms for t in make_ops(A)] + _albu_tail())

    return make


_kaggle = _albu(
    lambda A: [
        A.RandomResizedCrop((224, 224)),
        A.HorizontalFlip(),
        A.ShiftScaleRotate(),
        A.HueSaturationValue(),
        A.RandomBrightnessContrast(),
    ]
)

CASES: tuple[Case, ...] = (
    Case(
        "eval",
        lambda: T.Compose([T.Resize(256), T.CenterCrop(224), *_v1_tail()]),
        lambda: v2.Compose([v2.Resize(256), v2.CenterCrop(224), *_v2_tail()]),
        _albu(lambda A: [A.SmallestMaxSize(256), A.CenterCrop(224, 224)]),
        _dali_eval,
    ),
    Case(
        "train",
        lambda: T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), *_v1_tail()]),
        lambda: v2.Compose([v2.RandomResizedCrop(224), v2.RandomHorizontalFlip(), *_v2_tail()]),
        _albu(lambda A: [A.RandomResizedCrop((224, 224)), A.HorizontalFlip()]),
        _dali_train,
    ),
    Case(
        "resize->rotate",
        lambda: T.Compose([T.Resize((1024, 1024)), T.RandomRotation([-8, 8]), *_v1_tail()]),
        lambda: v2.Compose([v2.Resize((1024, 1024)), v2.RandomRotation([-8, 8]), *_v2_tail()]),
        _albu(lambda A: [A.Resize(1024, 1024), A.Rotate(limit=8, border_mode=0, p=1.0)]),
        functools.partial(_dali_resize_rotate, rotate_first=False),
    ),
    Case(
        "rotate->resize",
        lambda: T.Compose([T.RandomRotation([-8, 8]), T.Resize((1024, 1024)), *_v1_tail()]),
        lambda: v2.Compose([v2.RandomRotation([-8, 8]), v2.Resize((1024, 1024)), *_v2_tail()]),
        _albu(lambda A: [A.Rotate(limit=8, border_mode=0, p=1.0), A.Resize(1024, 1024)]),
        functools.partial(_dali_resize_rotate, rotate_first=True),
    ),
    Case(
        "kaggle (albumentations)",
        _kaggle,
        lambda: v2.Compose(
            [
                v2.RandomResizedCrop(224),
                v2.RandomHorizontalFlip(),
                v2.RandomAffine(45, translate=(0.0625, 0.0625), scale=(0.9, 1.1)),
                v2.ColorJitter(0.2, 0.2, 0.15, 0.05),
                *_v2_tail(),
            ]
        ),
        _kaggle,  # written in albumentations: the original is that alternative
        _dali_kaggle,
    ),
    Case(
        "color->downscale",
        lambda: T.Compose(
            [
                T.ColorJitter(0.4, 0.4, 0.4, 0.1),
                T.RandomGrayscale(0.2),
                T.Resize(256),
                T.CenterCrop(224),
                *_v1_tail(),
            ]
        ),
        lambda: v2.Compose(
            [
                v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
                v2.RandomGrayscale(0.2),
                v2.Resize(256),
                v2.CenterCrop(224),
                *_v2_tail(),
            ]
        ),
        _albu(
            lambda A: [
                A.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0),
                A.ToGray(p=0.2),
                A.SmallestMaxSize(256),
                A.CenterCrop(224, 224),
            ]
        ),
        _dali_color,
    ),
)


def v2_on_tensors(transform: Any) -> Callable[[str], Any]:
    return lambda path: transform(decode_image(read_file(path), mode=ImageReadMode.RGB))


def albumentations_on_arrays(transform: Any) -> Callable[[str], Any]:
    return lambda path: transform(image=cv2_rgb_loader(path))["image"]


def dali_available() -> str | None:
    """None if DALI's CPU pipeline can run here, else why not."""
    try:
        _dali()
    except Exception as exc:  # not installed, or no build for this platform
        return f"NVIDIA DALI not available ({type(exc).__name__}: {exc})"
    return None


class DaliRunner:
    """A DALI CPU pipeline (one thread, batch of one, no GPU) as a function of a path."""

    def __init__(self, graph: Callable[[Any], Any], seed: int = 0) -> None:
        from nvidia.dali import pipeline_def

        fn, types = _dali()

        @pipeline_def(
            batch_size=1,
            num_threads=1,
            device_id=None,
            seed=seed,
            prefetch_queue_depth=1,
            exec_pipelined=False,
            exec_async=False,
        )
        def pipeline() -> Any:
            return graph(fn.external_source(name="encoded", dtype=types.UINT8, ndim=1))

        self.pipeline = pipeline()
        self.pipeline.build()

    def __call__(self, path: str) -> np.ndarray:
        self.pipeline.feed_input("encoded", [np.fromfile(Path(path), dtype=np.uint8)])
        (output,) = self.pipeline.run()
        return np.array(output[0])
