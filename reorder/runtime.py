"""Executes a physical plan on one image: draw, decode at the size needed, apply kernels.

Per call, for each run of modelled ops: draw every op's parameters in the user's order
(through the user's transform objects: this is where the RNG streams advance, exactly as
in the original), then apply the stages. An opaque op is called as written, on the
container the original would have handed it. Nothing is planned here: the plan is data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from reorder.ir import (
    ConcreteOp,
    Envelope,
    ImageSpec,
    LogicalPipeline,
    PhysicalPlan,
    Segment,
    Stage,
)
from reorder.kernels import KERNELS, Kernel
from reorder.kernels.decode import LOADERS, decode_jpeg, jpeg_size, reads_path
from reorder.rng import rng_state, set_rng_state

# PIL modes the plan's kernels handle; images in other modes take the original pipeline.
_PLANNED_MODES = {"RGB": 3, "L": 1}


class LazyImage:
    """A path whose pixels are decoded by `plan.transform`, at the size the plan needs.

    Returned by `plan.loader`; cheap to create and to pickle.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"LazyImage({self.path!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyImage, (self.path,))

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()


@dataclass
class JpegSource:
    """A JPEG not yet decoded: the plan first learns what size it needs."""

    data: bytes
    size: tuple[int, int]
    path: str
    loader: str  # the reference loader, a name in LOADERS

    def decode(self, factor: int) -> tuple[Any, int]:
        """Pixels at 1/factor size and the factor actually used."""
        try:
            return decode_jpeg(self.data, self.size, factor), factor
        except ValueError:
            # libjpeg-turbo refuses what the reference loader may accept (truncated files
            # with LOAD_TRUNCATED_IMAGES) or rejects otherwise: let the reference decide,
            # as the original did, at full size, which every kernel takes.
            return LOADERS[self.loader](self.path), 1


def spec_of(img: Any, units: tuple[float, ...] = (1.0,)) -> ImageSpec | None:
    """Spec of an image the plan can run on, or None for inputs it hands to the original.

    Arrays are albumentations' HWC images: uint8 ("array"), or float with `units`.
    """
    if isinstance(img, Image.Image):
        if img.mode not in _PLANNED_MODES:
            return None
        return ImageSpec(img.width, img.height, _PLANNED_MODES[img.mode])
    if isinstance(img, np.ndarray) and img.ndim in (2, 3):
        channels = 1 if img.ndim == 2 else img.shape[2]
        if img.dtype == np.uint8:
            return ImageSpec(img.shape[1], img.shape[0], channels, "array", (1.0,) * channels)
        units = units if len(units) == channels else units[:1] * channels
        return ImageSpec(img.shape[1], img.shape[0], channels, "float_array", units)
    return None


def tensor_spec(img: torch.Tensor, units: tuple[float, ...]) -> ImageSpec:
    kind = "uint8_tensor" if img.dtype == torch.uint8 else "float_tensor"
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return ImageSpec(img.shape[-1], img.shape[-2], channels, kind, units[:1] * channels)


def spec_after(img: Any, units: tuple[float, ...]) -> ImageSpec | None:
    """Spec of what an op called as written returned; None for anything but an image
    (the rest of the pipeline then runs as written too)."""
    if isinstance(img, torch.Tensor):
        return tensor_spec(img, units) if img.ndim >= 2 else None
    return spec_of(img, units)


def call_as_written(pipeline: LogicalPipeline, img: Any, indices: Sequence[int]) -> Any:
    """The ops at `indices`, called as the user wrote them, one after the other."""
    for i in indices:
        img = pipeline.call(pipeline.ops[i].transform, img)
    return img


def ops_after(segments: Sequence[Segment], index: int) -> tuple[int, ...]:
    """The logical ops of the segments after `segments[index]`, in order."""
    return tuple(i for segment in segments[index + 1 :] for i in segment.ops)


def planned_input(img: Any, kind: str) -> ImageSpec | None:
    """Spec of an input the plan runs on: what the reference loader makes (an RGB or L
    PIL image, an HxWx3 uint8 array, a 3xHxW uint8 tensor), else None."""
    if kind == "pil" and isinstance(img, Image.Image):
        return spec_of(img)
    if kind == "array" and isinstance(img, np.ndarray) and img.dtype == np.uint8:
        return spec_of(img) if img.ndim == 3 and img.shape[2] == 3 else None
    if kind == "uint8_tensor" and isinstance(img, torch.Tensor) and img.dtype == torch.uint8:
        return tensor_spec(img, (1.0,)) if img.ndim == 3 and img.shape[0] == 3 else None
    return None


def reads_pil(takes: str, kind: str) -> bool:
    """Whether a kernel reads PIL images; "any" (the reference) reads what the original
    had at that point (a PIL image for a "pil" spec, else an array or a tensor)."""
    return takes == "pil" or (takes == "any" and kind == "pil")


