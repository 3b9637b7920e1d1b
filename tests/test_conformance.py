"""Every registered kernel against the reference, driven by one table of ops.

`EXAMPLES` holds, per concrete op type with a kernel besides the reference, ops as the
frontends draw them, as a function of the input size; `FUSED` holds op chains for the
stage kernels that fuse several ops. Each stage kernel runs each example on real photos
(cut and scaled from 23 px thumbnails to panoramas and portraits) and generated scenes,
in RGB and gray, and is held to the reference kernel registered for those ops: to
rounding where the branches it took are exact, above the floor `FLOORS` states for each
approximate branch otherwise. A registered op kernel never exercised here, an op type
with kernels but no examples, or a stage kernel with no examples fails the test, so a new
op or kernel comes with its conformance rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as F

from reorder.ir import ImageSpec
from reorder.ops import KERNELS, OP_KERNELS, REFERENCE
from reorder.ops.blur import GaussianBlur, V2GaussianBlur
from reorder.ops.colour import ColorAdjust, Gray
from reorder.ops.conversion import Normalize, ToFloat, ToUint8Tensor
from reorder.ops.geometry import Crop, Flip, Pad, Perspective, Resize, Rotate
from reorder.ops.registry import Container, apply_reference, branch_for
from reorder.photos import UNSEEN, write_photos
from reorder.samples import make_scene

Examples = Callable[[int, int, int], list]  # (width, height, channels) -> concrete ops


def _fill(channels: int, rgb: tuple[int, int, int]) -> int | tuple[int, ...]:
    return rgb if channels == 3 else rgb[0]


def _blurs(blur: type) -> Examples:
    """Blurs of many kernel sizes, up to the largest whose padding fits the image."""
    return lambda w, h, c: [
        blur((3, 3), (0.5, 0.5)),
        blur((5, 5), (1.3, 1.3)),
        blur((3, 9), (0.8, 2.5)),
        blur((min(2 * w - 1, 31), min(2 * h - 1, 31)), (4.0, 4.0)),
    ]


def _perspectives(w: int, h: int, c: int) -> list[Perspective]:
    """Warps as RandomPerspective draws them: each corner moved inwards (or kept)."""
    corners = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
    moved = [[w // 10, h // 8], [w - 1 - w // 20, 0], [w - 1, h - 1 - h // 6], [w // 7, h - 1]]

    def coefficients(endpoints: list[list[int]]) -> tuple[float, ...]:
        return tuple(F._get_perspective_coeffs(corners, endpoints))

    return [
        Perspective(coefficients(moved)),
        Perspective(coefficients(moved), "nearest", _fill(c, (255, 0, 0))),
        Perspective(coefficients(moved), "bilinear", _fill(c, (10, 200, 30))),
        Perspective(coefficients(moved), "bilinear", (90,)),
        Perspective(coefficients(moved), "bilinear", _fill(c, (300, -5, 20))),  # clipped
        Perspective(coefficients(moved), "nearest", -5),
        Perspective(coefficients(moved), "bicubic"),  # the reference's alone
        Perspective(coefficients(corners), "nearest"),  # distortion_scale=0
    ]


EXAMPLES: dict[type, Examples] = {
    Resize: lambda w, h, c: [
        Resize(w * 2, h * 2),
        Resize(w + w // 3, h),  # one axis enlarged, the other kept
        Resize(max(1, round(w / 1.3)), max(1, round(h / 1.3))),  # a mild shrink
        Resize(max(1, w * 2 // 5), max(1, h * 2 // 5)),  # blurred and sampled
        Resize(max(1, w // 4), max(1, h // 4)),  # a pixel-area average
        Resize(max(1, w // 2), max(1, h // 3), "bicubic"),
        Resize(w * 3 // 2, h * 3 // 2, "nearest"),
    ],
    Crop: lambda w, h, c: [Crop(w // 4, h // 5, w // 2, h // 2), Crop(-3, -2, w, h)],
    Pad: lambda w, h, c: [
        Pad(3, 1, 4, 2, fill=_fill(c, (10, 20, 30))),
        Pad(1, 2, 0, 5, fill=(77,)),  # one value for every channel, as PIL reads it
        Pad(2, 1, 1, 2, fill=_fill(c, (300, -5, 20))),  # PIL clips each to 0..255
        *(Pad(2, 3, 2, 3, mode=mode) for mode in ("edge", "reflect", "symmetric")),
    ],
    Flip: lambda w, h, c: [Flip(True), Flip(False)],
    Rotate: lambda w, h, c: [
        Rotate(7.5),
        Rotate(-23.0, "bilinear"),
        Rotate(30.0, "bilinear", expand=True, fill=_fill(c, (255, 0, 0))),
        Rotate(90.0),
        Rotate(180.0, "bilinear"),
        Rotate(270.0, expand=True),
        Rotate(0.0),
        Rotate(12.0, center=(w / 3, h / 4)),
        Rotate(-15.0, "bilinear", fill=(128,)),
        Rotate(20.0, "bilinear", fill=_fill(c, (300, -5, 20))),  # PIL clips each to 0..255
        Rotate(-8.0, fill=-5),
    ],
    ColorAdjust: lambda w, h, c: [
        ColorAdjust((0,), 1.3, None, None, None),
        ColorAdjust((1,), None, 0.6, None, None),
        ColorAdjust((2,), None, None, 1.7, None),
        ColorAdjust((3,), None, None, None, 0.08),
        ColorAdjust((3, 1, 0, 2), 0.8, 1.2, 0.5, -0.2),
    ],
    Gray: lambda w, h, c: [Gray(1), Gray(3)],
    GaussianBlur: _blurs(GaussianBlur),
    V2GaussianBlur: _blurs(V2GaussianBlur),
    Perspective: _perspectives,
}

# Op chains for the kernels that fuse several ops into one stage.
FUSED: dict[str, Examples] = {
    "pil_box": lambda w, h, c: [
        [Resize(w // 2, h // 2), Crop(w // 8, h // 8, w // 4, h // 4)],
        [Crop(w // 5, h // 6, w // 2, h // 2), Resize(96, 64), Flip(True)],
        [Pad(4, 4, 4, 4), Crop(0, 0, w // 2, h // 2), Flip(False)],
        [Crop(-8, -4, w + 16, h + 8), Flip(True)],
    ],
    "lut_to_float": lambda w, h, c: [
        [ToFloat(), Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))],
        [ToUint8Tensor()],
    ],
    "cv_warp_small": lambda w, h, c: [
        [Resize(w * 2, h * 3 // 2), Rotate(11.0, "bilinear")],
        [Rotate(-8.0), Resize(max(32, w // 3), max(32, h // 2))],
        [Resize(w // 2, h // 2), Rotate(5.0, "bilinear")],
    ],
}

# The lowest PSNR (dB, 0..255 units) each approximate branch may reach against the
# reference on these images: what it measured here, less about 1 dB, so that a kernel
# that loses fidelity fails. The lows are small images (97x61, 257x129 shrunk 4x), where
# edge rows weigh most; verification holds each plan to its tolerance on the envelope it
# runs in, whatever these floors allow. The exact branches are held to rounding (at most
# 2 levels: a filter weight computed in another order flips a rounding in each of two
# passes).
FLOORS = {
    "resize_linear": 52.0,
    "resize_mild_linear": 34.0,
    "resize_area": 32.5,
    "resize_blur": 37.0,
    # PIL's taps in 16-bit fixed point: 54.5 dB at worst (a 150x420 scene to 115x323), a
    # level apart at most on photos but 4 levels once (bicubic, 129x257 enlarged to 224).
    "resize_torch": 53.5,
    "rotate_warp": 40.0,
    "color_hue": 65.0,
    # One value in ~10^5 rounded the other way, never by more than a level: 78.3 dB at
    # worst (a 31x29 kernel on the 23x15 thumbnail), most rows byte-identical.
    "gaussian_blur": 77.0,
    # 40.5 dB at worst (bilinear on 97x61: fill where PIL's sample point is a float32
    # hair outside the image), 53 dB median.
    "perspective_warp": 39.5,
}
# A fused kernel's own floor, where it is approximate as a whole: the conjugated warp on
# a 40x33 scene measured 23.2 dB (a warp of a few dozen pixels is mostly edge).
FUSED_FLOORS = {"cv_warp_small": 22.0}
EXACT_LEVELS = 2


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Image.Image]:
    """Photos of many sizes and aspects (one of them gray), and generated scenes."""
    wanted = {
        "thumb_23x15",
        "small_97x61",
        "odd_129x257",
        "odd_257x129",
        "gray_480x360",
        "imagenet_500x375",
        "vga_480x640",
        "panorama_2400x600",
    }
    entries = tuple(e for e in UNSEEN if e[0] in wanted)
    paths = write_photos(tmp_path_factory.mktemp("conformance"), entries)
    out = {name: Image.open(path) for name, path in paths.items()}
    out = {name: img.convert("L" if img.mode == "L" else "RGB") for name, img in out.items()}
    for width, height in ((40, 33), (320, 200), (150, 420)):
        out[f"scene_{width}x{height}"] = Image.fromarray(make_scene(width, height, seed=width))
    return out


def _per_op_kernels() -> list[str]:
    """The stage kernels that run op by op (they accept any single op), but the
    reference, which the others are held to."""
    return [name for name in KERNELS if name not in FUSED and name != REFERENCE]


def _levels(out) -> np.ndarray:
    """Any output as float values in 0..255 units, HWC."""
    if isinstance(out, torch.Tensor):
        arr = out.numpy().astype(np.float64)
        arr = arr.transpose(1, 2, 0) if arr.ndim == 3 else arr
        return arr * (255.0 if out.is_floating_point() else 1.0)
    return np.asarray(out, np.float64)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _a_crop_view(arr: np.ndarray) -> np.ndarray:
    """The same pixels as a view into wider rows, as an in-plan crop hands them on."""
    wider = np.zeros((arr.shape[0], arr.shape[1] + 3, *arr.shape[2:]), arr.dtype)
    wider[:, 1 : 1 + arr.shape[1]] = arr
    return wider[:, 1 : 1 + arr.shape[1]]


def _check(kernel: str, ops: list, img: Image.Image, taken: set[str]) -> None:
    spec = ImageSpec(img.width, img.height, 1 if img.mode == "L" else 3)
    stage = KERNELS[kernel]
    given = img if stage.takes in (Container.PIL, Container.ORIGINAL) else np.asarray(img)
    if kernel in _per_op_kernels() and isinstance(given, np.ndarray):
        given = _a_crop_view(given)
    expected = _levels(apply_reference(img, ops))
    got = _levels(stage.run(given, ops, spec, 1))
    assert got.shape == expected.shape, f"{kernel} {ops} on {img.size}: shape"
    branches = stage.branches(ops, spec, spec)
    taken.update(branches)
    where = f"{kernel} {ops} on {img.width}x{img.height} {img.mode}, branches {branches}"
    floors = [FLOORS[b] for b in branches if b in FLOORS]
    if kernel in FUSED_FLOORS and branches:
        floors = [FUSED_FLOORS[kernel]]
    if floors:
        assert _psnr(got, expected) >= min(floors), where
    else:
        assert np.abs(got - expected).max() <= EXACT_LEVELS, where


def test_every_op_kernel_matches_the_reference(images):
    taken: set[str] = set()
    for kernel in _per_op_kernels():
        for op_type, examples in EXAMPLES.items():
            for img in images.values():
                for op in examples(img.width, img.height, len(img.getbands())):
                    if op_type in (ColorAdjust, Gray) and img.mode == "L":
                        continue  # colour ops on gray: the reference's own pass-through
                    _check(kernel, [op], img, taken)
    assert {b for b in taken if b in FLOORS} == set(FLOORS)


def test_every_fused_kernel_matches_the_reference(images):
    taken: set[str] = set()
    for kernel, examples in FUSED.items():
        for img in images.values():
            if kernel != "pil_box" and img.mode == "L":
                continue  # gray has its own rows below
            for ops in examples(img.width, img.height, len(img.getbands())):
                _check(kernel, ops, img, taken)
    assert {"shrink_then_warp", "warp_then_enlarge"} <= taken
    gray = next(img for img in images.values() if img.mode == "L")
    _check("lut_to_float", [ToFloat(), Normalize((0.5,), (0.25,))], gray, taken)


def test_the_table_covers_every_registered_kernel(images):
    """A new op with a kernel, a new backend for an op or a new fused kernel needs rows."""
    with_kernels = {op_type for op_type, backend in OP_KERNELS if backend != REFERENCE}
    assert with_kernels <= set(EXAMPLES), "op types with kernels but no examples"
    assert set(FUSED) <= set(KERNELS)
    exercised = set()
    for op_type, backend in OP_KERNELS:
        if backend == REFERENCE or op_type not in EXAMPLES:
            continue
        for img in images.values():
            spec = ImageSpec(img.width, img.height)
            for op in EXAMPLES[op_type](img.width, img.height, len(img.getbands())):
                if branch_for(op, spec, (backend,)).name != REFERENCE:
                    exercised.add((op_type, backend))
    missing = {(t.__name__, b) for t, b in OP_KERNELS if b != REFERENCE} - {
        (t.__name__, b) for t, b in exercised
    }
    assert not missing, f"registered kernels no example reaches: {sorted(missing)}"


@pytest.mark.parametrize(
    "op",
    [
        Pad(2, 2, 2, 2, fill=(1, 2)),
        Rotate(10.0, fill=(1, 2)),
        Perspective((1.1, 0.05, -12.0, 0.03, 1.08, -9.0, 2e-4, 1e-4), fill=(1, 2)),
    ],
    ids=repr,
)
def test_a_fill_pil_refuses_fails_in_every_kernel(images, op):
    """PIL raises on a fill of two values for an RGB image: every kernel raises too
    (running the reference), rather than padding with a made-up colour."""
    img = images["imagenet_500x375"]
    spec = ImageSpec(img.width, img.height, 3)
    with pytest.raises(ValueError, match="fill"):
        apply_reference(img, [op])
    for kernel in _per_op_kernels():
        stage = KERNELS[kernel]
        given = img if stage.takes in (Container.PIL, Container.ORIGINAL) else np.asarray(img)
        with pytest.raises(ValueError, match="fill"):
            stage.run(given, [op], spec, 1)
