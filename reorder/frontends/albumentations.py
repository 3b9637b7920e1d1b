"""albumentations (2.x): how each supported class draws and what its draw lowers to.

Per call, the user's `Compose` draws its own coin, then each transform its coin
(`should_apply`), `get_params`, `update_transform_params` and
`get_params_dependent_on_data`, all from the generators that transform owns. The
samplers here make exactly those calls, in that order, on a size-only stand-in for the
image (a zero-stride array), so `A.Compose(..., seed=s)` makes the same choices with or
without the plan. A draw lowers to concrete ops: an OpenCV resize (which the decode rules
may move into the JPEG decoder), or for every other class the transform's own `apply`
with the drawn parameters (`TransformApply`), at the size the original applied it.

Anything else, including a subclass of a supported class or a nested `Compose`, is opaque
and called as written. albumentations is optional: it is imported only for its pipelines.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

import cv2
import numpy as np

from reorder.ir import NO_TRAITS, ConcreteOp, ImageSpec, LogicalOp, LogicalPipeline, OpModel, Trait
from reorder.ops.geometry import CvResize
from reorder.ops.own import TransformApply

Lowering = Callable[[Any, dict[str, Any], ImageSpec], list[ConcreteOp]]
OutputSpec = Callable[[Any, dict[str, Any], ImageSpec], ImageSpec]


def accepts(transform: Any) -> bool:
    return type(transform).__module__.split(".")[0] == "albumentations"


def size_proxy(spec: ImageSpec) -> np.ndarray:
    """An HWC array with the image's shape and no pixels, for `get_params*` calls."""
    return np.broadcast_to(np.zeros((), np.uint8), (spec.height, spec.width, spec.channels))


def draw_params(t: Any, spec: ImageSpec, force: bool) -> dict[str, Any] | None:
    """What `BasicTransform.__call__` draws, in its order; None if its coin says no."""
    t.params = {}
    if not t.should_apply(force_apply=force):
        return None
    data = {"image": size_proxy(spec)}
    params = t.update_transform_params(params=t.get_params(), data=data)
    params.update(t.get_params_dependent_on_data(params=params, data=data))
    t.params = params
    return params


# -- lowerings of one transform's drawn parameters ---------------------------------------


def _cv_resize(width: int, height: int, interpolation: int, spec: ImageSpec) -> list[ConcreteOp]:
    if (width, height) == spec.size:
        return []  # albumentations returns its input unchanged
    return [CvResize(width, height, interpolation)]


def _downscale_interpolation(t: Any, downscale: bool) -> int:
    if downscale and t.area_for_downscale in ("image", "image_mask"):
        return cv2.INTER_AREA
    return t.interpolation


def _max_size(t: Any, params: dict[str, Any], spec: ImageSpec) -> list[ConcreteOp]:
    """`LongestMaxSize` / `SmallestMaxSize`: sizes from the full-resolution input."""
    scale = params["scale"]
    width, height = max(1, round(spec.width * scale)), max(1, round(spec.height * scale))
    return _cv_resize(width, height, _downscale_interpolation(t, scale < 1.0), spec)


def _resize(t: Any, params: dict[str, Any], spec: ImageSpec) -> list[ConcreteOp]:
    downscale = t.height < spec.height or t.width < spec.width
    return _cv_resize(t.width, t.height, _downscale_interpolation(t, downscale), spec)


def _own_apply(output: OutputSpec) -> Lowering:
    def lower(t: Any, params: dict[str, Any], spec: ImageSpec) -> list[ConcreteOp]:
        return [TransformApply(t, params, spec, output(t, params, spec))]

    return lower