def to_container(img: Any, takes: str, kind: str = "pil") -> Any:
    """`img` as a kernel reads it."""
    if takes == "array" and isinstance(img, Image.Image):
        return np.asarray(img)
    if reads_pil(takes, kind) and isinstance(img, np.ndarray):
        return Image.fromarray(img)
    if takes == "any" and kind == "uint8_tensor" and isinstance(img, np.ndarray):
        return torch.from_numpy(img).permute(2, 0, 1)  # CHW over HWC memory, as decode_image
    return img


def original_container(img: Any, kind: str) -> Any:
    """`img` in the container the original has where the spec's kind is `kind` (PIL for
    PIL stages, HWC arrays for albumentations, CHW tensors for torchvision.io input)."""
    if kind in ("pil", "array"):
        return to_container(img, kind)
    if kind == "uint8_tensor":
        return to_container(img, "any", kind)
    return img


# DCT scaling errs most near block and image edges, which dominate small images, and
# saves little there: never decode below this many pixels on the short side.
MIN_REDUCED_SIDE = 64


def reduced_decode_factor(
    kernel: Kernel, ops: Sequence[ConcreteOp], spec: ImageSpec, margin: float
) -> int:
    """The DCT reduction to decode at, when `kernel` runs first on `ops`."""
    factor = kernel.reduce_factor(ops, spec, margin)
    while factor > 1 and min(spec.width, spec.height) < factor * MIN_REDUCED_SIDE:
        factor //= 2
    return factor


Drawn = dict[int, tuple[ImageSpec, list[ConcreteOp]]]


def draw(
    pipeline: LogicalPipeline, indices: tuple[int, ...], spec: ImageSpec
) -> tuple[Drawn, ImageSpec]:
    """Draw the ops' parameters in order: {op index: (its input spec, its concrete ops)}."""
    drawn = {}
    for i in indices:
        ops = pipeline.ops[i].sample(spec)
        drawn[i] = (spec, ops)
        for op in ops:
            spec = op.output_spec(spec)
    return drawn, spec


@dataclass(frozen=True)
class KernelPath:
    """How a segment is about to run on one input: its kernels' branches and the decode
    factor as one key, and each stage's shrink per axis (source pixels per output pixel)."""

    key: str
    shrinks: tuple[float, ...]
    factor: int


