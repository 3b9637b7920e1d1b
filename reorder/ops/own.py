"""A transform applied by its own code with parameters it has already drawn.

For transforms whose parameters can be drawn from the size alone but whose pixel work
no faster kernel models: the plan still draws them in the user's order (they are not
barriers), and applies them where the original did, with the original's code (its
`apply_with_params` for albumentations, its `transform(inpt, params)` for v2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torchvision.transforms import v2

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ops.registry import register_reference


@dataclass(frozen=True, eq=False)
class TransformApply(ConcreteOp):
    transform: Any
    params: dict[str, Any]
    drawn_for: ImageSpec  # the input its params were drawn for
    output: ImageSpec  # what it makes of that input

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return self.output


@register_reference(TransformApply)
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
