"""One resample of a composed source box instead of resize-then-crop (the `pil_box` kernel).

`compose_box` turns e.g. Resize(256) -> CenterCrop(224) -> Flip into "resample this float
box of the source to 224x224, then flip": the same pixels computed from a region instead
of the whole image. It keeps the sub-pixel offset (rounding the box shifts the image by up
to a pixel, which costs ~10 dB) and remembers which source pixels the original could see
(a crop *before* a resize hides its surroundings from the filter; a crop after does not).
The same composition says how far a JPEG may be decoded below full size before the box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image
from torchvision.transforms import functional as F

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ops.geometry import Crop, Flip, Pad, Resample, Resize
from reorder.ops.registry import (
    Container,
    Kernel,
    apply_reference,
    register_cost,
    register_kernel,
)

# Nearest-neighbour sampling floors positions: any change in how a position is computed
# (a box offset, a mirror) can move a whole pixel, so it is never composed.
NEAREST = frozenset({"nearest", "nearest-exact"})


@dataclass(frozen=True)
class Axis:
    """One axis of a composed box: output index x reads source coordinate offset + scale*x."""

    offset: float
    scale: float
    clip: tuple[int, int]  # source pixels the original's filter could reach
    valid: tuple[int, int]  # output pixels with content; the rest is fill
    size: int  # output canvas size


@dataclass(frozen=True)
class BoxMap:
    """A run of Resize/Crop/Pad/Flip ops as one resample of a source box plus fill."""

    x: Axis
    y: Axis
    interpolation: str | None  # None: no resample, the box is an integer crop
    antialias: bool | None
    flip_horizontal: bool
    flip_vertical: bool
    fill: float | tuple[float, ...]

    @property
    def out_size(self) -> tuple[int, int]:
        return self.x.size, self.y.size

    def source_box(self) -> tuple[float, float, float, float]:
        """The source region (left, top, right, bottom) that lands on the valid output."""
        x, y = self.x, self.y
        return (
            x.offset + x.scale * x.valid[0],
            y.offset + y.scale * y.valid[0],
            x.offset + x.scale * x.valid[1],
            y.offset + y.scale * y.valid[1],
        )

    def decode_scale(self) -> float:
        """Output pixels per source pixel along the *less* reduced axis: a decode that
        keeps this scale leaves both axes shrinking (the more reduced one would enlarge
        the other)."""
        return max(1.0 / self.x.scale, 1.0 / self.y.scale)


def compose_box(ops: Sequence[ConcreteOp], spec: ImageSpec) -> BoxMap | None:
    """Compose axis-aligned ops, or None where one box cannot express them exactly.

    Supported: any number of crops, constant pads and flips, and at most one resize whose
    input has no fill in it (resampling fill would blend it with the content).
    """
    axes = [_start_axis(spec.width), _start_axis(spec.height)]
    flips = [False, False]
    interpolation: str | None = None
    antialias: bool | None = None
    fill: float | tuple[float, ...] = 0
    filled = False
    for op in ops:
        if isinstance(op, Flip):
            index = 0 if op.horizontal else 1
            flips[index] = not flips[index]
        elif isinstance(op, Crop):
            starts, sizes = [op.left, op.top], [op.width, op.height]
            beyond = any(starts[i] < 0 or starts[i] + sizes[i] > axes[i].size for i in range(2))
            if beyond:  # the crop reads zeros outside the canvas
                if filled and fill != 0:
                    return None
                fill, filled = 0, True
            for i in range(2):
                start = axes[i].size - starts[i] - sizes[i] if flips[i] else starts[i]
                axes[i] = _crop_axis(axes[i], start, sizes[i], resampled=interpolation is not None)
        elif isinstance(op, Pad):
            if op.mode != "constant" or (filled and op.fill != fill):
                return None
            before = [op.left, op.top]
            after = [op.right, op.bottom]
            for i in range(2):
                lead, trail = (after[i], before[i]) if flips[i] else (before[i], after[i])
                axes[i] = _pad_axis(axes[i], lead, trail)
            fill, filled = op.fill, True
        elif isinstance(op, Resize):
            if interpolation is not None or filled or op.width <= 0 or op.height <= 0:
                return None  # zero sizes: let the reference raise what torchvision raises
            if op.interpolation in NEAREST:
                return None  # ties floor to whole pixels: a shifted box moves them
            sizes = [op.width, op.height]
            axes = [_resize_axis(axes[i], sizes[i]) for i in range(2)]
            interpolation, antialias = op.interpolation, op.antialias
        else:
            return None
    return BoxMap(axes[0], axes[1], interpolation, antialias, flips[0], flips[1], fill)


def _start_axis(size: int) -> Axis:
    return Axis(offset=0.0, scale=1.0, clip=(0, size), valid=(0, size), size=size)


def _crop_axis(axis: Axis, start: int, size: int, resampled: bool) -> Axis:
    valid = (max(0, axis.valid[0] - start), min(size, axis.valid[1] - start))
    if valid[0] >= valid[1]:
        valid = (0, 0)
    clip = axis.clip
    if not resampled:  # before any resize the crop hides the rest from the filter
        lo = axis.offset + axis.scale * max(start, axis.valid[0])
        hi = axis.offset + axis.scale * min(start + size, axis.valid[1])
        clip = (max(clip[0], math.floor(lo)), min(clip[1], math.ceil(hi)))
    return Axis(axis.offset + axis.scale * start, axis.scale, clip, valid, size)


def _pad_axis(axis: Axis, lead: int, trail: int) -> Axis:
    valid = (axis.valid[0] + lead, axis.valid[1] + lead)
    return Axis(
        axis.offset - axis.scale * lead, axis.scale, axis.clip, valid, axis.size + lead + trail
    )


def _resize_axis(axis: Axis, size: int) -> Axis:
    scale = axis.scale * axis.size / size
    return Axis(axis.offset, scale, axis.clip, (0, size), size)


def resize_chain_scale(ops: Sequence[ConcreteOp], spec: ImageSpec) -> float:
    """Output pixels per source pixel of the first resize in `ops` along its less reduced
    axis (so a decode at that scale shrinks neither axis below the output), if nothing
    before it depends on absolute coordinates (else 1.0: the full resolution is needed)."""
    for op in ops:
        if isinstance(op, Resample):
            return max(op.width / spec.width, op.height / spec.height)
        if not isinstance(op, Flip):
            return 1.0
    return 1.0


_FLIPS = (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM)


def _fill_color(fill: float | tuple[float, ...], mode: str) -> int | tuple[int, ...]:
    """The colour torchvision's PIL pad uses for `fill` (ints, one per band)."""
    bands = len(mode)
    if isinstance(fill, tuple):
        values = fill * bands if len(fill) == 1 else fill
        return tuple(int(v) for v in values)
    return tuple([int(fill)] * bands) if bands > 1 else int(fill)


