"""OpenCV kernels on HWC uint8 arrays, each matching the PIL result it replaces.

An op is done here only where OpenCV computes (within rounding) what PIL computes: a
bilinear *upscale* (PIL's antialias filter is plain bilinear when enlarging; OpenCV has no
antialiasing when shrinking), a rotation with PIL's matrix shifted to OpenCV's pixel
centres, flips, in-bounds crops and pads. Everything else goes through the reference
kernel on a PIL image, so the result is right for every input, not only the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image

from reorder.ir import ColorAdjust, ConcreteOp, Crop, Flip, Gray, ImageSpec, Pad, Resize, Rotate
from reorder.ir.geometry import resize_chain_scale, rotation_matrix
from reorder.kernels import color
from reorder.kernels.pil import reduce_factor_for_scale
from reorder.kernels.reference import APPLY

_BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
}
_WARP_FLAGS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR}


def _border_value(fill: object, channels: int) -> tuple[float, ...]:
    if fill is None:
        return (0.0,) * 4
    values = list(fill) if isinstance(fill, tuple) else [fill] * channels
    return tuple(float(int(v)) for v in values) + (0.0,) * (4 - len(values))


_TRANSPOSES = {
    180.0: cv2.ROTATE_180,
    90.0: cv2.ROTATE_90_COUNTERCLOCKWISE,
    270.0: cv2.ROTATE_90_CLOCKWISE,
}
# PIL floors exact sample positions; OpenCV rounds them in 1/1024 px fixed point. Nudging
# by half a fixed-point step sends exact integer positions (common at right angles) the
# way PIL sends them.
_TIE_NUDGE = 1.0 / 2048


def _rotate_branch(op: Rotate, spec: ImageSpec) -> str:
    if op.interpolation not in _WARP_FLAGS:
        return PIL
    angle = op.angle % 360.0
    if op.center is None and angle == 0.0:
        return "rotate_identity"
    if (
        op.center is None
        and angle in _TRANSPOSES
        and (angle == 180.0 or op.expand or spec.width == spec.height)
    ):
        return "rotate_transpose"  # PIL's exact transpose paths
    if min(spec.width, spec.height) < _MIN_APPROXIMATE_SIDE:
        return PIL  # all edge: where OpenCV's border handling and PIL's differ
    return "rotate_warp"


def _rotate_warp(arr: np.ndarray, op: Rotate) -> np.ndarray:
    height, width = arr.shape[:2]
    out_size = op.output_spec(ImageSpec(width, height)).size
    return warp(arr, rotation_matrix(op, width, height), out_size, op.interpolation, op.fill)


def warp(
    arr: np.ndarray,
    inverse: np.ndarray,
    out_size: tuple[int, int],
    interpolation: str,
    fill: object,
) -> np.ndarray:
    """Warp with `inverse` (3x3, output -> input, continuous coordinates) as PIL would."""
    # PIL samples the source at m @ (x + 0.5, y + 0.5); OpenCV at m' @ (x, y) in a frame
    # whose pixel centres are integers: m' = shift(-0.5) @ m @ shift(+0.5).
    shifted = inverse[:2].copy()
    shifted[:, 2] += 0.5 * (inverse[:2, 0] + inverse[:2, 1]) - 0.5 + _TIE_NUDGE
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    border = _border_value(fill, channels)
    flags = cv2.WARP_INVERSE_MAP
    if interpolation == "nearest":
        return cv2.warpAffine(
            arr,
            shifted,
            out_size,
            flags=flags | cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    # PIL's bilinear fills only where the sample point falls outside the image and
    # replicates edge pixels inside it; the nearest warp of a mask finds that region.
    out = cv2.warpAffine(
        arr, shifted, out_size, flags=flags | cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    height, width = arr.shape[:2]
    inside = cv2.warpAffine(
        np.ones((height, width), np.uint8),
        shifted,
        out_size,
        flags=flags | cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    out[inside == 0] = border[:channels] if channels > 1 else border[0]
    return out


def _crop(arr: np.ndarray, op: Crop) -> np.ndarray:
    return arr[op.top : op.top + op.height, op.left : op.left + op.width]


def _pad(arr: np.ndarray, op: Pad) -> np.ndarray:
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    return cv2.copyMakeBorder(
        arr,
        op.top,
        op.bottom,
        op.left,
        op.right,
        _BORDERS[op.mode],
        value=_border_value(op.fill, channels),
    )


# Below this size (a shrink's output; a warp's or an enlargement's input) edge rows
# dominate the error, and PIL is cheap anyway.
_MIN_APPROXIMATE_SIDE = 32
# Filters whose antialiased downscale OpenCV's pixel-area average approximates (42-53 dB
# against PIL's bilinear on photos; bilinear itself mostly by a blur, below); nearest keeps
# its own sampling.
_SMOOTH = frozenset({"bilinear", "bicubic", "box", "hamming", "lanczos"})
# Up to this shrink antialiasing acts little: plain bilinear stayed >= 39 dB from PIL's
# on grain-heavy photos (the aliasing worst case) and is ~5x faster than the pixel-area
# path OpenCV takes at non-integer factors.
_MILD_SHRINK = 1.5

# PIL's antialiased bilinear filter is a triangle reaching `shrink` source pixels each
# side: standard deviation shrink / sqrt(6). A Gaussian blur with that deviation, then a
# plain bilinear sample, stayed above 50 dB against PIL on photos, closer than the pixel-area
# average and 2-3x faster than OpenCV's pixel-area path at non-integer factors. Beyond
# this shrink the blur's kernel grows wide, and the pixel-area path is the faster one.
_TRIANGLE_DEVIATION = 1 / math.sqrt(6)
_BLUR_MAX_SHRINK = 3.0
# Along an axis shrunk by less than this, PIL's triangle is barely wider than bilinear
# interpolation's own: blurring first overshoots (51.3 vs 53.1 dB at 1.03x, photos).
_BLUR_MIN_SHRINK = 1.125


def _blur_then_sample(arr: np.ndarray, op: Resize) -> np.ndarray:
    height, width = arr.shape[:2]
    deviations = (_TRIANGLE_DEVIATION * width / op.width, _TRIANGLE_DEVIATION * height / op.height)
    # PIL's filter widens only along an axis it shrinks; elsewhere it is plain bilinear
    # interpolation (an enlarged axis) or no resampling at all (one left at its size).
    sizes = [
        2 * math.ceil(3 * d) + 1 if out * _BLUR_MIN_SHRINK < size else 1
        for d, out, size in zip(deviations, (op.width, op.height), (width, height), strict=True)
    ]
    if sizes != [1, 1]:
        arr = cv2.GaussianBlur(arr, sizes, sigmaX=deviations[0], sigmaY=deviations[1])
    return cv2.resize(arr, (op.width, op.height), interpolation=cv2.INTER_LINEAR)


def _blurs(op: Resize, spec: ImageSpec) -> bool:
    """A bilinear resize that shrinks some axis, by at most `_BLUR_MAX_SHRINK`: the one
    resize `_blur_then_sample` does, whether or not the other axis enlarges."""
    shrink = max(spec.width / op.width, spec.height / op.height)
    big_enough = min(op.width, op.height) >= _MIN_APPROXIMATE_SIDE
    return op.interpolation == "bilinear" and big_enough and 1 < shrink <= _BLUR_MAX_SHRINK


def _shrinks(op: Resize, spec: ImageSpec) -> bool:
    big_enough = min(op.width, op.height) >= _MIN_APPROXIMATE_SIDE
    fits = op.width <= spec.width and op.height <= spec.height
    return op.interpolation in _SMOOTH and big_enough and fits


def _linear_branch(op: Resize, spec: ImageSpec) -> str:
    """PIL's bilinear filter is plain bilinear interpolation when it enlarges both axes,
    but for the edge rows, which PIL renormalizes and OpenCV replicates: on an input of a
    few pixels (a 23x15 thumbnail enlarged 13x) they are the whole image."""
    enlarges = op.width >= spec.width and op.height >= spec.height
    big_enough = min(spec.width, spec.height) >= _MIN_APPROXIMATE_SIDE
    return "resize_linear" if op.interpolation == "bilinear" and enlarges and big_enough else PIL


def _area_branch(op: Resize, spec: ImageSpec) -> str:
    if _shrinks(op, spec):
        # Output sizes are rounded down (341 for 512 * 2/3): a shrink is mild when the
        # unrounded size, within one pixel, is.
        mild = (
            spec.width < (op.width + 1) * _MILD_SHRINK
            and spec.height < (op.height + 1) * _MILD_SHRINK
        )
        # At whole factors OpenCV's pixel-area path is a fast box average: keep it there.
        whole = spec.width % op.width == 0 and spec.height % op.height == 0
        if _blurs(op, spec) and not (mild or whole):
            return "resize_blur"
        return "resize_mild_linear" if mild else "resize_area"
    if _blurs(op, spec):  # one axis shrinks, the other enlarges
        return "resize_blur"
    return _linear_branch(op, spec)


def _blur_branch(op: Resize, spec: ImageSpec) -> str:
    return "resize_blur" if _blurs(op, spec) else _linear_branch(op, spec)


def _inter(mode: int) -> Callable[[np.ndarray, Resize], np.ndarray]:
    return lambda arr, op: cv2.resize(arr, (op.width, op.height), interpolation=mode)


# A kernel's branch: the name of the code path it takes for one op at one input size,
# decided from sizes alone, so the runtime can tell before running it whether that path
# was verified. PIL: the reference kernel on a PIL image (exact).
PIL = "pil"
BRANCHES: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "resize_linear": _inter(cv2.INTER_LINEAR),
    "resize_mild_linear": _inter(cv2.INTER_LINEAR),
    "resize_area": _inter(cv2.INTER_AREA),
    "resize_blur": _blur_then_sample,
    "rotate_identity": lambda arr, op: arr,
    "rotate_transpose": lambda arr, op: cv2.rotate(arr, _TRANSPOSES[op.angle % 360.0]),
    "rotate_warp": _rotate_warp,
    "flip": lambda arr, op: cv2.flip(arr, 1 if op.horizontal else 0),
    "crop": _crop,
    "pad": _pad,
    "color_blend": color.color_adjust,
    "color_hue": color.color_adjust,
    "gray": color.gray,
}
Chooser = Callable[[Any, ImageSpec], str]
# Per kernel, per op type: which branch runs. An op type missing from a table runs PIL.
CV: dict[type, Chooser] = {
    Resize: _linear_branch,
    Rotate: _rotate_branch,
    Flip: lambda op, spec: "flip",
    Crop: lambda op, spec: "crop" if op.inside(spec) else PIL,
    Pad: lambda op, spec: "pad" if op.mode in _BORDERS else PIL,
}
CV_AREA = {**CV, Resize: _area_branch}
CV_BLUR = {**CV, Resize: _blur_branch}
# Hue is the one adjustment not byte-identical to Pillow's: its own branch.
COLOR: dict[type, Chooser] = {
    ColorAdjust: lambda op, spec: "color_hue" if op.hue else "color_blend",
    Gray: lambda op, spec: "gray",
}


def branch(op: ConcreteOp, spec: ImageSpec, table: dict[type, Chooser] = CV) -> str:
    chooser = table.get(type(op))
    return chooser(op, spec) if chooser is not None else PIL


def handles(op: ConcreteOp, spec: ImageSpec, table: dict[type, Chooser] = CV) -> bool:
    """Whether OpenCV (not the PIL fallback) runs `op` on an image of `spec` with `table`."""
    return branch(op, spec, table) != PIL


def array_spec(arr: np.ndarray) -> ImageSpec:
    return ImageSpec(arr.shape[1], arr.shape[0], 1 if arr.ndim == 2 else arr.shape[2])


# The branches whose output differs from PIL's beyond rounding: the ones verification
# must have seen. The others (slicing, flips, transposes, pads, Pillow's own blends,
# PIL itself) give the reference's bytes wherever they run.
APPROXIMATE = frozenset(
    {
        "resize_linear",
        "resize_mild_linear",
        "resize_area",
        "resize_blur",
        "rotate_warp",
        "color_hue",
    }
)


def approximate_branches(
    ops: Sequence[ConcreteOp], spec: ImageSpec, table: dict[type, Chooser] = CV
) -> tuple[str, ...]:
    """The approximate branches `apply_ops` takes on `ops` from an input of `spec`, in
    order; from sizes alone, no pixels read."""
    taken = []
    for op in ops:
        taken.append(branch(op, spec, table))
        spec = op.output_spec(spec)
    return tuple(b for b in taken if b in APPROXIMATE)


def apply_ops(
    arr: np.ndarray, ops: Sequence[ConcreteOp], spec: ImageSpec, table: dict = CV
) -> np.ndarray:
    for op in ops:
        taken = branch(op, array_spec(arr), table)
        if taken == PIL:
            arr = np.asarray(APPLY[type(op)](Image.fromarray(arr), op))
        else:
            arr = BRANCHES[taken](arr, op)
    return arr


def _resize_rotate_pair(ops: Sequence[ConcreteOp]) -> tuple[Resize, Rotate] | None:
    """The resize and the plain rotation (no expand, centred) of a two-op stage, else None."""
    resize = next((op for op in ops if isinstance(op, Resize)), None)
    rotate = next((op for op in ops if isinstance(op, Rotate)), None)
    if resize is None or rotate is None or len(ops) != 2:
        return None
    if rotate.expand or rotate.center is not None or rotate.interpolation not in _WARP_FLAGS:
        return None
    return resize, rotate


def _shrinks_first(ops: Sequence[ConcreteOp], spec: ImageSpec) -> bool:
    """Rotation then a shrink: the kernel resizes first (so it reads no coordinates)."""
    pair = _resize_rotate_pair(ops)
    if pair is None or not isinstance(ops[0], Rotate):
        return False
    resize = pair[0]
    return resize.width * resize.height <= spec.width * spec.height


def warp_small_reduce_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, margin: float) -> int:
    """How far the source may be decoded below full size for `warp_in_smaller_frame`: a
    resize first reads no coordinates, nor does a rotation the kernel moves after a shrink."""
    leading = ops[1:] if _shrinks_first(ops, spec) else ops
    return reduce_factor_for_scale(resize_chain_scale(leading, spec), margin)


def _warp_small_route(ops: Sequence[ConcreteOp], spec: ImageSpec) -> str:
    """How `warp_in_smaller_frame` does `ops` drawn for `spec`: "shrink_then_warp",
    "warp_then_enlarge", or "op_by_op" (as the cv kernel would)."""
    pair = _resize_rotate_pair(ops)
    small = min(spec.width, spec.height, *(pair[0].output_spec(spec).size if pair else ()))
    if pair is None or small < _MIN_APPROXIMATE_SIDE:
        return "op_by_op"
    resize = pair[0]
    if _shrinks_first(ops, spec):
        return "shrink_then_warp"
    if isinstance(ops[0], Resize) and resize.width * resize.height > spec.width * spec.height:
        return "warp_then_enlarge"
    return "op_by_op"


def warp_small_branches(
    ops: Sequence[ConcreteOp], spec: ImageSpec, source: ImageSpec
) -> tuple[str, ...]:
    """The approximate path `warp_in_smaller_frame` takes on `ops` drawn for `spec`, from
    pixels of size `source` (a reduced decode, or `spec` itself)."""
    route = _warp_small_route(ops, spec)
    if route == "op_by_op":
        return approximate_branches(ops, source)
    resize, rotate = _resize_rotate_pair(ops)
    if route == "shrink_then_warp":
        return (route, branch(resize, source, CV_AREA), rotate.interpolation)
    return (route, rotate.interpolation, branch(resize, spec))


def warp_in_smaller_frame(
    arr: np.ndarray, ops: Sequence[ConcreteOp], spec: ImageSpec
) -> np.ndarray:
    """A resize and a rotation, with the warp done at whichever end has fewer pixels.

    Resize S then rotation R (inverse map R') equals, when S enlarges, warping the source
    by S^-1 R' S and then resizing; rotation then resize equals, when S shrinks, resizing
    first and warping by S R' S^-1. With an aspect-changing S these conjugates are general
    affines, not rotations: rotating by the same angle in the other frame would be wrong.
    Shrinking first, `arr` may be a reduced decode of the `spec`-sized source: the resize
    reads no coordinates, and it is done as the cv_area kernel does it (the source has no
    fill yet).
    """
    path = _warp_small_route(ops, spec)
    if path == "op_by_op":
        return apply_ops(arr, ops, spec)
    resize, rotate = _resize_rotate_pair(ops)
    in_w, in_h = spec.size
    scale = np.diag([resize.width / in_w, resize.height / in_h, 1.0])
    if path == "shrink_then_warp":
        resized = apply_ops(arr, [resize], spec, CV_AREA)
        inverse = scale @ rotation_matrix(rotate, in_w, in_h) @ np.linalg.inv(scale)
        return warp(
            resized, inverse, (resize.width, resize.height), rotate.interpolation, rotate.fill
        )
    inverse = np.linalg.inv(scale) @ rotation_matrix(rotate, resize.width, resize.height) @ scale
    warped = warp(arr, inverse, (in_w, in_h), rotate.interpolation, rotate.fill)
    return apply_ops(warped, [resize], spec)
