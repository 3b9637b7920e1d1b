"""torchvision.transforms (v1): one `OpModel` per supported class, in `MODELS`.

Each sampler draws exactly what the transform's own `forward` draws, through the class's
own `get_params` where it has one, on a size-only stand-in for the image (a zero-stride
tensor: `F.get_dimensions` reads its shape, no pixels exist). Anything else, including a
subclass of a supported class, is opaque: it is called as written, as a barrier.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchvision import transforms as T
from torchvision.transforms import functional as F

from reorder.ir import NO_TRAITS, ConcreteOp, ImageSpec, LogicalOp, LogicalPipeline, OpModel, Trait
from reorder.ops.blur import GaussianBlur
from reorder.ops.colour import GRAY_TRAITS, ColorAdjust, Gray, jitter_traits
from reorder.ops.conversion import (
    PER_VALUE_TRAITS,
    TO_TENSOR_TRAITS,
    ConvertDtype,
    Normalize,
    ToFloat,
    ToUint8Tensor,
)
from reorder.ops.geometry import (
    CENTER_CROP_TRAITS,
    FLIP_TRAITS,
    PERSPECTIVE_TRAITS,
    RESIZE_TRAITS,
    RESIZED_CROP_TRAITS,
    ROTATION_TRAITS,
    Crop,
    Flip,
    Pad,
    Perspective,
    Resize,
    Rotate,
    pad_traits,
)


def size_proxy(spec: ImageSpec) -> torch.Tensor:
    """A tensor with the image's C, H, W shape and no storage, for `get_params` calls."""
    return torch.empty(()).expand(spec.channels, spec.height, spec.width)


def _interpolation(mode: Any) -> str:
    if isinstance(mode, int):
        mode = F._interpolation_modes_from_int(mode)
    return F.InterpolationMode(mode).value


