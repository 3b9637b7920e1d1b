"""Geometry: resizes, crops, pads, flips, rotations and perspective warps, with every kernel
that does them.

The concrete ops, their output specs, the trait sets the frontends give the transforms
that lower to them, the reference kernels (torchvision's functional API, as the user's
transforms call it; OpenCV's resize for albumentations), and the OpenCV kernels that
match PIL's results, registered per backend:

- `opencv`: where OpenCV computes (within rounding) what PIL computes: a bilinear
  *upscale* (PIL's antialias filter is plain bilinear when enlarging; OpenCV has no
  antialiasing when shrinking), a rotation or a perspective warp with PIL's matrix shifted
  to OpenCV's pixel centres, flips, in-bounds crops and pads.
- `opencv_area`: antialiased downscales as OpenCV's pixel-area average, a blur and a
  sample, or for mild shrinks plain bilinear.
- `opencv_blur`: bilinear shrinks of up to 3x as a blur of the filter's width and a sample.
- `torch`: bilinear and bicubic resizes through PyTorch's uint8 antialiased kernel (the one
  torchvision v2 runs on tensors), a port of PIL's filter: equal to PIL's bytes but for
  fixed-point rounding.

Everything else goes through the reference on a PIL image, so the result is right for
every input, not only the samples.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import _functional_pil as F_pil
from torchvision.transforms import _functional_tensor as F_t
from torchvision.transforms import functional as F
from torchvision.transforms.v2 import functional as F2

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ir.traits import Trait
from reorder.ops.registry import (
    Branch,
    Calibration,
    Container,
    register_cost,
    register_op_kernel,
    register_reference,
)

# -- the ops -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resample(ConcreteOp):
    """A resample of the whole image to width x height. The subclasses say whose
    arithmetic runs; kernels match them by their own type, never by this one."""

    width: int
    height: int

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
class CvResize(Resample):
    """OpenCV resample to width x height (albumentations' resizes; no antialiasing)."""

    interpolation: int  # a cv2.INTER_* flag


@dataclass(frozen=True)
class Crop(ConcreteOp):
    """Integer crop; parts outside the image read as zeros (as PIL and torchvision do)."""

    left: int
    top: int
    width: int
    height: int

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

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec.with_size(
            spec.width + self.left + self.right, spec.height + self.top + self.bottom
        )


@dataclass(frozen=True)
class Flip(ConcreteOp):
    horizontal: bool


@dataclass(frozen=True)
class Rotate(ConcreteOp):
    """Counter-clockwise rotation by `angle` degrees about `center` (PIL's convention)."""

    angle: float
    interpolation: str = "nearest"
    expand: bool = False
    center: tuple[float, float] | None = None
    fill: float | tuple[float, ...] | None = None

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        if not self.expand:
            return spec
        return spec.with_size(*expanded_size(self.angle, spec.width, spec.height, self.center))


@dataclass(frozen=True)
class Perspective(ConcreteOp):
    """A perspective warp as PIL's `Image.transform(size, PERSPECTIVE, coefficients)` takes
    it: output pixel (x, y) reads the input at ((a x + b y + c) / (g x + h y + 1),
    (d x + e y + f) / (g x + h y + 1)), coefficients (a, ..., h) as torchvision computes
    them from the corners (`F._get_perspective_coeffs`, float32 values)."""

    coefficients: tuple[float, ...]
    interpolation: str = "bilinear"
    fill: float | tuple[float, ...] | None = 0

    def inverse(self) -> np.ndarray:
        """The coefficients as a 3x3 matrix (output coordinates -> input)."""
        return np.append(np.array(self.coefficients, np.float64), 1.0).reshape(3, 3)


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


# -- what the frontends' transforms are, for the rules -----------------------------------

# A whole-image resize (torchvision's Resize, albumentations' resizes when they average).
RESIZE_TRAITS = Trait.AXIS_ALIGNED | Trait.RESAMPLE | Trait.SCALES
# A crop of a random box, then a resize to the output size.
RESIZED_CROP_TRAITS = Trait.AXIS_ALIGNED | Trait.RESAMPLE
# A crop that pads where it is larger than the image.
CENTER_CROP_TRAITS = Trait.AXIS_ALIGNED | Trait.FILLS
FLIP_TRAITS = Trait.AXIS_ALIGNED
ROTATION_TRAITS = Trait.ROTATE | Trait.FILLS
# Moves every pixel by its own amount and fills the corners: nothing composes with it.
PERSPECTIVE_TRAITS = Trait.FILLS


def pad_traits(padding_mode: str) -> Trait:
    """A pad adds fill; only a constant one composes into a box."""
    return Trait.FILLS | Trait.AXIS_ALIGNED if padding_mode == "constant" else Trait.FILLS


# -- reference kernels -------------------------------------------------------------------


def _tv(img: Any, v1: Callable[..., Any], v2: Callable[..., Any]) -> Callable[..., Any]:
    """v2's functional keeps a tv_tensors.Image an Image (same values as v1's)."""
    return v2 if isinstance(img, tv_tensors.TVTensor) else v1


@register_reference(Resize)
def _resize(img: Any, op: Resize) -> Any:
    mode = F.InterpolationMode(op.interpolation)
    return F.resize(img, [op.height, op.width], mode, antialias=op.antialias)


@register_reference(TensorResize)
def _tensor_resize(img: Any, op: TensorResize) -> Any:
    mode = F.InterpolationMode(op.interpolation)
    return F2.resize(img, [op.height, op.width], mode, antialias=op.antialias)


@register_reference(CvResize)
def _cv_resize(img: Any, op: CvResize) -> Any:
    """albumentations' `resize`: OpenCV, and the input itself when the size is unchanged."""
    if img.shape[:2] == (op.height, op.width):
        return img
    return cv2.resize(img, (op.width, op.height), interpolation=op.interpolation)


@register_reference(Crop)
def _crop(img: Any, op: Crop) -> Any:
    return _tv(img, F.crop, F2.crop)(img, op.top, op.left, op.height, op.width)


@register_reference(Pad)
def _pad(img: Any, op: Pad) -> Any:
    fill = list(op.fill) if isinstance(op.fill, tuple) else op.fill
    return F.pad(img, [op.left, op.top, op.right, op.bottom], fill, op.mode)


@register_reference(Flip)
def _flip(img: Any, op: Flip) -> Any:
    if op.horizontal:
        return _tv(img, F.hflip, F2.horizontal_flip)(img)
    return _tv(img, F.vflip, F2.vertical_flip)(img)


@register_reference(Rotate)
def _rotate(img: Any, op: Rotate) -> Any:
    fill = op.fill
    if isinstance(img, torch.Tensor):  # as RandomRotation.forward does for tensors
        channels = F.get_dimensions(img)[0]
        fill = (
            [float(fill)] * channels if isinstance(fill, (int, float)) else [float(f) for f in fill]
        )
    mode = F.InterpolationMode(op.interpolation)
    return F.rotate(img, op.angle, mode, op.expand, list(op.center) if op.center else None, fill)


@register_reference(Perspective, cost="reference:perspective")
def _perspective(img: Any, op: Perspective) -> Any:
    """What `F.perspective` runs once it has the coefficients (v1 on PIL and tensors; v2
    on PIL calls the same Pillow code)."""
    coefficients = list(op.coefficients)
    if isinstance(img, torch.Tensor):  # as RandomPerspective.forward does for tensors
        channels = F.get_dimensions(img)[0]
        fill = 0 if op.fill is None else op.fill
        values = [fill] * channels if isinstance(fill, (int, float)) else list(fill)
        return F_t.perspective(img, coefficients, op.interpolation, [float(v) for v in values])
    mode = F.pil_modes_mapping[F.InterpolationMode(op.interpolation)]
    return F_pil.perspective(img, coefficients, mode, op.fill)


# -- OpenCV kernels ----------------------------------------------------------------------

OPENCV = "opencv"
OPENCV_AREA = "opencv_area"
OPENCV_BLUR = "opencv_blur"

_BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
}
WARP_FLAGS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR}
# Below this size (a shrink's output; a warp's or an enlargement's input) edge rows
# dominate the error, and PIL is cheap anyway.
MIN_APPROXIMATE_SIDE = 32


