"""torchvision.transforms.v2: one `OpModel` per supported class, in `MODELS`.

v2 transforms already separate drawing from applying: `make_params(flat_inputs)` draws,
`transform(inpt, params)` applies. Each sampler here draws exactly what the transform's
`forward` draws: the p-coin of the random-apply ones (`torch.rand(1) >= p` skips), then
`make_params` on a size-only stand-in. On PIL images v2 runs the same Pillow code as v1,
so the params lower to the same concrete ops. On tensors (from `torchvision.io`, or after
`ToImage`) v2 has kernels of its own: a resize lowers to `TensorResize`, crops and flips
(plain indexing) to `Crop` and `Flip`, and every other op to its own
`transform(inpt, params)` with the drawn params (`TransformApply`), exact by construction.
`RandomApply`, `RandomChoice` and `RandomOrder` draw their coin, choice or order as their
`forward` does, then their members' params; they are modelled when every member is.
Unlisted classes and subclasses are opaque barriers.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    color_jitter_traits,
    pad_setting_traits,
    padding_ltrb,
    random_crop_traits,
    size_proxy,
)
from reorder.ir import NO_TRAITS, ConcreteOp, ImageSpec, LogicalOp, LogicalPipeline, OpModel, Trait
from reorder.ops.blur import V2GaussianBlur
from reorder.ops.colour import GRAY_TRAITS, ColorAdjust, Gray
from reorder.ops.conversion import PER_VALUE_TRAITS, TO_TENSOR_TRAITS, Normalize, ToDtype, ToImage
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
    TensorResize,
)
from reorder.ops.own import TransformApply

_TENSOR_KINDS = ("uint8_tensor", "float_tensor")


def _params(t: Any, spec: ImageSpec) -> dict[str, Any]:
    return t.make_params([size_proxy(spec)])


def _applies(t: Any) -> bool:
    """The coin of v2's random-apply transforms: it runs only when rand < p."""
    return not bool(torch.rand(1) >= t.p)


def _pil_fill(t: Any) -> Any:
    fill = _get_fill(t._fill, Image.Image)
    return tuple(fill) if isinstance(fill, list) else fill


def _own_on_tensors(
    t: Any, params: dict[str, Any], ops: list[ConcreteOp], spec: ImageSpec
) -> list[ConcreteOp]:
    """`ops` on a PIL image; on a tensor, the transform's own kernel with `params`."""
    if spec.kind not in _TENSOR_KINDS or not ops:
        return ops
    output = spec
    for op in ops:
        output = op.output_spec(output)
    return [TransformApply(t, params, spec, output)]


def _resize_op(width: int, height: int, t: Any, spec: ImageSpec) -> ConcreteOp:
    interpolation = _interpolation(t.interpolation)
    if spec.kind in _TENSOR_KINDS:
        return TensorResize(width, height, interpolation, t.antialias)
    return Resize(width, height, interpolation, t.antialias)


def _resize(t: v2.Resize, spec: ImageSpec) -> list[ConcreteOp]:
    height, width = F._compute_resized_output_size(
        (spec.height, spec.width), t.size, t.max_size, allow_size_none=True
    )
    if (width, height) == spec.size:
        return []
    return [_resize_op(width, height, t, spec)]


def _center_crop(t: v2.CenterCrop, spec: ImageSpec) -> list[ConcreteOp]:
    return center_crop_op(t.size[0], t.size[1], spec)