def padding_ltrb(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """`F.pad`'s padding forms: p, [p], [left/right, top/bottom] or [l, t, r, b]."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    values = [int(v) for v in padding]
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    if len(values) == 2:
        return values[0], values[1], values[0], values[1]
    return values[0], values[1], values[2], values[3]


def _resize(t: T.Resize, spec: ImageSpec) -> list[ConcreteOp]:
    size = [t.size] if isinstance(t.size, int) else list(t.size)
    height, width = F._compute_resized_output_size((spec.height, spec.width), size, t.max_size)
    if (width, height) == spec.size:
        return []  # F.resize returns its input unchanged
    return [Resize(width, height, _interpolation(t.interpolation), t.antialias)]


def center_crop_op(crop_h: int, crop_w: int, spec: ImageSpec) -> list[ConcreteOp]:
    """`F.center_crop`: zero-pad when the crop is larger, then crop at the rounded centre."""
    pad_l = (crop_w - spec.width) // 2 if crop_w > spec.width else 0
    pad_t = (crop_h - spec.height) // 2 if crop_h > spec.height else 0
    pad_r = (crop_w - spec.width + 1) // 2 if crop_w > spec.width else 0
    pad_b = (crop_h - spec.height + 1) // 2 if crop_h > spec.height else 0
    width, height = spec.width + pad_l + pad_r, spec.height + pad_t + pad_b
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    if (left - pad_l, top - pad_t, crop_w, crop_h) == (0, 0, spec.width, spec.height):
        return []
    return [Crop(left - pad_l, top - pad_t, crop_w, crop_h)]


def _center_crop(t: T.CenterCrop, spec: ImageSpec) -> list[ConcreteOp]:
    return center_crop_op(t.size[0], t.size[1], spec)


def _random_crop(t: T.RandomCrop, spec: ImageSpec) -> list[ConcreteOp]:
    ops: list[ConcreteOp] = []
    if t.padding is not None:
        ops.append(Pad(*padding_ltrb(t.padding), fill=t.fill, mode=t.padding_mode))
    padded = spec
    for op in ops:
        padded = op.output_spec(padded)
    if t.pad_if_needed and padded.width < t.size[1]:
        extra = t.size[1] - padded.width
        ops.append(Pad(extra, 0, extra, 0, fill=t.fill, mode=t.padding_mode))
        padded = ops[-1].output_spec(padded)
    if t.pad_if_needed and padded.height < t.size[0]:
        extra = t.size[0] - padded.height
        ops.append(Pad(0, extra, 0, extra, fill=t.fill, mode=t.padding_mode))
        padded = ops[-1].output_spec(padded)
    top, left, height, width = t.get_params(size_proxy(padded), t.size)
    if (left, top, width, height) != (0, 0, padded.width, padded.height):
        ops.append(Crop(left, top, width, height))
    return ops


def random_crop_traits(t: Any) -> Trait:
    """A RandomCrop (v1 or v2): its padding, if any, is a pad; the crop is axis-aligned."""
    pads = t.padding is not None or t.pad_if_needed
    return pad_traits(t.padding_mode) if pads else Trait.AXIS_ALIGNED


def _random_resized_crop(t: T.RandomResizedCrop, spec: ImageSpec) -> list[ConcreteOp]:
    top, left, height, width = t.get_params(size_proxy(spec), t.scale, t.ratio)
    ops: list[ConcreteOp] = [Crop(left, top, width, height)]
    out_h, out_w = t.size
    if (out_w, out_h) != (width, height):
        ops.append(Resize(out_w, out_h, _interpolation(t.interpolation), t.antialias))
    return ops


def _hflip(t: T.RandomHorizontalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(True)] if torch.rand(1) < t.p else []


def _vflip(t: T.RandomVerticalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(False)] if torch.rand(1) < t.p else []


def _to_tensor(t: T.ToTensor, spec: ImageSpec) -> list[ConcreteOp]:
    return [ToFloat()]


def _pil_to_tensor(t: T.PILToTensor, spec: ImageSpec) -> list[ConcreteOp]:
    return [ToUint8Tensor()]


def _normalize(t: T.Normalize, spec: ImageSpec) -> list[ConcreteOp]:
    return [Normalize(tuple(map(float, t.mean)), tuple(map(float, t.std)))]


def _grayscale(t: T.Grayscale, spec: ImageSpec) -> list[ConcreteOp]:
    return [Gray(t.num_output_channels)]


def _random_rotation(t: T.RandomRotation, spec: ImageSpec) -> list[ConcreteOp]:
    angle = t.get_params(t.degrees)
    center = tuple(float(c) for c in t.center) if t.center is not None else None
    fill = t.fill if isinstance(t.fill, (int, float)) or t.fill is None else tuple(t.fill)
    return [Rotate(angle, _interpolation(t.interpolation), bool(t.expand), center, fill)]


def _random_perspective(t: T.RandomPerspective, spec: ImageSpec) -> list[ConcreteOp]:
    if not torch.rand(1) < t.p:
        return []
    startpoints, endpoints = t.get_params(spec.width, spec.height, t.distortion_scale)
    coefficients = tuple(F._get_perspective_coeffs(startpoints, endpoints))
    fill = t.fill if isinstance(t.fill, (int, float)) else tuple(t.fill)
    return [Perspective(coefficients, _interpolation(t.interpolation), fill)]


def _gaussian_blur(t: T.GaussianBlur, spec: ImageSpec) -> list[ConcreteOp]:
    sigma = t.get_params(t.sigma[0], t.sigma[1])
    return [GaussianBlur(tuple(t.kernel_size), (sigma, sigma))]


def _pad(t: T.Pad, spec: ImageSpec) -> list[ConcreteOp]:
    fill = t.fill if isinstance(t.fill, (int, float)) else tuple(t.fill)
    return [Pad(*padding_ltrb(t.padding), fill=fill, mode=t.padding_mode)]


def _convert_dtype(t: T.ConvertImageDtype, spec: ImageSpec) -> list[ConcreteOp]:
    return [ConvertDtype("uint8" if t.dtype == torch.uint8 else "float32")]


def _color_jitter(t: T.ColorJitter, spec: ImageSpec) -> list[ConcreteOp]:
    order, b, c, s, h = t.get_params(t.brightness, t.contrast, t.saturation, t.hue)
    return [ColorAdjust(tuple(int(i) for i in order), b, c, s, h)]


def color_jitter_traits(t: Any) -> Trait:
    return jitter_traits(t.contrast)


def pad_setting_traits(t: Any) -> Trait:
    return pad_traits(t.padding_mode)


def _random_grayscale(t: T.RandomGrayscale, spec: ImageSpec) -> list[ConcreteOp]:
    return [Gray(spec.channels)] if torch.rand(1) < t.p else []


MODELS: dict[type, OpModel] = {
    T.Resize: OpModel("Resize", _resize, RESIZE_TRAITS, (Resize,)),
    T.CenterCrop: OpModel("CenterCrop", _center_crop, CENTER_CROP_TRAITS, (Crop,)),
    T.RandomCrop: OpModel(
        "RandomCrop", _random_crop, produces=(Pad, Crop), traits_of=random_crop_traits
    ),
    T.RandomResizedCrop: OpModel(
        "RandomResizedCrop", _random_resized_crop, RESIZED_CROP_TRAITS, (Crop, Resize)
    ),
    T.RandomHorizontalFlip: OpModel("RandomHorizontalFlip", _hflip, FLIP_TRAITS, (Flip,)),
    T.RandomVerticalFlip: OpModel("RandomVerticalFlip", _vflip, FLIP_TRAITS, (Flip,)),
    T.RandomRotation: OpModel("RandomRotation", _random_rotation, ROTATION_TRAITS, (Rotate,)),
    T.RandomPerspective: OpModel(
        "RandomPerspective", _random_perspective, PERSPECTIVE_TRAITS, (Perspective,)
    ),
    T.GaussianBlur: OpModel("GaussianBlur", _gaussian_blur, NO_TRAITS, (GaussianBlur,)),
    T.Pad: OpModel("Pad", _pad, produces=(Pad,), traits_of=pad_setting_traits),
    T.ToTensor: OpModel("ToTensor", _to_tensor, TO_TENSOR_TRAITS, (ToFloat,)),
    T.PILToTensor: OpModel("PILToTensor", _pil_to_tensor, TO_TENSOR_TRAITS, (ToUint8Tensor,)),
    T.ConvertImageDtype: OpModel(
        "ConvertImageDtype", _convert_dtype, PER_VALUE_TRAITS, (ConvertDtype,)
    ),
    T.Normalize: OpModel("Normalize", _normalize, PER_VALUE_TRAITS, (Normalize,)),
    T.ColorJitter: OpModel(
        "ColorJitter", _color_jitter, produces=(ColorAdjust,), traits_of=color_jitter_traits
    ),
    T.Grayscale: OpModel("Grayscale", _grayscale, GRAY_TRAITS, (Gray,)),
    T.RandomGrayscale: OpModel("RandomGrayscale", _random_grayscale, GRAY_TRAITS, (Gray,)),
}

# Settings the models do not cover make the op opaque rather than wrongly modelled.
_SUPPORTED_DTYPES = (torch.uint8, torch.float32)


def _modelled(t: Any) -> OpModel | None:
    model = MODELS.get(type(t))  # exact type: a subclass may override forward
    if isinstance(t, T.ConvertImageDtype) and t.dtype not in _SUPPORTED_DTYPES:
        return None
    return model


def build_pipeline(
    transform: Any, compose: type, modelled: Callable[[Any], OpModel | None], frontend: str
) -> LogicalPipeline:
    """Flatten nested `compose`s into a logical pipeline; unmodelled ops become barriers.

    torchvision transforms (v1 and v2) draw only from torch's generator; opaque ops are
    called outside the runtime's RNG snapshot, so only that stream need be saved.
    """
    flat: list[Any] = []

    def visit(t: Any) -> None:
        if type(t) is compose:
            for inner in t.transforms:
                visit(inner)
        else:
            flat.append(t)

    visit(transform)
    ops = [LogicalOp(i, t, modelled(t)) for i, t in enumerate(flat)]
    return LogicalPipeline(frontend, transform, ops, rng_streams=("torch",))


# The readers a v1 user feeds this pipeline from (ops.decode.LOADERS); the first is
# ImageFolder's default.
LOADER_NAMES = ("pil",)

HINTS = (
    (
        ("pil",),
        r"TypeError: (img|tensor) should be (a )?Tensor",
        "an op that takes tensors gets a PIL image: put T.ToTensor() (or T.PILToTensor()) "
        "before it",
    ),
)


def parse(transform: Any) -> LogicalPipeline:
    return build_pipeline(transform, T.Compose, _modelled, "torchvision")


def accepts(transform: Any) -> bool:
    module = type(transform).__module__
    return module.startswith("torchvision.transforms") and not module.startswith(
        "torchvision.transforms.v2"
    )