def border_value(fill: object, channels: int) -> tuple[float, ...]:
    """PIL's fill as torchvision's `_parse_fill` reads it (one value, or a one-value
    sequence, for every channel; each truncated to an integer, then clipped to 0..255 as
    PIL clips an 8-bit ink), as OpenCV's four-value border."""
    if fill is None:
        return (0.0,) * 4
    values = list(fill) if isinstance(fill, (tuple, list)) else [fill]
    if len(values) == 1:
        values = values * channels
    return tuple(float(min(max(int(v), 0), 255)) for v in values) + (0.0,) * (4 - len(values))


def fill_fits(fill: object, channels: int) -> bool:
    """Whether PIL takes `fill` for an image of `channels` (it raises on other lengths)."""
    return not isinstance(fill, (tuple, list)) or len(fill) in (1, channels)


def _opencv(name: str, run: Callable[[np.ndarray, Any], np.ndarray], approximate: bool) -> Branch:
    return Branch(name, run, Container.ARRAY, approximate, cost="cv")


# PIL floors exact sample positions; OpenCV rounds them in 1/1024 px fixed point. Nudging
# by half a fixed-point step sends exact integer positions (common at right angles) the
# way PIL sends them.
_TIE_NUDGE = 1.0 / 2048


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
    border = border_value(fill, channels)
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
    outside = cv2.warpAffine(
        np.zeros(arr.shape[:2], np.uint8),
        shifted,
        out_size,
        flags=flags | cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    return _fill_outside(out, outside, border)


def _fill_outside(out: np.ndarray, outside: np.ndarray, border: tuple[float, ...]) -> np.ndarray:
    """`out` with `border` (from `border_value`) where the mask `outside` is set: where
    PIL's bilinear warps fill. copyTo through the mask is 5x faster than numpy's boolean
    indexing."""
    channels = 1 if out.ndim == 2 else out.shape[2]
    fill = np.full(out.shape, border[:channels] if channels > 1 else border[0], np.uint8)
    return cv2.copyTo(fill, outside, out)


def _rotate_warp(arr: np.ndarray, op: Rotate) -> np.ndarray:
    height, width = arr.shape[:2]
    out_size = op.output_spec(ImageSpec(width, height)).size
    return warp(arr, rotation_matrix(op, width, height), out_size, op.interpolation, op.fill)


_TRANSPOSES = {
    180.0: cv2.ROTATE_180,
    90.0: cv2.ROTATE_90_COUNTERCLOCKWISE,
    270.0: cv2.ROTATE_90_CLOCKWISE,
}
_ROTATE_IDENTITY = _opencv("rotate_identity", lambda arr, op: arr, approximate=False)
_ROTATE_TRANSPOSE = _opencv(
    "rotate_transpose",
    lambda arr, op: cv2.rotate(arr, _TRANSPOSES[op.angle % 360.0]),
    approximate=False,
)
_ROTATE_WARP = _opencv("rotate_warp", _rotate_warp, approximate=True)


@register_op_kernel(Rotate, OPENCV)
def _rotate_branch(op: Rotate, spec: ImageSpec) -> Branch | None:
    if op.interpolation not in WARP_FLAGS or not fill_fits(op.fill, spec.channels):
        return None
    angle = op.angle % 360.0
    if op.center is None and angle == 0.0:
        return _ROTATE_IDENTITY
    if (
        op.center is None
        and angle in _TRANSPOSES
        and (angle == 180.0 or op.expand or spec.width == spec.height)
    ):
        return _ROTATE_TRANSPOSE  # PIL's exact transpose paths
    if min(spec.width, spec.height) < MIN_APPROXIMATE_SIDE:
        return None  # all edge: where OpenCV's border handling and PIL's differ
    return _ROTATE_WARP


# PIL samples the input at H @ (x + 0.5, y + 0.5) and reads pixel centres at +0.5; OpenCV
# samples at H' @ (x, y), its pixel centres at integers: H' = shift(-0.5) @ H @ shift(+0.5).
# No tie nudge, unlike `warp`: PIL's positions carry the float32 coefficients' noise, so
# exact ties are rare, and a nudge sends the many that fall a hair below an integer the
# wrong way (median 58 dB against PIL for nearest instead of 76).
_FROM_PIXEL_CENTRES = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_TO_PIXEL_CENTRES = np.linalg.inv(_FROM_PIXEL_CENTRES)
# Reading a copy framed by one replicated pixel: one pixel further in.
_INTO_FRAME = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])