def box_resample(
    img: Image.Image, ops: Sequence[ConcreteOp], spec: ImageSpec, source_factor: int = 1
) -> Image.Image:
    """Apply axis-aligned `ops` as one resample; `img` may be the source at 1/source_factor."""
    box = compose_box(ops, spec)
    if box is None:
        return apply_reference(img, ops)
    out = _resample_valid(img, box, source_factor)
    if box.x.valid != (0, box.x.size) or box.y.valid != (0, box.y.size):
        canvas = Image.new(img.mode, box.out_size, _fill_color(box.fill, img.mode))
        if out is not None:
            canvas.paste(out, (box.x.valid[0], box.y.valid[0]))
        out = canvas
    if box.flip_horizontal:
        out = out.transpose(_FLIPS[0])
    if box.flip_vertical:
        out = out.transpose(_FLIPS[1])
    return out


def _resample_valid(img: Image.Image, box: BoxMap, k: int) -> Image.Image | None:
    width = box.x.valid[1] - box.x.valid[0]
    height = box.y.valid[1] - box.y.valid[0]
    if width <= 0 or height <= 0:
        return None
    left, top, right, bottom = (v / k for v in box.source_box())
    if box.interpolation is None:
        return img.crop((round(left), round(top), round(right), round(bottom)))
    clip = (
        math.floor(box.x.clip[0] / k),
        math.floor(box.y.clip[0] / k),
        min(img.width, math.ceil(box.x.clip[1] / k)),
        min(img.height, math.ceil(box.y.clip[1] / k)),
    )
    if clip != (0, 0, img.width, img.height):
        img = img.crop(clip)
        left, right = left - clip[0], right - clip[0]
        top, bottom = top - clip[1], bottom - clip[1]
    resample = F.pil_modes_mapping[F.InterpolationMode(box.interpolation)]
    return img.resize((width, height), resample, box=(left, top, right, bottom))


def box_reduce_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, min_shrink: float) -> int:
    """Largest DCT reduction (8, 4, 2 or 1) that keeps `min_shrink` source pixels per
    output pixel along both axes, so the resample after it still only shrinks."""
    box = compose_box(ops, spec)
    if box is None or box.interpolation is None:
        return 1
    return reduce_factor_for_scale(box.decode_scale(), min_shrink)


def reduce_factor_for_scale(scale: float, min_shrink: float) -> int:
    factor = 8
    while factor > 1 and 1.0 / factor < scale * min_shrink:
        factor //= 2
    return factor


def leading_resize_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, min_shrink: float) -> int:
    """The DCT reduction for a kernel that runs `ops` one by one: the first resize's."""
    return reduce_factor_for_scale(resize_chain_scale(ops, spec), min_shrink)


PIL_BOX = register_kernel(
    Kernel(
        "pil_box",
        box_resample,
        Container.PIL,
        box_reduce_factor,
        "one PIL resample of the composed float source box, then fill and flips",
        lambda op, spec: "pil_box",
        lambda ops, spec, source: (),  # PIL's own filter on PIL's own box: exact
    )
)
register_cost(
    "pil_box",
    lambda c: box_resample(c.pil, [Resize(c.spec.width // 2, c.spec.height // 2)], c.spec),
    touched=1.25,
)
