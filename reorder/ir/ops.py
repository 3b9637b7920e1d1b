"""Concrete ops: one logical op with its random parameters already drawn.

A frontend turns each user transform plus an input spec into a short list of these; the
kernels apply them. They carry no pixels and no randomness, so they print, compare and
serialize like plain data. Coordinates are in pixels of the op's own input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from reorder.ir.spec import ImageSpec


class ConcreteOp:
    """Base class. `geometric` ops move pixels; `pointwise` ones change values in place;
    `per_value` ones map each channel value on its own (a 256-entry table for uint8)."""

    geometric = False
    pointwise = False
    per_value = False

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec


@dataclass(frozen=True)
class Resample(ConcreteOp):
    """A resample of the whole image to width x height. The subclasses say whose
    arithmetic runs; kernels match them by their own type, never by this one."""

    width: int
    height: int
    geometric = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_size(self.width, self.height)


@dataclass(frozen=True)
class Resize(Resample):
    """Resample to width x height (torchvision semantics for `interpolation`/`antialias`)."""

    interpolation: str = "bilinear"
    antialias: bool | None = True


@dataclass(frozen=True)
class TensorResize(Resample):
    """torchvision v2's resize of a tensor image: on CPU it resamples uint8 natively (no
    float round trip) for bilinear and bicubic, so it differs from v1's on tensors."""

    interpolation: str = "bilinear"
    antialias: bool | None = True


@dataclass(frozen=True)
class Crop(ConcreteOp):
    """Integer crop; parts outside the image read as zeros (as PIL and torchvision do)."""

    left: int
    top: int
    width: int
    height: int
    geometric = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_size(self.width, self.height)

    def inside(self, spec: ImageSpec) -> bool:
        return (
            self.left >= 0
            and self.top >= 0
            and self.left + self.width <= spec.width
            and self.top + self.height <= spec.height
        )


@dataclass(frozen=True)
class Pad(ConcreteOp):
    left: int
    top: int
    right: int
    bottom: int
    fill: float | tuple[float, ...] = 0
    mode: str = "constant"
    geometric = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_size(
            spec.width + self.left + self.right, spec.height + self.top + self.bottom
        )


@dataclass(frozen=True)
class Flip(ConcreteOp):
    horizontal: bool
    geometric = True


@dataclass(frozen=True)
class Rotate(ConcreteOp):
    """Counter-clockwise rotation by `angle` degrees about `center` (PIL's convention)."""

    angle: float
    interpolation: str = "nearest"
    expand: bool = False
    center: tuple[float, float] | None = None
    fill: float | tuple[float, ...] | None = None
    geometric = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        if not self.expand:
            return spec
        return spec.with_size(*expanded_size(self.angle, spec.width, spec.height, self.center))


@dataclass(frozen=True)
class ToFloat(ConcreteOp):
    """`ToTensor`: uint8 HWC image to a float CHW tensor in [0, 1]."""

    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("float_tensor", tuple(u * 255.0 for u in spec.units))


@dataclass(frozen=True)
class ToUint8Tensor(ConcreteOp):
    """`PILToTensor`: the same values as a uint8 CHW tensor."""

    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("uint8_tensor")


@dataclass(frozen=True)
class ConvertDtype(ConcreteOp):
    """`ConvertImageDtype` between uint8 and float32 (values rescaled by 255)."""

    dtype: str

    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        if self.dtype == "uint8":
            scale = 1.0 / 255.0 if spec.kind == "float_tensor" else 1.0
            return spec.with_kind("uint8_tensor", tuple(u * scale for u in spec.units))
        scale = 255.0 if spec.kind == "uint8_tensor" else 1.0
        return spec.with_kind("float_tensor", tuple(u * scale for u in spec.units))


@dataclass(frozen=True)
class Normalize(ConcreteOp):
    mean: tuple[float, ...]
    std: tuple[float, ...]

    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        # torchvision broadcasts: one std for all channels, or one channel to len(std).
        stds = self.std * spec.channels if len(self.std) == 1 else self.std
        units = spec.units * len(stds) if len(spec.units) == 1 else spec.units
        scaled = tuple(u * s for u, s in zip(units, stds, strict=True))
        return replace(spec, channels=len(stds), units=scaled)


@dataclass(frozen=True)
class ColorAdjust(ConcreteOp):
    """One `ColorJitter` draw: the factors, applied in `order` (0 b, 1 c, 2 s, 3 h)."""

    order: tuple[int, ...]
    brightness: float | None
    contrast: float | None
    saturation: float | None
    hue: float | None
    pointwise = True


@dataclass(frozen=True)
class Gray(ConcreteOp):
    """Luma conversion with `channels` output channels (1, or 3 identical ones)."""

    channels: int
    pointwise = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_channels(self.channels)


@dataclass(frozen=True)
class ToImage(ConcreteOp):
    """torchvision v2 `ToImage`: a uint8 CHW `tv_tensors.Image` with the same values."""

    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_kind("uint8_tensor")


@dataclass(frozen=True)
class ToDtype(ConcreteOp):
    """torchvision v2 `ToDtype` on images: a dtype, values rescaled when `scale`."""

    dtype: str
    scale: bool
    per_value = True

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        to_float = self.dtype != "uint8"
        factor = 1.0
        if self.scale and spec.kind == "uint8_tensor" and to_float:
            factor = 255.0
        elif self.scale and spec.kind == "float_tensor" and not to_float:
            factor = 1.0 / 255.0
        kind = "float_tensor" if to_float else "uint8_tensor"
        return spec.with_kind(kind, tuple(u * factor for u in spec.units))


def expanded_size(
    angle: float, width: int, height: int, center: tuple[float, float] | None = None
) -> tuple[int, int]:
    """Canvas size of PIL's `rotate(expand=True)`: the bounding box of the turned corners."""
    angle = angle % 360.0
    if center is None and angle in (0.0, 90.0, 180.0, 270.0):  # PIL's transpose fast paths
        return (height, width) if angle in (90.0, 270.0) else (width, height)
    a = -math.radians(angle)
    cos_a, sin_a = round(math.cos(a), 15), round(math.sin(a), 15)
    cx, cy = center if center is not None else (width / 2.0, height / 2.0)
    # PIL folds the centre into the matrix's offset, so the corners carry it too.
    off_x = cx - cos_a * cx - sin_a * cy
    off_y = cy + sin_a * cx - cos_a * cy
    xs, ys = [], []
    for x, y in ((0, 0), (width, 0), (width, height), (0, height)):
        xs.append(cos_a * x + sin_a * y + off_x)
        ys.append(-sin_a * x + cos_a * y + off_y)
    return math.ceil(max(xs)) - math.floor(min(xs)), math.ceil(max(ys)) - math.floor(min(ys))


@dataclass(frozen=True)
class CvResize(Resample):
    """OpenCV resample to width x height (albumentations' resizes; no antialiasing)."""

    interpolation: int  # a cv2.INTER_* flag


@dataclass(frozen=True, eq=False)
class TransformApply(ConcreteOp):
    """The user's own transform applied with parameters it has already drawn (its
    `apply_with_params` for albumentations, its `transform(inpt, params)` for v2).

    For transforms whose parameters can be drawn from the size alone but whose pixel work
    no faster kernel models: the plan still draws them in the user's order (they are not
    barriers), and applies them where the original did, with the original's code.
    """

    transform: Any
    params: dict[str, Any]
    drawn_for: ImageSpec  # the input its params were drawn for
    output: ImageSpec  # what it makes of that input

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return self.output
