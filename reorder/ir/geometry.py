"""Composing runs of axis-aligned concrete ops into one source box, and affine algebra.

`compose_box` turns e.g. Resize(256) -> CenterCrop(224) -> Flip into "resample this float
box of the source to 224x224, then flip": the same pixels computed from a region instead
of the whole image. It keeps the sub-pixel offset (rounding the box shifts the image by up
to a pixel, which costs ~10 dB) and remembers which source pixels the original could see
(a crop *before* a resize hides its surroundings from the filter; a crop after does not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reorder.ir.ops import ConcreteOp, Crop, Flip, Pad, Resample, Resize, Rotate
from reorder.ir.spec import ImageSpec

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


def rotation_matrix(op: Rotate, width: int, height: int) -> np.ndarray:
    """PIL's inverse map of `rotate` (output pixel coordinates -> input), as a 3x3 matrix.

    Same construction as PIL: rotate by -angle about the centre, then shift for `expand`.
    """
    a = -math.radians(op.angle % 360.0)
    cos_a, sin_a = round(math.cos(a), 15), round(math.sin(a), 15)
    cx, cy = op.center if op.center is not None else (width / 2.0, height / 2.0)
    m = np.array(
        [
            [cos_a, sin_a, cx - cos_a * cx - sin_a * cy],
            [-sin_a, cos_a, cy + sin_a * cx - cos_a * cy],
            [0.0, 0.0, 1.0],
        ]
    )
    if op.expand:
        out_w, out_h = op.output_spec(ImageSpec(width, height)).size
        shift = m @ np.array([-(out_w - width) / 2.0, -(out_h - height) / 2.0, 1.0])
        m[0, 2], m[1, 2] = shift[0], shift[1]
    return m
