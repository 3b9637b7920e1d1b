"""Frontends read a user's pipeline object into a `LogicalPipeline`."""

from __future__ import annotations

from typing import Any

from reorder.frontends import albumentations, torchvision_v1, torchvision_v2
from reorder.ir import LogicalPipeline

FRONTENDS = (torchvision_v2, torchvision_v1, albumentations)


def parse(transform: Any) -> LogicalPipeline:
    for frontend in FRONTENDS:
        if frontend.accepts(transform):
            return frontend.parse(transform)
    raise TypeError(
        f"reorder cannot read a pipeline of type {type(transform).__module__}."
        f"{type(transform).__qualname__}; pass a torchvision.transforms (v1 or v2) Compose "
        "(or a single torchvision transform), or an albumentations Compose"
    )
