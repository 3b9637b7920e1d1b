"""Colour: ColorJitter's adjustments and grayscale, with every kernel that does them.

torchvision's ColorJitter and Grayscale on PIL images call `ImageEnhance` (a blend with a
"degenerate" image: float32 arithmetic, truncated to uint8) and Pillow's HSV conversion.
The same arithmetic in OpenCV's float32 primitives (backend `opencv_colour`, on HWC uint8
arrays or HW gray ones) gives the same bytes for brightness, contrast, saturation and
grayscale, and for hue all but a few pixels per thousand (float rounding at quantization
edges, a few levels). Hue is why this exists: Pillow converts to HSV and back pixel by
pixel, 8x slower than this on a 341x256 image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from torchvision.transforms import functional as F

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ir.traits import Trait
from reorder.ops.registry import (
    Branch,
    Container,
    register_cost,
    register_op_kernel,
    register_reference,
)


@dataclass(frozen=True)
class ColorAdjust(ConcreteOp):
    """One `ColorJitter` draw: the factors, applied in `order` (0 b, 1 c, 2 s, 3 h)."""

    order: tuple[int, ...]
    brightness: float | None
    contrast: float | None
    saturation: float | None
    hue: float | None


@dataclass(frozen=True)
class Gray(ConcreteOp):
    """Luma conversion with `channels` output channels (1, or 3 identical ones)."""

    channels: int

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_channels(self.channels)


GRAY_TRAITS = Trait.POINTWISE


def jitter_traits(contrast: object) -> Trait:
    """A ColorJitter (v1 or v2): contrast blends each pixel with the mean of the whole
    image, so a jitter with contrast commutes with a whole-image resize (which keeps the
    mean) but not with a crop."""
    return Trait.READS_MEAN if contrast is not None else Trait.POINTWISE


# -- reference kernels -------------------------------------------------------------------

_REFERENCE_ADJUST = {
    0: F.adjust_brightness,
    1: F.adjust_contrast,
    2: F.adjust_saturation,
    3: F.adjust_hue,
}


@register_reference(ColorAdjust, cost="reference:color")
def _adjust(img: Any, op: ColorAdjust) -> Any:
    factors = (op.brightness, op.contrast, op.saturation, op.hue)
    for fn_id in op.order:
        if factors[fn_id] is not None:
            img = _REFERENCE_ADJUST[fn_id](img, factors[fn_id])
    return img


@register_reference(Gray, cost="reference:color")
def _gray(img: Any, op: Gray) -> Any:
    return F.rgb_to_grayscale(img, op.channels)


# -- OpenCV kernels with Pillow's arithmetic ----------------------------------------------

OPENCV_COLOUR = "opencv_colour"

# Pillow's luma: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16. Every partial sum is an
# integer below 2**24, so float32 holds it exactly and the floor below is Pillow's shift.
_LUMA_WEIGHTS = np.array([[19595.0, 38470.0, 7471.0]], np.float32)
_VALUES = np.arange(256, dtype=np.float32)


def luma(arr: np.ndarray) -> np.ndarray:
    """Pillow's `convert("L")` of an RGB array, as float32 integers."""
    weighted = cv2.transform(arr.astype(np.float32), _LUMA_WEIGHTS)
    return np.floor((weighted + np.float32(0x8000)) * np.float32(1 / 65536))


def _truncate(values: np.ndarray) -> np.ndarray:
    """Pillow's blend result: clipped to 0..255, then truncated toward zero."""
    return np.clip(values, 0, 255).astype(np.uint8)


def _blend_table(degenerate: float, factor: float) -> np.ndarray:
    """`Image.blend` of a constant `degenerate` image with every uint8 value."""
    base = np.float32(degenerate)
    return _truncate(base + np.float32(factor) * (_VALUES - base))


def _lut(arr: np.ndarray, table: np.ndarray) -> np.ndarray:
    return cv2.LUT(arr, table).reshape(arr.shape)