def _perspective_warp(arr: np.ndarray, op: Perspective) -> np.ndarray:
    height, width = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    border = border_value(op.fill, channels)
    inverse = _TO_PIXEL_CENTRES @ op.inverse() @ _FROM_PIXEL_CENTRES
    size = (width, height)
    flags = cv2.WARP_INVERSE_MAP
    if op.interpolation == "nearest":
        return cv2.warpPerspective(
            arr, inverse, size, flags=flags | cv2.INTER_NEAREST, borderValue=border
        )
    # PIL's bilinear fills where the sample point falls outside the image and replicates
    # edge pixels inside it. A frame of replicated pixels gives the same neighbours with
    # OpenCV's constant-border path, twice as fast as its replicating one; the nearest
    # warp of a mask finds where PIL fills.
    framed = cv2.copyMakeBorder(arr, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    out = cv2.warpPerspective(framed, _INTO_FRAME @ inverse, size, flags=flags | cv2.INTER_LINEAR)
    outside = cv2.warpPerspective(
        np.zeros((height, width), np.uint8),
        inverse,
        size,
        flags=flags | cv2.INTER_NEAREST,
        borderValue=255,
    )
    return _fill_outside(out, outside, border)


# Its own cost class: a bilinear warp and its mask cost several times the upscale "cv"
# measures.
_PERSPECTIVE_WARP = Branch(
    "perspective_warp", _perspective_warp, Container.ARRAY, True, cost="cv_perspective"
)


@register_op_kernel(Perspective, OPENCV)
def _perspective_branch(op: Perspective, spec: ImageSpec) -> Branch | None:
    if not fill_fits(op.fill, spec.channels):
        return None  # PIL raises: the reference does, as the original
    if op.interpolation not in WARP_FLAGS or min(spec.width, spec.height) < MIN_APPROXIMATE_SIDE:
        return None  # bicubic (another cubic than OpenCV's), or all edge
    return _PERSPECTIVE_WARP


_FLIP = _opencv("flip", lambda arr, op: cv2.flip(arr, 1 if op.horizontal else 0), False)
register_op_kernel(Flip, OPENCV)(lambda op, spec: _FLIP)

_CROP = _opencv(
    "crop", lambda arr, op: arr[op.top : op.top + op.height, op.left : op.left + op.width], False
)
register_op_kernel(Crop, OPENCV)(lambda op, spec: _CROP if op.inside(spec) else None)


def _pad_array(arr: np.ndarray, op: Pad) -> np.ndarray:
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    border = border_value(op.fill, channels)
    return cv2.copyMakeBorder(
        arr, op.top, op.bottom, op.left, op.right, _BORDERS[op.mode], value=border
    )


_PAD = _opencv("pad", _pad_array, approximate=False)


@register_op_kernel(Pad, OPENCV)
def _pad_branch(op: Pad, spec: ImageSpec) -> Branch | None:
    if op.mode not in _BORDERS:
        return None
    if op.mode == "constant" and not fill_fits(op.fill, spec.channels):
        return None  # PIL raises: the reference does, as the original
    return _PAD


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


def _inter(mode: int) -> Callable[[np.ndarray, Resize], np.ndarray]:
    return lambda arr, op: cv2.resize(arr, (op.width, op.height), interpolation=mode)


RESIZE_LINEAR = _opencv("resize_linear", _inter(cv2.INTER_LINEAR), approximate=True)
_RESIZE_MILD_LINEAR = _opencv("resize_mild_linear", _inter(cv2.INTER_LINEAR), approximate=True)
RESIZE_AREA = _opencv("resize_area", _inter(cv2.INTER_AREA), approximate=True)
_RESIZE_BLUR = _opencv("resize_blur", _blur_then_sample, approximate=True)


def _blurs(op: Resize, spec: ImageSpec) -> bool:
    """A bilinear resize that shrinks some axis, by at most `_BLUR_MAX_SHRINK`: the one
    resize `_blur_then_sample` does, whether or not the other axis enlarges."""
    shrink = max(spec.width / op.width, spec.height / op.height)
    big_enough = min(op.width, op.height) >= MIN_APPROXIMATE_SIDE
    return op.interpolation == "bilinear" and big_enough and 1 < shrink <= _BLUR_MAX_SHRINK


def _shrinks(op: Resize, spec: ImageSpec) -> bool:
    big_enough = min(op.width, op.height) >= MIN_APPROXIMATE_SIDE
    fits = op.width <= spec.width and op.height <= spec.height
    return op.interpolation in _SMOOTH and big_enough and fits


@register_op_kernel(Resize, OPENCV)
def linear_branch(op: Resize, spec: ImageSpec) -> Branch | None:
    """PIL's bilinear filter is plain bilinear interpolation when it enlarges both axes,
    but for the edge rows, which PIL renormalizes and OpenCV replicates: on an input of a
    few pixels (a 23x15 thumbnail enlarged 13x) they are the whole image."""
    enlarges = op.width >= spec.width and op.height >= spec.height
    big_enough = min(spec.width, spec.height) >= MIN_APPROXIMATE_SIDE
    return RESIZE_LINEAR if op.interpolation == "bilinear" and enlarges and big_enough else None


@register_op_kernel(Resize, OPENCV_AREA)
def _area_branch(op: Resize, spec: ImageSpec) -> Branch | None:
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
            return _RESIZE_BLUR
        return _RESIZE_MILD_LINEAR if mild else RESIZE_AREA
    if _blurs(op, spec):  # one axis shrinks, the other enlarges
        return _RESIZE_BLUR
    return linear_branch(op, spec)


@register_op_kernel(Resize, OPENCV_BLUR)
def _blur_branch(op: Resize, spec: ImageSpec) -> Branch | None:
    return _RESIZE_BLUR if _blurs(op, spec) else linear_branch(op, spec)


TORCH = "torch"
TORCH_FILTERS = ("bilinear", "bicubic")  # the PIL filters PyTorch's uint8 kernel ports


def _torch_resample(arr: np.ndarray, op: Resize) -> np.ndarray:
    with warnings.catch_warnings():  # a decoded array is read-only; the kernel only reads it
        warnings.simplefilter("ignore", UserWarning)
        # A crop is a view into the decoded rows: the strides below need packed pixels.
        hwc = torch.from_numpy(np.ascontiguousarray(arr if arr.ndim == 3 else arr[:, :, None]))
    height, width, channels = hwc.shape
    # HWC memory seen as a batch of one NCHW image is channels-last, the layout of the
    # uint8 fast path. A batch stride of the whole image (not the default, which PyTorch
    # reads as ambiguous) keeps the output channels-last too, so HWC again without a copy.
    nchw = hwc.as_strided(
        (1, channels, height, width), (hwc.numel(), 1, width * channels, channels)
    )
    out = torch.nn.functional.interpolate(
        nchw, size=(op.height, op.width), mode=op.interpolation, antialias=True
    )
    out = out[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out if arr.ndim == 3 else out[:, :, 0])


_RESIZE_TORCH = Branch("resize_torch", _torch_resample, Container.ARRAY, True, cost="torch")


@register_op_kernel(Resize, TORCH)
def _torch_branch(op: Resize, spec: ImageSpec) -> Branch | None:
    """PyTorch's filter weights PIL's taps in 16-bit fixed point where PIL uses 22 bits:
    a level apart on a few pixels. Gray and RGB only: PIL premultiplies alpha (LA, RGBA)
    before it filters, PyTorch does not."""
    ported = op.interpolation in TORCH_FILTERS and spec.channels in (1, 3)
    return _RESIZE_TORCH if ported else None


# -- cost classes ------------------------------------------------------------------------


def _half(c: Calibration) -> list[Resize]:
    return [Resize(c.spec.width // 2, c.spec.height // 2)]


register_cost("reference", lambda c: _resize(c.pil, _half(c)[0]), touched=1.25)
register_cost(
    "cv",
    lambda c: RESIZE_LINEAR.run(c.array, Resize(c.spec.width * 2, c.spec.height * 2)),
    touched=5.0,
)
register_cost("torch", lambda c: _RESIZE_TORCH.run(c.array, _half(c)[0]), touched=1.25)
# A mild tilt (the corners filled), as RandomPerspective draws: PIL's generic transform
# computes each sample point in double precision, about 3x a resize per pixel.
_TILT = Perspective((1.1, 0.05, -12.0, 0.03, 1.08, -9.0, 2e-4, 1e-4))
register_cost("reference:perspective", lambda c: _perspective(c.pil, _TILT), touched=2.0)
register_cost("cv_perspective", lambda c: _PERSPECTIVE_WARP.run(c.array, _TILT), touched=2.0)