def _same(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return spec


def _crop_size(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return spec.with_size(t.width, t.height)  # padded up to it when pad_if_needed


def _sized_crop(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    height, width = t.size
    return spec.with_size(width, height)


def _transposed(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return spec.with_size(spec.height, spec.width)


def _rotated90(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return _transposed(t, params, spec) if params["factor"] % 2 else spec


def _padded(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    width = spec.width + params["pad_left"] + params["pad_right"]
    return spec.with_size(width, spec.height + params["pad_top"] + params["pad_bottom"])


def _rotate(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    if not t.crop_border:
        return spec
    return spec.with_size(params["x_max"] - params["x_min"], params["y_max"] - params["y_min"])


def _affine(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    height, width = params["output_shape"][:2]
    return spec.with_size(width, height)


def _gray(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return spec.with_channels(t.num_output_channels)


def _normalized(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    """(x - mean * max) / (std * max): one output unit is std * max pixel levels."""
    stds = _per_channel(t.std, spec.channels)
    units = tuple(
        u * s * t.max_pixel_value for u, s in zip(spec.levels_per_unit, stds, strict=True)
    )
    return spec.with_kind("float_array", units)


def _per_channel(value: Any, channels: int) -> list[float]:
    """A setting per channel as albumentations applies it (albucore's `convert_value`):
    one value for all where it gives one, a gray image or fewer values than channels,
    else the first `channels` of them."""
    values = np.asarray(value, float).reshape(-1)
    if len(values) == 1 or channels == 1 or len(values) < channels:
        return [float(values[0])] * channels
    return values[:channels].tolist()


def _to_tensor(t: Any, params: dict[str, Any], spec: ImageSpec) -> ImageSpec:
    return spec.with_kind("uint8_tensor" if spec.kind == "array" else "float_tensor")


# -- the table ---------------------------------------------------------------------------


@cache
def _models() -> dict[type, tuple[Lowering, Trait]]:
    """Supported class -> (lowering, traits). Built on first use: albumentations is optional."""
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    resample = Trait.RESAMPLE | Trait.SCALES
    same_size = (
        A.HorizontalFlip,
        A.VerticalFlip,
        A.ColorJitter,
        A.RandomBrightnessContrast,
        A.HueSaturationValue,
        A.GaussNoise,
        A.CoarseDropout,
        A.GaussianBlur,
    )
    return {
        A.Resize: (_resize, resample),
        A.LongestMaxSize: (_max_size, resample),
        A.SmallestMaxSize: (_max_size, resample),
        A.CenterCrop: (_own_apply(_crop_size), NO_TRAITS),
        A.RandomCrop: (_own_apply(_crop_size), NO_TRAITS),
        A.RandomResizedCrop: (_own_apply(_sized_crop), NO_TRAITS),
        A.RandomSizedCrop: (_own_apply(_sized_crop), NO_TRAITS),
        A.PadIfNeeded: (_own_apply(_padded), NO_TRAITS),
        A.Transpose: (_own_apply(_transposed), NO_TRAITS),
        A.RandomRotate90: (_own_apply(_rotated90), NO_TRAITS),
        A.Rotate: (_own_apply(_rotate), NO_TRAITS),
        A.Affine: (_own_apply(_affine), NO_TRAITS),
        A.ShiftScaleRotate: (_own_apply(_affine), NO_TRAITS),
        A.ToGray: (_own_apply(_gray), NO_TRAITS),
        A.Normalize: (_own_apply(_normalized), NO_TRAITS),
        ToTensorV2: (_own_apply(_to_tensor), NO_TRAITS),
        **{cls: (_own_apply(_same), NO_TRAITS) for cls in same_size},
    }


def _composition(t: Any) -> str | None:
    """Which composition `t` is, when it draws as modelled here ("one_of", ...)."""
    import albumentations as A

    kinds = {A.OneOf: "one_of", A.SomeOf: "some_of", A.RandomOrder: "some_of"}
    kinds[A.Sequential] = "sequential"
    return kinds.get(type(t))


def _modelled(t: Any) -> bool:
    if type(t) in _models():  # Normalize's per-image modes depend on the pixels
        return getattr(t, "normalization", "standard") == "standard"
    if _composition(t) is not None:
        return all(_modelled(child) for child in t.transforms)
    return False


def lower(t: Any, spec: ImageSpec, force: bool = False) -> list[ConcreteOp]:
    """Draw `t` (a modelled transform or composition) as its `__call__` does, then lower."""
    kind = _composition(t)
    if kind is None:
        params = draw_params(t, spec, force)
        return [] if params is None else _models()[type(t)][0](t, params, spec)
    if kind == "one_of":
        if not t.transforms_ps or not (force or t.py_random.random() < t.p):
            return []
        chosen = t.transforms[t.random_generator.choice(len(t.transforms), p=t.transforms_ps)]
        return lower(chosen, spec, force=True)
    if kind == "some_of":
        if not t.py_random.random() < t.p:
            return []
        children = [t.transforms[i] for i in t._get_idx()]
    elif force or t.py_random.random() < t.p:  # sequential
        children = list(t.transforms)
    else:
        return []
    ops: list[ConcreteOp] = []
    for child in children:
        child_ops = lower(child, spec)
        for op in child_ops:
            spec = op.output_spec(spec)
        ops += child_ops
    return ops


def _model(t: Any) -> OpModel | None:
    if not _modelled(t):
        return None
    traits = _models()[type(t)][1] if type(t) in _models() else NO_TRAITS
    if Trait.SCALES in traits and not _averages_when_shrinking(t):
        # INTER_LINEAR or NEAREST shrinks read single source pixels: the result depends on
        # the source resolution (a reduced decode's averaged pixels, 33-35 dB on grainy
        # photos), so the resize does not "scale" in the sense the decode rule needs.
        traits &= ~Trait.SCALES
    # Resizes lower to OpenCV's resize, the rest to the transform's own apply; a
    # composition to either.
    if type(t) not in _models():
        produces: tuple[type, ...] = (CvResize, TransformApply)
    else:
        produces = (CvResize,) if Trait.RESAMPLE in traits else (TransformApply,)
    return OpModel(type(t).__name__, lower, traits, produces)


def _averages_when_shrinking(t: Any) -> bool:
    """Whether a resize transform shrinks by OpenCV's pixel-area average."""
    return t.area_for_downscale in ("image", "image_mask") or t.interpolation == cv2.INTER_AREA


def generators(transform: Any) -> tuple[Any, ...]:
    """Every RNG object in the pipeline, once each, in tree order."""
    found: dict[int, Any] = {}

    def visit(t: Any) -> None:
        for name in ("py_random", "random_generator"):
            if hasattr(t, name):
                found.setdefault(id(getattr(t, name)), getattr(t, name))
        for child in getattr(t, "transforms", ()):
            visit(child)

    visit(transform)
    return tuple(found.values())


def draw_compose_coin(compose: Any) -> None:
    """`Compose.__call__` draws its coin (always, even for p=1) before any transform."""
    compose.py_random.random()


def _splittable(transform: Any) -> bool:
    """Whether the pipeline's ops can be planned one by one; else it runs whole, as one
    barrier (the decoder may still be faster)."""
    import albumentations as A

    return (
        type(transform) is A.Compose  # not a subclass, not a bare transform or OneOf
        and transform.p >= 1  # Compose(p < 1) may skip every op at once
        and not transform.processors  # bbox/keypoint params check data between ops
        and not transform._additional_targets
    )


def _refuse_extra_outputs(transform: Any) -> None:
    """A plan returns {"image": ...}; these pipelines return more, which it cannot make."""
    import albumentations as A

    if isinstance(transform, A.ReplayCompose) or getattr(transform, "save_applied_params", 0):
        raise TypeError(
            f"reorder cannot plan {type(transform).__name__} with replay or "
            "save_applied_params: its output carries the applied params besides the image; "
            "plan the same transforms in a plain A.Compose"
        )


# albumentations users read files with OpenCV (ops.decode.LOADERS).
LOADER_NAMES = ("cv2",)

HINTS = (
    (
        ("cv2",),
        r"CropSizeError: Crop size .* exceeds image dimensions",
        "the crop is larger than the images: add A.PadIfNeeded before it, or pad_if_needed=True",
    ),
)


def parse(transform: Any) -> LogicalPipeline:
    _refuse_extra_outputs(transform)
    # Looked up per call: `set_random_seed` (e.g. in a worker_init_fn) replaces them.
    common: dict[str, Any] = {
        "rng_streams": (),
        "owned_generators": partial(generators, transform),
        "keyword": "image",
        "settings": repr,
    }
    if not _splittable(transform):
        whole = [LogicalOp(0, transform, None)]
        return LogicalPipeline("albumentations", transform, whole, **common)
    ops = [LogicalOp(i, t, _model(t)) for i, t in enumerate(transform.transforms)]
    prologue = partial(draw_compose_coin, transform)
    return LogicalPipeline("albumentations", transform, ops, prologue=prologue, **common)