def brightness(arr: np.ndarray, factor: float) -> np.ndarray:
    """`ImageEnhance.Brightness`: a blend with black."""
    return _lut(arr, _blend_table(0.0, factor))


def contrast(arr: np.ndarray, factor: float) -> np.ndarray:
    """`ImageEnhance.Contrast`: a blend with the mean luma, rounded as Pillow rounds it."""
    gray = arr.astype(np.float32) if arr.ndim == 2 else luma(arr)
    mean = int(gray.sum(dtype=np.float64) / gray.size + 0.5)
    return _lut(arr, _blend_table(mean, factor))


def saturation(arr: np.ndarray, factor: float) -> np.ndarray:
    """`ImageEnhance.Color`: a blend with the luma (on a gray image, the image itself)."""
    if arr.ndim == 2:
        return arr
    gray = cv2.merge([luma(arr)] * 3)
    return _truncate(gray + np.float32(factor) * (arr.astype(np.float32) - gray))


def hue(arr: np.ndarray, factor: float) -> np.ndarray:
    """torchvision's `adjust_hue` on PIL: Pillow's 8-bit HSV, hue shifted with wrap-around.

    Pillow stores h as int(255 * turns) and s as int(255 * s); OpenCV's float conversion
    gives degrees and [0, 1], quantized here the same way, and converts back exactly as
    Pillow does (p, q, t rounded)."""
    if arr.ndim == 2:
        return arr
    h, s, v = cv2.split(cv2.cvtColor(arr.astype(np.float32), cv2.COLOR_RGB2HSV))
    shift = np.int32(factor * 255).astype(np.uint8)
    h8 = np.floor(h * np.float32(255 / 360)).astype(np.uint8)
    h8 += shift  # wraps around in uint8, as torchvision's does
    h = h8.astype(np.float32) * np.float32(360 / 255)
    s = np.floor(s * np.float32(255)) * np.float32(1 / 255)
    rgb = cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2RGB)
    return np.rint(rgb).astype(np.uint8)


_ADJUST = {0: brightness, 1: contrast, 2: saturation, 3: hue}


def color_adjust(arr: np.ndarray, op: ColorAdjust) -> np.ndarray:
    """One ColorJitter draw: the adjustments in the drawn order."""
    factors = (op.brightness, op.contrast, op.saturation, op.hue)
    for fn_id in op.order:
        if factors[fn_id] is not None:
            arr = _ADJUST[fn_id](arr, factors[fn_id])
    return arr


def gray(arr: np.ndarray, op: Gray) -> np.ndarray:
    """torchvision's `rgb_to_grayscale` on PIL: Pillow's luma, replicated to 3 channels."""
    single = arr if arr.ndim == 2 else luma(arr).astype(np.uint8)
    return single if op.channels == 1 else cv2.merge([single] * 3)


def _opencv(name: str, run: Any, approximate: bool) -> Branch:
    return Branch(name, run, Container.ARRAY, approximate, cost="cv_color")


# Hue is the one adjustment not byte-identical to Pillow's: its own branch.
_BLEND = _opencv("color_blend", color_adjust, approximate=False)
_HUE = _opencv("color_hue", color_adjust, approximate=True)
_GRAY = _opencv("gray", gray, approximate=False)
register_op_kernel(ColorAdjust, OPENCV_COLOUR)(lambda op, spec: _HUE if op.hue else _BLEND)
register_op_kernel(Gray, OPENCV_COLOUR)(lambda op, spec: _GRAY)

# -- cost classes ------------------------------------------------------------------------

_JITTER = ColorAdjust((0, 1, 2, 3), 1.2, 0.8, 1.1, 0.05)
register_cost("reference:color", lambda c: _adjust(c.pil, _JITTER), touched=2.0)
register_cost("cv_color", lambda c: color_adjust(c.array, _JITTER), touched=2.0)
