"""torchvision.transforms.v2: one `OpModel` per supported class, in `MODELS`.

v2 transforms already separate drawing from applying: `make_params(flat_inputs)` draws,
`transform(inpt, params)` applies. Each sampler here draws exactly what the transform's
`forward` draws: the p-coin of the random-apply ones (`torch.rand(1) >= p` skips), then
`make_params` on a size-only stand-in. On PIL images v2 runs the same Pillow code as v1,
so the params lower to the same concrete ops. Unlisted classes (RandomApply, RandomChoice,
RandomOrder, RandomAffine, ...) and subclasses are opaque barriers for now.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from torchvision.transforms import functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2._utils import _get_fill

from reorder.frontends.torchvision_v1 import (
    _interpolation,
    build_pipeline,
    center_crop_op,
    pad_traits,
    padding_ltrb,
    random_crop_traits,
    size_proxy,
)
from reorder.ir import (
    ColorAdjust,
    ConcreteOp,
    Crop,
    Flip,
    Gray,
    ImageSpec,
    LogicalPipeline,
    Normalize,
    OpModel,
    Pad,
    Resize,
    Rotate,
    ToDtype,
    ToImage,
)


def _params(t: Any, spec: ImageSpec) -> dict[str, Any]:
    return t.make_params([size_proxy(spec)])


def _applies(t: Any) -> bool:
    """The coin of v2's random-apply transforms: it runs only when rand < p."""
    return not bool(torch.rand(1) >= t.p)


def _pil_fill(t: Any) -> Any:
    fill = _get_fill(t._fill, Image.Image)
    return tuple(fill) if isinstance(fill, list) else fill


def _resize(t: v2.Resize, spec: ImageSpec) -> list[ConcreteOp]:
    height, width = F._compute_resized_output_size(
        (spec.height, spec.width), t.size, t.max_size, allow_size_none=True
    )
    if (width, height) == spec.size:
        return []
    return [Resize(width, height, _interpolation(t.interpolation), t.antialias)]


def _center_crop(t: v2.CenterCrop, spec: ImageSpec) -> list[ConcreteOp]:
    return center_crop_op(t.size[0], t.size[1], spec)


def _random_crop(t: v2.RandomCrop, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    ops: list[ConcreteOp] = []
    if params["needs_pad"]:
        ops.append(Pad(*padding_ltrb(params["padding"]), fill=_pil_fill(t), mode=t.padding_mode))
    if params["needs_crop"]:
        ops.append(Crop(params["left"], params["top"], params["width"], params["height"]))
    return ops


def _random_resized_crop(t: v2.RandomResizedCrop, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    ops: list[ConcreteOp] = [Crop(params["left"], params["top"], params["width"], params["height"])]
    out_h, out_w = t.size
    if (out_w, out_h) != (params["width"], params["height"]):
        ops.append(Resize(out_w, out_h, _interpolation(t.interpolation), t.antialias))
    return ops


def _hflip(t: v2.RandomHorizontalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(True)] if _applies(t) else []


def _vflip(t: v2.RandomVerticalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(False)] if _applies(t) else []


def _random_rotation(t: v2.RandomRotation, spec: ImageSpec) -> list[ConcreteOp]:
    angle = _params(t, spec)["angle"]
    center = tuple(float(c) for c in t.center) if t.center is not None else None
    return [Rotate(angle, _interpolation(t.interpolation), bool(t.expand), center, _pil_fill(t))]


def _pad(t: v2.Pad, spec: ImageSpec) -> list[ConcreteOp]:
    return [Pad(*padding_ltrb(t.padding), fill=_pil_fill(t), mode=t.padding_mode)]


def _color_jitter(t: v2.ColorJitter, spec: ImageSpec) -> list[ConcreteOp]:
    p = _params(t, spec)
    order = tuple(int(i) for i in p["fn_idx"])
    return [
        ColorAdjust(
            order,
            p["brightness_factor"],
            p["contrast_factor"],
            p["saturation_factor"],
            p["hue_factor"],
        )
    ]


def _grayscale(t: v2.Grayscale, spec: ImageSpec) -> list[ConcreteOp]:
    return [Gray(t.num_output_channels)]


def _random_grayscale(t: v2.RandomGrayscale, spec: ImageSpec) -> list[ConcreteOp]:
    if not _applies(t):
        return []
    return [Gray(_params(t, spec)["num_input_channels"])]


def _to_image(t: v2.ToImage, spec: ImageSpec) -> list[ConcreteOp]:
    return [ToImage()]


def _to_dtype(t: v2.ToDtype, spec: ImageSpec) -> list[ConcreteOp]:
    if spec.kind == "pil":
        return []  # v2 passes PIL images through ToDtype untouched
    return [ToDtype(str(t.dtype).removeprefix("torch."), bool(t.scale))]


def _normalize(t: v2.Normalize, spec: ImageSpec) -> list[ConcreteOp]:
    return [Normalize(tuple(map(float, t.mean)), tuple(map(float, t.std)))]


MODELS: dict[type, OpModel] = {
    v2.Resize: OpModel("Resize", _resize, frozenset({"axis_aligned", "resample", "scales"})),
    v2.CenterCrop: OpModel("CenterCrop", _center_crop, frozenset({"axis_aligned", "fills"})),
    v2.RandomCrop: OpModel("RandomCrop", _random_crop, traits_of=random_crop_traits),
    v2.RandomResizedCrop: OpModel(
        "RandomResizedCrop", _random_resized_crop, frozenset({"axis_aligned", "resample"})
    ),
    v2.RandomHorizontalFlip: OpModel("RandomHorizontalFlip", _hflip, frozenset({"axis_aligned"})),
    v2.RandomVerticalFlip: OpModel("RandomVerticalFlip", _vflip, frozenset({"axis_aligned"})),
    v2.RandomRotation: OpModel("RandomRotation", _random_rotation, frozenset({"rotate", "fills"})),
    v2.Pad: OpModel("Pad", _pad, traits_of=pad_traits),
    v2.ColorJitter: OpModel("ColorJitter", _color_jitter, frozenset({"pointwise"})),
    v2.Grayscale: OpModel("Grayscale", _grayscale, frozenset({"pointwise"})),
    v2.RandomGrayscale: OpModel("RandomGrayscale", _random_grayscale, frozenset({"pointwise"})),
    v2.ToImage: OpModel("ToImage", _to_image, frozenset({"to_tensor", "per_value"})),
    v2.ToDtype: OpModel("ToDtype", _to_dtype, frozenset({"per_value"})),
    v2.Normalize: OpModel("Normalize", _normalize, frozenset({"normalize", "per_value"})),
}


def _modelled(t: Any) -> OpModel | None:
    if isinstance(t, v2.ToDtype) and not isinstance(t.dtype, torch.dtype):
        return None  # a per-type dtype dict: leave it to v2
    return MODELS.get(type(t))  # exact type: a subclass may override transform


def parse(transform: Any) -> LogicalPipeline:
    return build_pipeline(transform, v2.Compose, _modelled, "torchvision.v2")


def accepts(transform: Any) -> bool:
    return type(transform).__module__.startswith("torchvision.transforms.v2")
