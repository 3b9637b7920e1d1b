"""The drop-in transform `plan.transform`: what the original accepts, run by the plan."""

from __future__ import annotations

import os
import warnings
from typing import Any

from reorder.frontends.watch import Watch
from reorder.ir import Envelope, LogicalPipeline, PhysicalPlan
from reorder.ops.decode import LOADERS
from reorder.runtime.interpreter import Executor
from reorder.runtime.sources import LazyImage

# `physical_for_images` not given: decoded images take the same physical plan as files.
SAME_PLAN = object()


def _with_path(exc: Exception, path: str) -> Exception:
    """The same exception class, with the file named in its message."""
    path = os.fsdecode(path)
    if path in str(exc):
        return exc
    try:
        if isinstance(exc, OSError) and exc.errno is not None:
            renamed = type(exc)(exc.errno, exc.strerror, path)
        else:
            renamed = type(exc)(f"{path}: {exc}")
    except Exception:  # a class whose constructor wants other arguments
        exc.add_note(f"while reading {path}")
        return exc
    renamed.__cause__ = exc
    return renamed


class PipelineChangedError(RuntimeError):
    """The pipeline object was changed after its plan was made: the plan would run what
    was verified, not what the pipeline now says. The message names what changed."""


def watch(pipeline: LogicalPipeline) -> Watch:
    """A watch on the pipeline's settings; its opaque ops are called as written, so only
    their identity counts."""
    return Watch(pipeline.original, [op.transform for op in pipeline.ops if op.opaque])


class PlanTransform:
    """The drop-in transform: accepts what the original did, plus `LazyImage`s. It
    refuses to run once its pipeline object changed (`PipelineChangedError`)."""

    def __init__(
        self,
        pipeline: LogicalPipeline,
        physical: PhysicalPlan | None,
        physical_for_images: PhysicalPlan | None | object = SAME_PLAN,
        envelope: Envelope | None = None,
        envelope_for_images: Envelope | None = None,
    ) -> None:
        """`physical` runs on files (None: the original); `physical_for_images` on images
        the caller decoded (by default the same plan). `envelope`: where `physical` was
        verified (None: run it everywhere, as the verifier does); `envelope_for_images`
        likewise."""
        self.pipeline = pipeline
        self.executor = Executor(pipeline, physical, envelope) if physical is not None else None
        if physical_for_images is SAME_PLAN:
            self._images_executor = self.executor
        elif physical_for_images is not None:
            self._images_executor = Executor(pipeline, physical_for_images, envelope_for_images)
        else:
            self._images_executor = None
        self._warned = False
        self.watch = watch(pipeline)

    def __call__(self, *args: Any, **targets: Any) -> Any:
        """`transform(image)` for torchvision, `transform(image=...)` for albumentations."""
        if (changed := self.watch.changes()) is not None:
            raise PipelineChangedError(
                f"the pipeline changed after it was planned ({changed}); this plan runs "
                "what was verified then, not what the pipeline says now: re-run "
                "reorder.optimize (or `reorder plan`) for the pipeline as it is"
            )
        keyword = self.pipeline.keyword
        if keyword is None:
            if len(args) != 1 or targets:
                return self._unplanned(args, targets, f"{len(args) + len(targets)} inputs")
            if isinstance(args[0], (tuple, list, dict)):  # v2's structured inputs
                return self._unplanned(args, {}, f"a {type(args[0]).__name__} of inputs")
            return self._image(args[0])
        if args:  # as albumentations says for positional data
            raise KeyError(
                "You have to pass data to augmentations as named arguments, for example: "
                f"transform({keyword}=image)"
            )
        if set(targets) != {keyword}:
            extra = sorted(set(targets) - {keyword})
            return self._unplanned((), targets, f"target(s) {extra}")
        return {keyword: self._image(targets[keyword])}

    def _image(self, image: Any) -> Any:
        lazy = isinstance(image, LazyImage)
        executor = self.executor if lazy else self._images_executor
        try:
            if executor is not None:
                return executor(image)
            loaded = LOADERS[self.pipeline.loader](image.path) if lazy else image
            return self.pipeline.call(self.pipeline.original, loaded)
        except Exception as exc:
            if lazy:  # the original plan included: the error names the file
                raise _with_path(exc, image.path) from exc.__cause__
            raise

    def _unplanned(self, args: tuple[Any, ...], targets: dict[str, Any], what: str) -> Any:
        """A call with more than the image (boxes, masks): the original runs, on the
        image read by the reference loader, and says so once where it accepts the call."""
        paths: list[str] = []
        args, targets = self._loaded(args, paths), self._loaded(targets, paths)
        try:
            output = self.pipeline.original(*args, **targets)
        except Exception as exc:
            if len(paths) == 1:  # the error names the file, as on the image alone
                raise _with_path(exc, paths[0]) from exc.__cause__
            raise
        if self.executor is not None and not self._warned:
            self._warned = True
            warnings.warn(
                f"reorder plans calls on the image alone; calls with {what} are not planned "
                "yet, so they run the original pipeline (same result, original speed)",
                stacklevel=3,
            )
        return output

    def _loaded(self, inputs: Any, paths: list[str]) -> Any:
        """`inputs` (a tuple, list or dict, and those in it) with each `LazyImage` read by
        the reference loader; their paths are added to `paths`."""
        if isinstance(inputs, LazyImage):
            paths.append(inputs.path)
            try:
                return LOADERS[self.pipeline.loader](inputs.path)
            except Exception as exc:
                raise _with_path(exc, inputs.path) from exc.__cause__
        if isinstance(inputs, dict):
            return {key: self._loaded(value, paths) for key, value in inputs.items()}
        if isinstance(inputs, (tuple, list)):
            loaded = [self._loaded(value, paths) for value in inputs]
            return loaded if isinstance(inputs, list) else tuple(loaded)
        return inputs

    def __repr__(self) -> str:
        return f"PlanTransform({self.pipeline.original!r})"
