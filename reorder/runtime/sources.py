"""What a plan runs on: lazy paths, undecoded JPEGs, and the containers between kernels."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from reorder.ir import ImageSpec
from reorder.ops.decode import LOADERS, decode_jpeg
from reorder.ops.registry import Container

# PIL modes the plan's kernels handle; images in other modes take the original pipeline.
_PLANNED_MODES = {"RGB": 3, "L": 1}


class LazyImage:
    """A path whose pixels are decoded by `plan.transform`, at the size the plan needs.

    Returned by `plan.loader`; cheap to create and to pickle.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"LazyImage({self.path!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyImage, (self.path,))

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()


@dataclass
class JpegSource:
    """A JPEG not yet decoded: the plan first learns what size it needs."""

    data: bytes
    size: tuple[int, int]
    path: str
    loader: str  # the reference loader, a name in LOADERS

    def decode(self, factor: int) -> tuple[Any, int]:
        """Pixels at 1/factor size and the factor actually used."""
        try:
            return decode_jpeg(self.data, self.size, factor), factor
        except ValueError:
            # libjpeg-turbo refuses what the reference loader may accept (truncated files
            # with LOAD_TRUNCATED_IMAGES) or rejects otherwise: let the reference decide,
            # as the original did, at full size, which every kernel takes.
            return LOADERS[self.loader](self.path), 1


def spec_of(img: Any, units: tuple[float, ...] = (1.0,)) -> ImageSpec | None:
    """Spec of an image the plan can run on, or None for inputs it hands to the original.

    Arrays are albumentations' HWC images: uint8 ("array"), or float with `units`.
    """
    if isinstance(img, Image.Image):
        if img.mode not in _PLANNED_MODES:
            return None
        return ImageSpec(img.width, img.height, _PLANNED_MODES[img.mode])
    if isinstance(img, np.ndarray) and img.ndim in (2, 3):
        channels = 1 if img.ndim == 2 else img.shape[2]
        if img.dtype == np.uint8:
            return ImageSpec(img.shape[1], img.shape[0], channels, "array", (1.0,) * channels)
        units = units if len(units) == channels else units[:1] * channels
        return ImageSpec(img.shape[1], img.shape[0], channels, "float_array", units)
    return None


def tensor_spec(img: torch.Tensor, units: tuple[float, ...]) -> ImageSpec:
    kind = "uint8_tensor" if img.dtype == torch.uint8 else "float_tensor"
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return ImageSpec(img.shape[-1], img.shape[-2], channels, kind, units[:1] * channels)


def spec_after(img: Any, units: tuple[float, ...]) -> ImageSpec | None:
    """Spec of what an op called as written returned; None for anything but an image
    (the rest of the pipeline then runs as written too)."""
    if isinstance(img, torch.Tensor):
        return tensor_spec(img, units) if img.ndim >= 2 else None
    return spec_of(img, units)


def planned_input(img: Any, kind: str) -> ImageSpec | None:
    """Spec of an input the plan runs on: what the reference loader makes (an RGB or L
    PIL image, an HxWx3 uint8 array, a 3xHxW uint8 tensor), else None."""
    if kind == "pil" and isinstance(img, Image.Image):
        return spec_of(img)
    if kind == "array" and isinstance(img, np.ndarray) and img.dtype == np.uint8:
        return spec_of(img) if img.ndim == 3 and img.shape[2] == 3 else None
    if kind == "uint8_tensor" and isinstance(img, torch.Tensor) and img.dtype == torch.uint8:
        return tensor_spec(img, (1.0,)) if img.ndim == 3 and img.shape[0] == 3 else None
    return None


def reads_pil(takes: Container, kind: str) -> bool:
    """Whether a kernel reads PIL images; one that takes the original's container reads
    what the original had at that point (a PIL image for a "pil" spec)."""
    return takes is Container.PIL or (takes is Container.ORIGINAL and kind == "pil")


def to_container(img: Any, takes: Container, kind: str = "pil") -> Any:
    """`img` as a kernel that takes `takes` reads it, where the original has `kind`."""
    if takes is Container.ARRAY and isinstance(img, Image.Image):
        return np.asarray(img)
    if reads_pil(takes, kind) and isinstance(img, np.ndarray):
        return Image.fromarray(img)
    if takes is Container.ORIGINAL and kind == "uint8_tensor" and isinstance(img, np.ndarray):
        return torch.from_numpy(img).permute(2, 0, 1)  # CHW over HWC memory, as decode_image
    return img


def original_container(img: Any, kind: str) -> Any:
    """`img` in the container the original has where the spec's kind is `kind` (PIL for
    PIL stages, HWC arrays for albumentations, CHW tensors for torchvision.io input)."""
    if kind == "pil":
        return to_container(img, Container.PIL, kind)
    if kind == "array":
        return to_container(img, Container.ARRAY, kind)
    if kind == "uint8_tensor":
        return to_container(img, Container.ORIGINAL, kind)
    return img
