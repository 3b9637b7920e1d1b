"""Frontends read a user's pipeline object into a `LogicalPipeline`.

Each frontend module offers the same four names:
- `accepts(transform)`: whether the object is this library's pipeline;
- `parse(transform)`: its `LogicalPipeline`;
- `LOADER_NAMES`: the readers its users feed it from (`ops.decode.LOADERS`), the usual first;
- `HINTS`: `(loaders, pattern, advice)` rows, what to tell a user whose pipeline raises an
  error matching `pattern` (a regular expression on "Class: message") on every sample, for
  files read by one of `loaders`.
"""

from __future__ import annotations

import re
from typing import Any

from reorder.frontends import albumentations, torchvision_v1, torchvision_v2
from reorder.ir import LogicalPipeline

FRONTENDS = (torchvision_v2, torchvision_v1, albumentations)


def parse(transform: Any, loader: str | None = None) -> LogicalPipeline:
    """The logical pipeline of `transform`, fed by `loader` (a name in each frontend's
    `LOADER_NAMES`; the first, the library's usual reader, when None)."""
    for frontend in FRONTENDS:
        if frontend.accepts(transform):
            pipeline = frontend.parse(transform)
            if loader is not None and loader not in frontend.LOADER_NAMES:
                raise ValueError(
                    f"loader={loader!r} is not available for {pipeline.frontend} pipelines; "
                    f"choose one of {list(frontend.LOADER_NAMES)}"
                )
            pipeline.loader = loader or frontend.LOADER_NAMES[0]
            return pipeline
    raise TypeError(
        f"reorder cannot read a pipeline of type {type(transform).__module__}."
        f"{type(transform).__qualname__}; pass a torchvision.transforms (v1 or v2) Compose "
        "(or a single torchvision transform), or an albumentations Compose"
    )


_BY_NAME = {"torchvision": torchvision_v1, "torchvision.v2": torchvision_v2}


def hint(pipeline: LogicalPipeline, error: str) -> str:
    """Advice for a pipeline that raises `error` ("Class: message") on every sample, where
    its frontend knows the cause; else ""."""
    frontend = _BY_NAME.get(pipeline.frontend, albumentations)
    return next(
        (
            advice
            for loaders, pattern, advice in frontend.HINTS
            if pipeline.loader in loaders and re.search(pattern, error)
        ),
        "",
    )
