"""PIL kernels: one resample of a composed source box instead of resize-then-crop."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image
from torchvision.transforms import functional as F

from reorder.ir import ConcreteOp, ImageSpec
from reorder.ir.geometry import BoxMap, compose_box
from reorder.kernels.reference import apply_ops

_FLIPS = (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM)


def _fill_color(fill: float | tuple[float, ...], mode: str) -> int | tuple[int, ...]:
    """The colour torchvision's PIL pad uses for `fill` (ints, one per band)."""
    bands = len(mode)
    if isinstance(fill, tuple):
        values = fill * bands if len(fill) == 1 else fill
        return tuple(int(v) for v in values)
    return tuple([int(fill)] * bands) if bands > 1 else int(fill)


def box_resample(
    img: Image.Image, ops: Sequence[ConcreteOp], spec: ImageSpec, source_factor: int = 1
) -> Image.Image:
    """Apply axis-aligned `ops` as one resample; `img` may be the source at 1/source_factor."""
    box = compose_box(ops, spec)
    if box is None:
        return apply_ops(img, ops)
    out = _resample_valid(img, box, source_factor)
    if box.x.valid != (0, box.x.size) or box.y.valid != (0, box.y.size):
        canvas = Image.new(img.mode, box.out_size, _fill_color(box.fill, img.mode))
        if out is not None:
            canvas.paste(out, (box.x.valid[0], box.y.valid[0]))
        out = canvas
    if box.flip_horizontal:
        out = out.transpose(_FLIPS[0])
    if box.flip_vertical:
        out = out.transpose(_FLIPS[1])
    return out


def _resample_valid(img: Image.Image, box: BoxMap, k: int) -> Image.Image | None:
    width = box.x.valid[1] - box.x.valid[0]
    height = box.y.valid[1] - box.y.valid[0]
    if width <= 0 or height <= 0:
        return None
    left, top, right, bottom = (v / k for v in box.source_box())
    if box.interpolation is None:
        return img.crop((round(left), round(top), round(right), round(bottom)))
    clip = (
        math.floor(box.x.clip[0] / k),
        math.floor(box.y.clip[0] / k),
        min(img.width, math.ceil(box.x.clip[1] / k)),
        min(img.height, math.ceil(box.y.clip[1] / k)),
    )
    if clip != (0, 0, img.width, img.height):
        img = img.crop(clip)
        left, right = left - clip[0], right - clip[0]
        top, bottom = top - clip[1], bottom - clip[1]
    resample = F.pil_modes_mapping[F.InterpolationMode(box.interpolation)]
    return img.resize((width, height), resample, box=(left, top, right, bottom))


def box_reduce_factor(ops: Sequence[ConcreteOp], spec: ImageSpec, margin: float) -> int:
    """Largest DCT reduction (8, 4, 2 or 1) that keeps `margin` source pixels per output
    pixel along both axes, so the resample after it still only shrinks."""
    box = compose_box(ops, spec)
    if box is None or box.interpolation is None:
        return 1
    return reduce_factor_for_scale(box.decode_scale(), margin)


def reduce_factor_for_scale(scale: float, margin: float) -> int:
    factor = 8
    while factor > 1 and 1.0 / factor < scale * margin:
        factor //= 2
    return factor
