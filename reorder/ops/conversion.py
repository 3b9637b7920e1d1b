"""Conversions: to tensors, between dtypes, and Normalize, with every kernel that does them.

The reference kernels are torchvision's functional API (v2's for `ToImage`/`ToDtype`, and
for tv_tensors, whose type it keeps). The fast kernel, `lut_to_float`, does a chain of
these per-value ops on uint8 pixels as one table lookup: a uint8 channel has 256 values,
so the chain is a 256-entry table per channel. The table is computed by running the
reference kernels themselves on a ramp image holding every value once: whatever float
operations torchvision runs, the table holds their exact results, and one lookup
replaces several passes over the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import functional as F
from torchvision.transforms.v2 import functional as F2

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ir.traits import Trait
from reorder.ops.registry import (
    Container,
    Kernel,
    apply_reference,
    full_resolution,
    register_cost,
    register_kernel,
    register_reference,
)


@dataclass(frozen=True)
class ToFloat(ConcreteOp):
    """`ToTensor`: uint8 HWC image to a float CHW tensor in [0, 1]."""

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("float_tensor", tuple(u * 255.0 for u in spec.levels_per_unit))


@dataclass(frozen=True)
class ToUint8Tensor(ConcreteOp):
    """`PILToTensor`: the same values as a uint8 CHW tensor."""

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("uint8_tensor")


@dataclass(frozen=True)
class ConvertDtype(ConcreteOp):
    """`ConvertImageDtype` between uint8 and float32 (values rescaled by 255)."""

    dtype: str

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        if self.dtype == "uint8":
            scale = 1.0 / 255.0 if spec.kind == "float_tensor" else 1.0
            return spec.with_kind("uint8_tensor", tuple(u * scale for u in spec.levels_per_unit))
        scale = 255.0 if spec.kind == "uint8_tensor" else 1.0
        return spec.with_kind("float_tensor", tuple(u * scale for u in spec.levels_per_unit))


@dataclass(frozen=True)
class Normalize(ConcreteOp):
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        # torchvision broadcasts: one std for all channels, or one channel to len(std).
        stds = self.std * spec.channels if len(self.std) == 1 else self.std
        units = (
            spec.levels_per_unit * len(stds)
            if len(spec.levels_per_unit) == 1
            else spec.levels_per_unit
        )
        scaled = tuple(u * s for u, s in zip(units, stds, strict=True))
        return ImageSpec(spec.width, spec.height, len(stds), spec.kind, scaled)


@dataclass(frozen=True)
class ToImage(ConcreteOp):
    """torchvision v2 `ToImage`: a uint8 CHW `tv_tensors.Image` with the same values."""

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("uint8_tensor")


@dataclass(frozen=True)
class ToDtype(ConcreteOp):
    """torchvision v2 `ToDtype` on images: a dtype, values rescaled when `scale`."""

    dtype: str
    scale: bool

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        to_float = self.dtype != "uint8"
        factor = 1.0
        if self.scale and spec.kind == "uint8_tensor" and to_float:
            factor = 255.0
        elif self.scale and spec.kind == "float_tensor" and not to_float:
            factor = 1.0 / 255.0
        kind = "float_tensor" if to_float else "uint8_tensor"
        return spec.with_kind(kind, tuple(u * factor for u in spec.levels_per_unit))


TO_TENSOR_TRAITS = Trait.TO_TENSOR | Trait.PER_VALUE
PER_VALUE_TRAITS = Trait.PER_VALUE

# -- reference kernels -------------------------------------------------------------------

_COST = "reference:to_float"
register_reference(ToFloat, _COST)(lambda img, op: F.to_tensor(img))
register_reference(ToUint8Tensor, _COST)(lambda img, op: F.pil_to_tensor(img))
register_reference(ToImage, _COST)(lambda img, op: F2.to_image(img))
register_reference(ToDtype, _COST)(
    lambda img, op: F2.to_dtype(img, getattr(torch, op.dtype), scale=op.scale)
)
register_reference(ConvertDtype, _COST)(
    lambda img, op: F.convert_image_dtype(
        img, torch.uint8 if op.dtype == "uint8" else torch.float32
    )
)


@register_reference(Normalize, _COST)
def _normalize(img: Any, op: Normalize) -> Any:
    normalize = F2.normalize if isinstance(img, tv_tensors.TVTensor) else F.normalize
    return normalize(img, list(op.mean), list(op.std))


# -- one table lookup ---------------------------------------------------------------------

_MODES = {1: "L", 3: "RGB"}


@lru_cache(maxsize=64)
def _table(ops: tuple[ConcreteOp, ...], channels: int) -> tuple[np.ndarray, type]:
    """(table of shape (out_channels, 256), output tensor type) for uint8 input."""
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    if channels > 1:
        ramp = np.repeat(ramp[..., None], channels, axis=2)
    out = apply_reference(Image.fromarray(ramp, _MODES[channels]), ops)
    return np.ascontiguousarray(out.numpy()[:, 0, :]), type(out)


def apply_table(
    img: np.ndarray | Image.Image, ops: Sequence[ConcreteOp], spec: ImageSpec, factor: int = 1
) -> torch.Tensor:
    arr = np.asarray(img)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if arr.dtype != np.uint8 or channels not in _MODES:
        pil = img if isinstance(img, Image.Image) else Image.fromarray(arr)
        return apply_reference(pil, ops)
    table, kind = _table(tuple(ops), channels)
    out = np.empty((table.shape[0],) + arr.shape[:2], table.dtype)
    planes = [arr] if arr.ndim == 2 else cv2.split(arr)
    for c in range(table.shape[0]):
        # Normalize broadcasts one gray channel to len(mean) channels, as torchvision does.
        cv2.LUT(planes[min(c, len(planes) - 1)], table[c], dst=out[c])
    result = torch.from_numpy(out)
    return tv_tensors.Image(result) if issubclass(kind, tv_tensors.Image) else result


LUT_TO_FLOAT = register_kernel(
    Kernel(
        "lut_to_float",
        apply_table,
        Container.ARRAY,
        full_resolution,
        "per-value conversions (ToTensor, Normalize...) as one table lookup (bit-identical)",
        lambda op, spec: "lut_to_float",
        lambda ops, spec, source: (),  # the reference's own values, looked up
    )
)

# -- cost classes ------------------------------------------------------------------------

_TO_FLOAT = (ToFloat(), Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
register_cost(_COST, lambda c: apply_reference(c.pil, _TO_FLOAT), touched=2.0)
register_cost("lut_to_float", lambda c: apply_table(c.array, _TO_FLOAT, c.spec), touched=2.0)
