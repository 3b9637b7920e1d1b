"""Kernels: pure functions (image, concrete ops, input spec) -> image, one table.

A stage of a physical plan names one of these. `takes` is the container the kernel reads
("pil", "array" for HWC uint8 numpy, or "any" for PIL or tensor); the runtime converts
between stages. `reduce_factor` says how far the source may be decoded below full size
when this kernel comes first (1: it needs every source pixel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reorder.ir import ConcreteOp, ImageSpec
from reorder.ir.geometry import resize_chain_scale
from reorder.kernels import color, cv, lut, pil, reference


def _leading_resize_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, margin: float) -> int:
    return pil.reduce_factor_for_scale(resize_chain_scale(ops, spec), margin)


def _full_resolution(ops: Sequence[ConcreteOp], spec: ImageSpec, margin: float) -> int:
    return 1


def _reference_key(op: ConcreteOp, spec: ImageSpec) -> str:
    if op.per_value:
        return "reference:to_float"
    return "reference:color" if type(op) in color.APPLY_COLOR else "reference"


def _cv_key(table: dict) -> Callable[[ConcreteOp, ImageSpec], str]:
    return lambda op, spec: "cv" if cv.handles(op, spec, table) else "reference"


Branches = Callable[[Sequence[ConcreteOp], ImageSpec, ImageSpec], tuple[str, ...]]


def _cv_branches(table: dict) -> Branches:
    return lambda ops, spec, source: cv.approximate_branches(ops, source, table)


def _exact(ops: Sequence[ConcreteOp], spec: ImageSpec, source: ImageSpec) -> tuple[str, ...]:
    """A kernel that gives the reference's values (to float rounding) on any input."""
    return ()


@dataclass(frozen=True)
class Kernel:
    name: str
    run: Callable[[Any, Sequence[ConcreteOp], ImageSpec, int], Any]
    takes: str
    reduce_factor: Callable[[Sequence[ConcreteOp], ImageSpec, float], int]
    summary: str
    # Which calibrated per-pixel cost applies to one concrete op (see measure.cost).
    cost_key: Callable[[ConcreteOp, ImageSpec], str]
    # The approximate branches it takes on `ops` drawn for a spec, from pixels of a source
    # size (a reduced decode is smaller than the spec), from sizes alone: the runtime runs
    # them only where verification saw them (see ir.envelope). () when it gives the
    # reference's values there.
    branches: Branches


KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in (
        Kernel(
            "reference",
            lambda img, ops, spec, factor: reference.apply_ops(img, ops),
            "any",
            _leading_resize_factor,
            "torchvision.transforms.functional, op by op (what the original runs)",
            _reference_key,
            _exact,
        ),
        Kernel(
            "pil_box",
            pil.box_resample,
            "pil",
            pil.box_reduce_factor,
            "one PIL resample of the composed float source box, then fill and flips",
            lambda op, spec: "pil_box",
            _exact,
        ),
        Kernel(
            "cv",
            lambda img, ops, spec, factor: cv.apply_ops(img, ops, spec),
            "array",
            _leading_resize_factor,
            "OpenCV where it matches PIL (upscale, rotate, flip, crop, pad), else reference",
            _cv_key(cv.CV),
            _cv_branches(cv.CV),
        ),
        Kernel(
            "cv_area",
            lambda img, ops, spec, factor: cv.apply_ops(img, ops, spec, cv.CV_AREA),
            "array",
            _leading_resize_factor,
            "as cv, and antialiased downscales as OpenCV's pixel-area average or blur and sample",
            _cv_key(cv.CV_AREA),
            _cv_branches(cv.CV_AREA),
        ),
        Kernel(
            "cv_blur",
            lambda img, ops, spec, factor: cv.apply_ops(img, ops, spec, cv.CV_BLUR),
            "array",
            _leading_resize_factor,
            "as cv, and bilinear shrinks of up to 3x as a blur of the filter's width and a sample",
            _cv_key(cv.CV_BLUR),
            _cv_branches(cv.CV_BLUR),
        ),
        Kernel(
            "cv_warp_small",
            lambda img, ops, spec, factor: cv.warp_in_smaller_frame(img, ops, spec),
            "array",
            cv.warp_small_reduce_factor,
            "a resize and a rotation with the warp, conjugated by the resize, on the smaller end",
            _cv_key(cv.CV_AREA),
            cv.warp_small_branches,
        ),
        Kernel(
            "cv_color",
            lambda img, ops, spec, factor: cv.apply_ops(img, ops, spec, cv.COLOR),
            "array",
            _full_resolution,
            "ColorJitter and grayscale with Pillow's float32 blends and 8-bit HSV, in OpenCV",
            lambda op, spec: "cv_color" if type(op) in color.APPLY_COLOR else "reference",
            _cv_branches(cv.COLOR),
        ),
        Kernel(
            "lut_to_float",
            lambda img, ops, spec, factor: lut.apply_table(img, ops, spec),
            "array",
            _full_resolution,
            "per-value conversions (ToTensor, Normalize...) as one table lookup (bit-identical)",
            lambda op, spec: "lut_to_float",
            _exact,
        ),
    )
}
