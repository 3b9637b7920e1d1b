"""A resize and a rotation as one warp, at whichever end has fewer pixels (`cv_warp_small`).

Resize S then rotation R (inverse map R') equals, when S enlarges, warping the source by
S^-1 R' S and then resizing; rotation then resize equals, when S shrinks, resizing first
and warping by S R' S^-1. With an aspect-changing S these conjugates are general affines,
not rotations: rotating by the same angle in the other frame would be wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ops.backends import CV, CV_AREA
from reorder.ops.box import reduce_factor_for_scale, resize_chain_scale
from reorder.ops.geometry import (
    MIN_APPROXIMATE_SIDE,
    OPENCV,
    OPENCV_AREA,
    WARP_FLAGS,
    Resize,
    Rotate,
    rotation_matrix,
    warp,
)
from reorder.ops.registry import REFERENCE, Container, Kernel, branch_for, register_kernel


def _resize_rotate_pair(ops: Sequence[ConcreteOp]) -> tuple[Resize, Rotate] | None:
    """The resize and the plain rotation (no expand, centred) of a two-op stage, else None."""
    resize = next((op for op in ops if isinstance(op, Resize)), None)
    rotate = next((op for op in ops if isinstance(op, Rotate)), None)
    if resize is None or rotate is None or len(ops) != 2:
        return None
    if rotate.expand or rotate.center is not None or rotate.interpolation not in WARP_FLAGS:
        return None
    return resize, rotate


def _shrinks_first(ops: Sequence[ConcreteOp], spec: ImageSpec) -> bool:
    """Rotation then a shrink: the kernel resizes first (so it reads no coordinates)."""
    pair = _resize_rotate_pair(ops)
    if pair is None or not isinstance(ops[0], Rotate):
        return False
    resize = pair[0]
    return resize.width * resize.height <= spec.width * spec.height


def _reduce_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, min_shrink: float) -> int:
    """A resize first reads no coordinates, nor does a rotation the kernel moves after a
    shrink: the source may be decoded reduced for either."""
    leading = ops[1:] if _shrinks_first(ops, spec) else ops
    return reduce_factor_for_scale(resize_chain_scale(leading, spec), min_shrink)


def _route(ops: Sequence[ConcreteOp], spec: ImageSpec) -> str:
    """How the kernel does `ops` drawn for `spec`: "shrink_then_warp",
    "warp_then_enlarge", or "op_by_op" (as the cv kernel would)."""
    pair = _resize_rotate_pair(ops)
    small = min(spec.width, spec.height, *(pair[0].output_spec(spec).size if pair else ()))
    if pair is None or small < MIN_APPROXIMATE_SIDE:
        return "op_by_op"
    resize = pair[0]
    if _shrinks_first(ops, spec):
        return "shrink_then_warp"
    if isinstance(ops[0], Resize) and resize.width * resize.height > spec.width * spec.height:
        return "warp_then_enlarge"
    return "op_by_op"


def _resize_branch(resize: Resize, spec: ImageSpec, backends: tuple[str, ...]) -> str:
    name = branch_for(resize, spec, backends).name
    return "pil" if name == REFERENCE else name  # the reference runs on PIL here


def _branches(ops: Sequence[ConcreteOp], spec: ImageSpec, source: ImageSpec) -> tuple[str, ...]:
    """The approximate path taken on `ops` drawn for `spec`, from pixels of size `source`
    (a reduced decode, or `spec` itself)."""
    route = _route(ops, spec)
    if route == "op_by_op":
        return CV.branches(ops, source, source)
    resize, rotate = _resize_rotate_pair(ops)
    if route == "shrink_then_warp":
        return (route, _resize_branch(resize, source, (OPENCV_AREA, OPENCV)), rotate.interpolation)
    return (route, rotate.interpolation, _resize_branch(resize, spec, (OPENCV,)))


def warp_in_smaller_frame(
    arr: np.ndarray, ops: Sequence[ConcreteOp], spec: ImageSpec, factor: int = 1
) -> np.ndarray:
    """`ops` (a resize and a rotation), with the warp done at the end with fewer pixels.
    Shrinking first, `arr` may be a reduced decode of the `spec`-sized source: the resize
    reads no coordinates, and it is done as the cv_area kernel does it (the source has no
    fill yet)."""
    route = _route(ops, spec)
    if route == "op_by_op":
        return CV.run(arr, ops, spec, factor)
    resize, rotate = _resize_rotate_pair(ops)
    in_w, in_h = spec.size
    scale = np.diag([resize.width / in_w, resize.height / in_h, 1.0])
    if route == "shrink_then_warp":
        resized = CV_AREA.run(arr, [resize], spec, factor)
        inverse = scale @ rotation_matrix(rotate, in_w, in_h) @ np.linalg.inv(scale)
        return warp(
            resized, inverse, (resize.width, resize.height), rotate.interpolation, rotate.fill
        )
    inverse = np.linalg.inv(scale) @ rotation_matrix(rotate, resize.width, resize.height) @ scale
    warped = warp(arr, inverse, (in_w, in_h), rotate.interpolation, rotate.fill)
    return CV.run(warped, [resize], spec, 1)


CV_WARP_SMALL = register_kernel(
    Kernel(
        "cv_warp_small",
        warp_in_smaller_frame,
        Container.ARRAY,
        _reduce_factor,
        "a resize and a rotation with the warp, conjugated by the resize, on the smaller end",
        lambda op, spec: CV_AREA.cost_key(op, spec),
        _branches,
    )
)
