"""Reference kernel: each concrete op through the user's library, as the original runs it.

For torchvision ops: the functional API the user's transforms call, so it is exact by
construction and works on PIL images and tensors alike. `tv_tensors` (made by v2's
`ToImage`) go through `transforms.v2.functional`, which keeps their type as v2 transforms
do; on PIL images both APIs run the same Pillow code. v2's tensor resize is an op of its
own (`TensorResize`). For transforms applied with their drawn params (`TransformApply`):
albumentations' `apply_with_params`, v2's `transform(inpt, params)`. For albumentations'
resizes: OpenCV's, as albumentations calls it. Every faster kernel is measured against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F2

from reorder.ir import (
    ColorAdjust,
    ConcreteOp,
    ConvertDtype,
    Crop,
    CvResize,
    Flip,
    Gray,
    Normalize,
    Pad,
    Resize,
    Rotate,
    TensorResize,
    ToDtype,
    ToFloat,
    ToImage,
    ToUint8Tensor,
    TransformApply,
)


def _rotate(img: Any, op: Rotate) -> Any:
    fill = op.fill
    if isinstance(img, torch.Tensor):  # as RandomRotation.forward does for tensors
        channels = F.get_dimensions(img)[0]
        fill = (
            [float(fill)] * channels if isinstance(fill, (int, float)) else [float(f) for f in fill]
        )
    mode = F.InterpolationMode(op.interpolation)
    return F.rotate(img, op.angle, mode, op.expand, list(op.center) if op.center else None, fill)


def _color(img: Any, op: ColorAdjust) -> Any:
    for fn_id in op.order:
        if fn_id == 0 and op.brightness is not None:
            img = F.adjust_brightness(img, op.brightness)
        elif fn_id == 1 and op.contrast is not None:
            img = F.adjust_contrast(img, op.contrast)
        elif fn_id == 2 and op.saturation is not None:
            img = F.adjust_saturation(img, op.saturation)
        elif fn_id == 3 and op.hue is not None:
            img = F.adjust_hue(img, op.hue)
    return img


def _dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def _cv_resize(img: Any, op: CvResize) -> Any:
    """albumentations' `resize`: OpenCV, and the input itself when the size is unchanged."""
    if img.shape[:2] == (op.height, op.width):
        return img
    return cv2.resize(img, (op.width, op.height), interpolation=op.interpolation)


def _own_apply(img: Any, op: TransformApply) -> Any:
    if isinstance(op.transform, v2.Transform):
        out = op.transform.transform(img, op.params)
    else:
        out = op.transform.apply_with_params(op.params, image=img)["image"]
    expected = (op.output.height, op.output.width, op.output.channels)
    given = _shape(img)
    if given is not None and given != (op.drawn_for.height, op.drawn_for.width, given[2]):
        # Moved by a rule to where the image has another size (only value-only ops are
        # moved): it keeps the size it is given.
        expected = (given[0], given[1], op.output.channels)
    if _shape(out) != expected:
        # The later draws were made for the expected shape: they are void. Raising lets
        # the runtime replay the ops as written, which then does what the original does.
        raise ValueError(
            f"{type(op.transform).__name__} returned shape {getattr(out, 'shape', None)}, "
            f"not the {expected} its parameters were drawn for"
        )
    return out


def _shape(img: Any) -> tuple[int, int, int] | None:
    """(height, width, channels) of a PIL image, an HWC/HW array or a CHW/HW tensor."""
    if isinstance(img, Image.Image):
        return (img.height, img.width, len(img.getbands()))
    shape = tuple(getattr(img, "shape", ()))
    if isinstance(img, torch.Tensor):
        return (
            (shape[-2], shape[-1], 1 if len(shape) == 2 else shape[-3]) if len(shape) >= 2 else None
        )
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    return (shape[0], shape[1], shape[2]) if len(shape) == 3 else None


def _pad(img: Any, op: Pad) -> Any:
    fill = list(op.fill) if isinstance(op.fill, tuple) else op.fill
    return F.pad(img, [op.left, op.top, op.right, op.bottom], fill, op.mode)


APPLY: dict[type, Callable[[Any, Any], Any]] = {
    Resize: lambda img, op: F.resize(
        img, [op.height, op.width], F.InterpolationMode(op.interpolation), antialias=op.antialias
    ),
    Crop: lambda img, op: F.crop(img, op.top, op.left, op.height, op.width),
    Pad: _pad,
    Flip: lambda img, op: F.hflip(img) if op.horizontal else F.vflip(img),
    Rotate: _rotate,
    ToFloat: lambda img, op: F.to_tensor(img),
    ToUint8Tensor: lambda img, op: F.pil_to_tensor(img),
    ToImage: lambda img, op: F2.to_image(img),
    ToDtype: lambda img, op: F2.to_dtype(img, _dtype(op.dtype), scale=op.scale),
    ConvertDtype: lambda img, op: F.convert_image_dtype(
        img, torch.uint8 if op.dtype == "uint8" else torch.float32
    ),
    Normalize: lambda img, op: F.normalize(img, list(op.mean), list(op.std)),
    ColorAdjust: _color,
    Gray: lambda img, op: F.rgb_to_grayscale(img, op.channels),
    TensorResize: lambda img, op: F2.resize(
        img, [op.height, op.width], F.InterpolationMode(op.interpolation), antialias=op.antialias
    ),
    CvResize: _cv_resize,
    TransformApply: _own_apply,
}


# Same values as APPLY on tensors; these keep a tv_tensors.Image an Image.
APPLY_V2: dict[type, Callable[[Any, Any], Any]] = {
    **APPLY,
    Normalize: lambda img, op: F2.normalize(img, list(op.mean), list(op.std)),
    Crop: lambda img, op: F2.crop(img, op.top, op.left, op.height, op.width),
    Flip: lambda img, op: F2.horizontal_flip(img) if op.horizontal else F2.vertical_flip(img),
}


def apply_ops(img: Any, ops: Sequence[ConcreteOp]) -> Any:
    for op in ops:
        table = APPLY_V2 if isinstance(img, tv_tensors.TVTensor) else APPLY
        img = table[type(op)](img, op)
    return img