def _random_crop(t: v2.RandomCrop, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    ops: list[ConcreteOp] = []
    if params["needs_pad"]:
        ops.append(Pad(*padding_ltrb(params["padding"]), fill=_pil_fill(t), mode=t.padding_mode))
    if params["needs_crop"]:
        ops.append(Crop(params["left"], params["top"], params["width"], params["height"]))
    return _own_on_tensors(t, params, ops, spec) if params["needs_pad"] else ops


def _random_resized_crop(t: v2.RandomResizedCrop, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    ops: list[ConcreteOp] = [Crop(params["left"], params["top"], params["width"], params["height"])]
    out_h, out_w = t.size
    if (out_w, out_h) != (params["width"], params["height"]):
        ops.append(_resize_op(out_w, out_h, t, ops[0].output_spec(spec)))
    return ops


def _hflip(t: v2.RandomHorizontalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(True)] if _applies(t) else []


def _vflip(t: v2.RandomVerticalFlip, spec: ImageSpec) -> list[ConcreteOp]:
    return [Flip(False)] if _applies(t) else []


def _random_rotation(t: v2.RandomRotation, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    center = tuple(float(c) for c in t.center) if t.center is not None else None
    interpolation = _interpolation(t.interpolation)
    rotate = Rotate(params["angle"], interpolation, bool(t.expand), center, _pil_fill(t))
    return _own_on_tensors(t, params, [rotate], spec)


def _random_affine(t: v2.RandomAffine, spec: ImageSpec) -> list[ConcreteOp]:
    # No kernel models an affine warp yet: v2 applies it, on PIL images and tensors alike.
    return [TransformApply(t, _params(t, spec), spec, spec)]


def _random_perspective(t: v2.RandomPerspective, spec: ImageSpec) -> list[ConcreteOp]:
    if not _applies(t):
        return []
    params = _params(t, spec)
    coefficients = tuple(params["coefficients"])
    warp = Perspective(coefficients, _interpolation(t.interpolation), _pil_fill(t))
    return _own_on_tensors(t, params, [warp], spec)


def _gaussian_blur(t: v2.GaussianBlur, spec: ImageSpec) -> list[ConcreteOp]:
    params = _params(t, spec)
    blur = V2GaussianBlur(tuple(t.kernel_size), tuple(params["sigma"]))
    return _own_on_tensors(t, params, [blur], spec)


def _pad(t: v2.Pad, spec: ImageSpec) -> list[ConcreteOp]:
    pad = Pad(*padding_ltrb(t.padding), fill=_pil_fill(t), mode=t.padding_mode)
    return _own_on_tensors(t, _params(t, spec), [pad], spec)


def _color_jitter(t: v2.ColorJitter, spec: ImageSpec) -> list[ConcreteOp]:
    p = _params(t, spec)
    order = tuple(int(i) for i in p["fn_idx"])
    factors = (p["brightness_factor"], p["contrast_factor"], p["saturation_factor"])
    return _own_on_tensors(t, p, [ColorAdjust(order, *factors, p["hue_factor"])], spec)


def _grayscale(t: v2.Grayscale, spec: ImageSpec) -> list[ConcreteOp]:
    return _own_on_tensors(t, _params(t, spec), [Gray(t.num_output_channels)], spec)


def _random_grayscale(t: v2.RandomGrayscale, spec: ImageSpec) -> list[ConcreteOp]:
    if not _applies(t):
        return []
    params = _params(t, spec)
    return _own_on_tensors(t, params, [Gray(params["num_input_channels"])], spec)


def _to_image(t: v2.ToImage, spec: ImageSpec) -> list[ConcreteOp]:
    return [ToImage()]


def _to_dtype(t: v2.ToDtype, spec: ImageSpec) -> list[ConcreteOp]:
    if spec.kind == "pil":
        return []  # v2 passes PIL images through ToDtype untouched
    return [ToDtype(str(t.dtype).removeprefix("torch."), bool(t.scale))]


def _normalize(t: v2.Normalize, spec: ImageSpec) -> list[ConcreteOp]:
    return [Normalize(tuple(map(float, t.mean)), tuple(map(float, t.std)))]


# -- containers: their own draw, then their members' ------------------------------------


def _members(transforms: Sequence[Any], spec: ImageSpec) -> list[ConcreteOp]:
    ops: list[ConcreteOp] = []
    for t in transforms:
        model = _modelled(t)
        assert model is not None, "containers are modelled only when every member is"
        for op in model.sample(t, spec):
            ops.append(op)
            spec = op.output_spec(spec)
    return ops


def _random_apply(t: v2.RandomApply, spec: ImageSpec) -> list[ConcreteOp]:
    if torch.rand(1) >= t.p:
        return []
    return _members(t.transforms, spec)


def _random_choice(t: v2.RandomChoice, spec: ImageSpec) -> list[ConcreteOp]:
    index = int(torch.multinomial(torch.tensor(t.p), 1))
    return _members([t.transforms[index]], spec)


def _random_order(t: v2.RandomOrder, spec: ImageSpec) -> list[ConcreteOp]:
    order = [int(i) for i in torch.randperm(len(t.transforms))]
    return _members([t.transforms[i] for i in order], spec)


def _container_traits(t: Any) -> Trait:
    """What holds whichever members run: only value-only facts shared by all of them
    (a rule fusing geometry must see each op, so geometry in a container stays put)."""
    members = [_model_of(m) for m in t.transforms]
    shared = NO_TRAITS
    for trait in (Trait.POINTWISE, Trait.PER_VALUE):
        if all(trait in m.traits for m in members):
            shared |= trait
    if any(Trait.FILLS in m.traits for m in members):
        shared |= Trait.FILLS
    return shared


_GEOMETRY = Trait.AXIS_ALIGNED | Trait.ROTATE | Trait.RESAMPLE | Trait.FILLS


def _container_produces(t: Any) -> tuple[type, ...]:
    """What its members lower to, for a backend to take the container whole; none where a
    member moves pixels: a rule on geometry must see each op, so it stays put (as in the
    search that plan files were written from)."""
    members = [_model_of(m) for m in t.transforms]
    if any(m.traits & _GEOMETRY for m in members):
        return ()
    return tuple(cls for m in members for cls in m.produces)


def _model_of(t: Any) -> LogicalOp:
    return LogicalOp(-1, t, _modelled(t))


# `produces` lists what the draws lower to on PIL images, where the rules that read it
# apply; on tensors v2's own kernels run (TensorResize, TransformApply).
_CONTAINER = {"traits_of": _container_traits, "produces_of": _container_produces}
MODELS: dict[type, OpModel] = {
    v2.Resize: OpModel("Resize", _resize, RESIZE_TRAITS, (Resize,)),
    v2.CenterCrop: OpModel("CenterCrop", _center_crop, CENTER_CROP_TRAITS, (Crop,)),
    v2.RandomCrop: OpModel(
        "RandomCrop", _random_crop, produces=(Pad, Crop), traits_of=random_crop_traits
    ),
    v2.RandomResizedCrop: OpModel(
        "RandomResizedCrop",
        _random_resized_crop,
        RESIZED_CROP_TRAITS,
        (Crop, Resize),
    ),
    v2.RandomHorizontalFlip: OpModel("RandomHorizontalFlip", _hflip, FLIP_TRAITS, (Flip,)),
    v2.RandomVerticalFlip: OpModel("RandomVerticalFlip", _vflip, FLIP_TRAITS, (Flip,)),
    v2.RandomRotation: OpModel("RandomRotation", _random_rotation, ROTATION_TRAITS, (Rotate,)),
    v2.RandomAffine: OpModel("RandomAffine", _random_affine, Trait.FILLS, (TransformApply,)),
    v2.RandomPerspective: OpModel(
        "RandomPerspective", _random_perspective, PERSPECTIVE_TRAITS, (Perspective,)
    ),
    v2.GaussianBlur: OpModel("GaussianBlur", _gaussian_blur, NO_TRAITS, (V2GaussianBlur,)),
    v2.Pad: OpModel("Pad", _pad, produces=(Pad,), traits_of=pad_setting_traits),
    v2.ColorJitter: OpModel(
        "ColorJitter", _color_jitter, produces=(ColorAdjust,), traits_of=color_jitter_traits
    ),
    v2.Grayscale: OpModel("Grayscale", _grayscale, GRAY_TRAITS, (Gray,)),
    v2.RandomGrayscale: OpModel("RandomGrayscale", _random_grayscale, GRAY_TRAITS, (Gray,)),
    v2.ToImage: OpModel("ToImage", _to_image, TO_TENSOR_TRAITS, (ToImage,)),
    v2.ToDtype: OpModel("ToDtype", _to_dtype, PER_VALUE_TRAITS, (ToDtype,)),
    v2.Normalize: OpModel("Normalize", _normalize, PER_VALUE_TRAITS, (Normalize,)),
    v2.RandomApply: OpModel("RandomApply", _random_apply, **_CONTAINER),
    v2.RandomChoice: OpModel("RandomChoice", _random_choice, **_CONTAINER),
    v2.RandomOrder: OpModel("RandomOrder", _random_order, **_CONTAINER),
}
_CONTAINERS = (v2.RandomApply, v2.RandomChoice, v2.RandomOrder)


def _modelled(t: Any) -> OpModel | None:
    if isinstance(t, v2.ToDtype) and not isinstance(t.dtype, torch.dtype):
        return None  # a per-type dtype dict: leave it to v2
    model = MODELS.get(type(t))  # exact type: a subclass may override transform
    if type(t) in _CONTAINERS and not all(_modelled(m) is not None for m in t.transforms):
        return None
    return model


# The readers a v2 user feeds this pipeline from (ops.decode.LOADERS): ImageFolder's PIL
# loader by default, or torchvision.io's decoder to uint8 tensors.
LOADER_NAMES = ("pil", "torchvision.io")

HINTS = (
    (
        ("pil",),
        r"TypeError: \w+\(\) does not support PIL images",
        "this pipeline works on tensors: plan it with loader='torchvision.io' (files read "
        "as uint8 tensors, as decode_image does), or put v2.ToImage() first",
    ),
)


def parse(transform: Any) -> LogicalPipeline:
    return build_pipeline(transform, v2.Compose, _modelled, "torchvision.v2")


def accepts(transform: Any) -> bool:
    return type(transform).__module__.startswith("torchvision.transforms.v2")