def segment_path(segment: Segment, drawn: Drawn, margin: float) -> KernelPath:
    """The approximate path `segment` takes with these draws, from sizes alone; `margin`
    > 0 when its input is a JPEG not yet decoded, which the first stage may decode
    reduced. Only approximate branches and a reduced decode enter the key (with their
    stage's shrinks): a path of exact steps alone has the key "" and runs anywhere."""
    factor, parts, shrinks = 1, [], []
    current: ImageSpec | None = None
    for position, stage in enumerate(segment.stages):
        if not stage.ops:
            continue
        kernel = KERNELS[stage.kernel]
        spec, ops = drawn[stage.ops[0]][0], [op for i in stage.ops for op in drawn[i][1]]
        first = current is None
        if first:
            if position == 0 and margin > 0:
                factor = reduced_decode_factor(kernel, ops, spec, margin)
            current = spec.with_size(-(-spec.width // factor), -(-spec.height // factor))
        out = spec if position == 0 else current
        for op in ops:
            out = op.output_spec(out)
        branches = kernel.branches(ops, spec, current)
        if branches or (first and factor > 1):
            parts.append(f"{stage.kernel}[{','.join(branches)}]")
            shrinks += [current.width / max(1, out.width), current.height / max(1, out.height)]
        current = out
    key = f"{' '.join(parts)} @{factor}" if parts else ""
    return KernelPath(key, tuple(shrinks), factor)


class Executor:
    """A physical plan bound to its logical pipeline; picklable, stateless per call.

    With an `envelope`, a segment runs as planned only where that envelope says it was
    verified, and takes the exact path (the original's kernels) elsewhere. With
    `record_into`, each segment that runs as planned grows that envelope instead: the
    verifier records what it has seen, to become the plan's envelope once it passes.
    """

    def __init__(
        self,
        pipeline: LogicalPipeline,
        physical: PhysicalPlan,
        envelope: Envelope | None = None,
        record_into: Envelope | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.physical = physical
        self.envelope = envelope
        self.record_into = record_into
        self._margin = float(physical.decode.option("margin", 0.0))
        self._fast_decode = physical.decode.option("backend") == "simplejpeg"

    def __call__(self, image: Any) -> Any:
        pipeline, kind = self.pipeline, self.pipeline.input_kind
        if isinstance(image, LazyImage):
            fast = self._fast_decode and reads_path(image.path, pipeline.loader)
            data = self._read(image) if fast else b""
            size = jpeg_size(data, pipeline.loader) if data else None
            if size and pipeline.loader == "pil":
                Image._decompression_bomb_check(size)  # Pillow's limit, as Image.open applies
            img: Any = JpegSource(data, size, image.path, pipeline.loader) if size else None
            if img is None:  # what libjpeg-turbo does not decode, the reference loader reads
                img = LOADERS[pipeline.loader](image.path)
            spec = ImageSpec(*size, kind=kind) if size else planned_input(img, kind)
            if spec is None:
                return pipeline.call(pipeline.original, img)
        elif (spec := planned_input(image, kind)) is not None:
            img = image
        else:  # other containers, modes and shapes: exactly what the original does with them
            return pipeline.call(pipeline.original, image)
        streams, generators = pipeline.rng_streams, pipeline.generators
        unwind = None
        if pipeline.prologue is not None:
            if isinstance(img, JpegSource):
                # Decoding is deferred past the prologue's draws; if the file turns out
                # unreadable, the original's loader failed before any draw.
                unwind = rng_state(streams, generators)
            pipeline.prologue()
        segments = self.physical.segments
        for index, segment in enumerate(segments):
            if segment.barrier is not None:
                img, spec = self._materialize(img, spec, unwind)
                img = pipeline.call(pipeline.ops[segment.barrier].transform, img)
                if (spec := spec_after(img, spec.units)) is None:
                    return call_as_written(pipeline, img, ops_after(segments, index))
                continue
            state, segment_input = rng_state(streams, generators), img
            try:
                drawn, spec_drawn = draw(self.pipeline, segment.ops, spec)
                img = self._run_segment(index, segment, img, spec, drawn)
                spec = spec_drawn
            except Exception:
                # The original may fail at an op before the one that failed here, with
                # fewer draws made: replay the segment as written, from the same RNG
                # state, so it fails (or succeeds) exactly as the original does.
                set_rng_state(state, streams, generators)
                img, spec = self._materialize(segment_input, spec, unwind)
                img = call_as_written(pipeline, img, segment.ops)
                if (spec := spec_after(img, spec.units)) is None:
                    return call_as_written(pipeline, img, ops_after(segments, index))
        img, spec = self._materialize(img, spec, unwind)
        return img

    def _read(self, image: LazyImage) -> bytes:
        try:
            return image.read()
        except OSError:
            # A missing or unreadable path: raise what the reference loader raises for it
            # (torchvision.io's reader raises RuntimeError, not OSError).
            LOADERS[self.pipeline.loader](image.path)
            raise

    def _run_segment(
        self, index: int, segment: Segment, img: Any, spec: ImageSpec, drawn: Drawn
    ) -> Any:
        """The segment's stages, where its envelope admits this path; else the exact one."""
        undecoded = isinstance(img, JpegSource)
        path = segment_path(segment, drawn, self._margin if undecoded else 0.0)
        admitted = self._admits(index, spec, path)
        if undecoded:
            img, factor = img.decode(path.factor if admitted else 1)
            if admitted and factor != path.factor:  # the reference loader decoded it
                path = segment_path(segment, drawn, 0.0)
                admitted = self._admits(index, spec, path)
        if not admitted:
            ops = [op for i in segment.ops for op in drawn[i][1]]
            return KERNELS["reference"].run(to_container(img, "any", spec.kind), ops, spec, 1)
        for position, stage in enumerate(segment.stages):
            img = self._run_stage(stage, img, drawn, path.factor if position == 0 else 1)
        if self.record_into is not None and path.key:
            self.record_into.record(index, spec, path.key, path.shrinks)
        return img

    def _admits(self, index: int, spec: ImageSpec, path: KernelPath) -> bool:
        envelope = self.envelope
        return envelope is None or envelope.admits(index, spec, path.key, path.shrinks)

    def _run_stage(self, stage: Stage, img: Any, drawn: Drawn, factor: int) -> Any:
        if not stage.ops:
            return img
        kernel = KERNELS[stage.kernel]
        ops = [op for i in stage.ops for op in drawn[i][1]]
        spec = drawn[stage.ops[0]][0]
        return kernel.run(to_container(img, kernel.takes, spec.kind), ops, spec, factor)

    def _materialize(
        self, img: Any, spec: ImageSpec, unwind: tuple[Any, ...] | None = None
    ) -> tuple[Any, ImageSpec]:
        """Hand over the container the original would have: PIL for PIL stages. A source
        the reference loader cannot decode raises its error, with the RNG state put back
        to `unwind` (taken before any draw) when given."""
        if isinstance(img, JpegSource):
            try:
                img = img.decode(1)[0]
            except Exception:
                if unwind is not None:
                    set_rng_state(unwind, self.pipeline.rng_streams, self.pipeline.generators)
                raise
        return original_container(img, spec.kind), spec
