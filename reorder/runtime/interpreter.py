"""The one interpreter of a physical plan: draw, decode at the size needed, apply kernels.

Per call, for each run of modelled ops: draw every op's parameters in the user's order
(through the user's transform objects: this is where the RNG streams advance, exactly as
in the original), then apply the stages. An opaque op is called as written, on the
container the original would have handed it. Nothing is planned here: the plan is data.

The runtime runs it (`Executor`); the cost model walks the same steps over sizes alone
(`measure.cost`), and generated code (`plan.to_code()`) calls its steps one by one, so a
plan means one thing, here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from reorder.ir import ConcreteOp, Envelope, ImageSpec, LogicalPipeline, PhysicalPlan, Segment
from reorder.ops import KERNELS, Kernel
from reorder.ops.backends import REFERENCE_KERNEL
from reorder.ops.decode import LOADERS, jpeg_size, reads_path
from reorder.rng import rng_state, set_rng_state
from reorder.runtime.sources import (
    JpegSource,
    LazyImage,
    original_container,
    planned_input,
    spec_after,
    to_container,
)


def call_as_written(pipeline: LogicalPipeline, img: Any, indices: Sequence[int]) -> Any:
    """The ops at `indices`, called as the user wrote them, one after the other."""
    for i in indices:
        img = pipeline.call(pipeline.ops[i].transform, img)
    return img


def ops_after(segments: Sequence[Segment], index: int) -> tuple[int, ...]:
    """The logical ops of the segments after `segments[index]`, in order."""
    return tuple(i for segment in segments[index + 1 :] for i in segment.ops)


# DCT scaling errs most near block and image edges, which dominate small images, and
# saves little there: never decode below this many pixels on the short side.
MIN_REDUCED_SIDE = 64


def reduced_decode_factor(
    kernel: Kernel, ops: Sequence[ConcreteOp], spec: ImageSpec, min_shrink: float
) -> int:
    """The DCT reduction to decode at, when `kernel` runs first on `ops`."""
    factor = kernel.reduce_factor(ops, spec, min_shrink)
    while factor > 1 and min(spec.width, spec.height) < factor * MIN_REDUCED_SIDE:
        factor //= 2
    return factor


# Per logical op index: (its input spec, the concrete ops its draw lowered to).
Draws = dict[int, tuple[ImageSpec, list[ConcreteOp]]]


def draw(
    pipeline: LogicalPipeline, indices: tuple[int, ...], spec: ImageSpec
) -> tuple[Draws, ImageSpec]:
    """Draw the ops' parameters in order, through the user's transforms."""
    draws = {}
    for i in indices:
        ops = pipeline.ops[i].sample(spec)
        draws[i] = (spec, ops)
        for op in ops:
            spec = op.output_spec(spec)
    return draws, spec


@dataclass(frozen=True)
class KernelPath:
    """How a segment is about to run on one input: its kernels' branches and the decode
    factor as one key, and each stage's shrink per axis (source pixels per output pixel)."""

    key: str
    shrinks: tuple[float, ...]
    factor: int


# One stage about to run: its position in the segment, its kernel, the spec its first op
# was drawn for, and its concrete ops.
StageRun = tuple[int, Kernel, ImageSpec, list[ConcreteOp]]


def stage_runs(segment: Segment, draws: Draws) -> list[StageRun]:
    """The segment's stages that have ops, with what each runs on these draws."""
    return [
        (
            position,
            KERNELS[stage.kernel],
            draws[stage.ops[0]][0],
            [op for i in stage.ops for op in draws[i][1]],
        )
        for position, stage in enumerate(segment.stages)
        if stage.ops
    ]


def segment_path(
    segment: Segment, draws: Draws, min_shrink: float, runs: list[StageRun] | None = None
) -> KernelPath:
    """The approximate path `segment` takes with these draws, from sizes alone;
    `min_shrink` > 0 when its input is a JPEG not yet decoded, which the first stage may
    decode reduced. Only approximate branches and a reduced decode enter the key (with
    their stage's shrinks): a path of exact steps alone has the key "" and runs anywhere.
    `runs`: the segment's `stage_runs`, when the caller has them already."""
    runs = stage_runs(segment, draws) if runs is None else runs
    factor, parts, shrinks = 1, [], []
    current: ImageSpec | None = None
    for number, (position, kernel, spec, ops) in enumerate(runs):
        first = current is None
        if first:
            if position == 0 and min_shrink > 0:
                factor = reduced_decode_factor(kernel, ops, spec, min_shrink)
            current = spec.with_size(-(-spec.width // factor), -(-spec.height // factor))
        branches = kernel.branches(ops, spec, current)
        keyed = bool(branches) or (first and factor > 1)
        if not keyed and number == len(runs) - 1:
            break  # its output size feeds nothing: the path is complete
        out = spec if position == 0 else current
        for op in ops:
            out = op.output_spec(out)
        if keyed:
            parts.append(f"{kernel.name}[{','.join(branches)}]")
            shrinks += [current.width / max(1, out.width), current.height / max(1, out.height)]
        current = out
    key = f"{' '.join(parts)} @{factor}" if parts else ""
    return KernelPath(key, tuple(shrinks), factor)


@dataclass
class Call:
    """One call of a plan, between steps: the image and its spec, or the finished output
    (where the original's own ops took over)."""

    img: Any
    spec: ImageSpec | None
    # RNG state before any draw, put back if the file turns out unreadable.
    unwind: tuple[Any, ...] | None = None
    done: bool = False


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

    def __call__(self, image: Any) -> Any:
        call = self.start(image)
        for index in range(len(self.physical.segments)):
            call = self.step(index, call)
        return self.finish(call)

    def start(self, image: Any) -> Call:
        """Read the input (a `LazyImage` is read, a JPEG kept undecoded) and make the
        draws the frontend makes before any op."""
        pipeline, kind = self.pipeline, self.pipeline.input_kind
        if isinstance(image, LazyImage):
            img = self._open(image)
            spec = ImageSpec(*img.size, kind=kind) if isinstance(img, JpegSource) else None
            if spec is None and (spec := planned_input(img, kind)) is None:
                return Call(pipeline.call(pipeline.original, img), None, done=True)
        elif (spec := planned_input(image, kind)) is not None:
            img = image
        else:  # other containers, modes and shapes: exactly what the original does with them
            return Call(pipeline.call(pipeline.original, image), None, done=True)
        return self._prologue(Call(img, spec))

    def _open(self, image: LazyImage) -> Any:
        """A JPEG libjpeg-turbo decodes like the reference, undecoded; else the pixels
        the reference loader reads."""
        loader = self.pipeline.loader
        fast = self.physical.fast_decode and reads_path(image.path, loader)
        data = self._read(image) if fast else b""
        size = jpeg_size(data, loader) if data else None
        if size is None:
            return LOADERS[loader](image.path)
        if loader == "pil":
            Image._decompression_bomb_check(size)  # Pillow's limit, as Image.open applies
        return JpegSource(data, size, image.path, loader)

    def _prologue(self, call: Call) -> Call:
        pipeline = self.pipeline
        if pipeline.prologue is not None:
            if isinstance(call.img, JpegSource):
                # Decoding is deferred past the prologue's draws; if the file turns out
                # unreadable, the original's loader failed before any draw.
                call.unwind = rng_state(pipeline.rng_streams, pipeline.generators)
            pipeline.prologue()
        return call

    def step(self, index: int, call: Call) -> Call:
        """Segment `index` of the plan: an opaque op called as written, or the draws of
        a run of modelled ops and its stages."""
        if call.done:
            return call
        pipeline, segments = self.pipeline, self.physical.segments
        segment = segments[index]
        if segment.barrier is not None:
            img, spec = self._materialize(call)
            img = self._call_opaque(segment.barrier, img)
            return self._continued(index, img, spec_after(img, spec.levels_per_unit), call)
        streams, generators = pipeline.rng_streams, pipeline.generators
        state = rng_state(streams, generators)
        try:
            draws, spec_drawn = self._draw(segment.ops, call.spec)
            img = self._run_segment(index, segment, call.img, call.spec, draws)
            return Call(img, spec_drawn, call.unwind)
        except Exception:
            # The original may fail at an op before the one that failed here, with
            # fewer draws made: replay the segment as written, from the same RNG
            # state, so it fails (or succeeds) exactly as the original does.
            set_rng_state(state, streams, generators)
            img, spec = self._materialize(call)
            img = self._replay(img, segment.ops)
            return self._continued(index, img, spec_after(img, spec.levels_per_unit), call)

    def _continued(self, index: int, img: Any, spec: ImageSpec | None, call: Call) -> Call:
        """After an op called as written: what is not an image takes the rest as written."""
        if spec is None:
            rest = ops_after(self.physical.segments, index)
            return Call(call_as_written(self.pipeline, img, rest), None, done=True)
        return Call(img, spec, call.unwind)

    def finish(self, call: Call) -> Any:
        """The output, in the container the original returns."""
        return call.img if call.done else self._materialize(call)[0]

    def _read(self, image: LazyImage) -> bytes:
        try:
            return image.read()
        except OSError:
            # A missing or unreadable path: raise what the reference loader raises for it
            # (torchvision.io's reader raises RuntimeError, not OSError).
            LOADERS[self.pipeline.loader](image.path)
            raise

    def _run_segment(
        self, index: int, segment: Segment, img: Any, spec: ImageSpec, draws: Draws
    ) -> Any:
        """The segment's stages, where its envelope admits this path; else the exact one."""
        undecoded, runs = isinstance(img, JpegSource), stage_runs(segment, draws)
        min_shrink = self.physical.min_shrink if undecoded else 0.0
        path = segment_path(segment, draws, min_shrink, runs)
        admitted = self._admits(index, spec, path)
        if undecoded:
            img, factor = self._decode(img, path.factor if admitted else 1)
            if admitted and factor != path.factor:  # the reference loader decoded it
                path = segment_path(segment, draws, 0.0, runs)
                admitted = self._admits(index, spec, path)
        if not admitted:
            ops = [op for i in segment.ops for op in draws[i][1]]
            return self._apply(REFERENCE_KERNEL, img, ops, spec, 1)
        for position, kernel, stage_spec, ops in runs:
            img = self._apply(kernel, img, ops, stage_spec, path.factor if position == 0 else 1)
        if self.record_into is not None and path.key:
            self.record_into.record(index, spec, path.key, path.shrinks)
        return img

    def _admits(self, index: int, spec: ImageSpec, path: KernelPath) -> bool:
        envelope = self.envelope
        return envelope is None or envelope.admits(index, spec, path.key, path.shrinks)

    def _draw(self, indices: tuple[int, ...], spec: ImageSpec) -> tuple[Draws, ImageSpec]:
        return draw(self.pipeline, indices, spec)

    # The steps below touch pixels; the cost model's walk replaces them with sizes.

    def _decode(self, source: JpegSource, factor: int) -> tuple[Any, int]:
        return source.decode(factor)

    def _apply(
        self, kernel: Kernel, img: Any, ops: list[ConcreteOp], spec: ImageSpec, factor: int
    ) -> Any:
        """`kernel` on `ops` drawn for `spec`; `img` may be the source at 1/factor."""
        return kernel.run(to_container(img, kernel.takes, spec.kind), ops, spec, factor)

    def _call_opaque(self, index: int, img: Any) -> Any:
        return self.pipeline.call(self.pipeline.ops[index].transform, img)

    def _replay(self, img: Any, indices: tuple[int, ...]) -> Any:
        return call_as_written(self.pipeline, img, indices)

    def _materialize(self, call: Call) -> tuple[Any, ImageSpec]:
        """The container the original would have here: PIL for PIL stages. A source
        the reference loader cannot decode raises its error, with the RNG state put back
        to `call.unwind` (taken before any draw) when given."""
        img = call.img
        if isinstance(img, JpegSource):
            try:
                img = self._decode(img, 1)[0]
            except Exception:
                if call.unwind is not None:
                    pipeline = self.pipeline
                    set_rng_state(call.unwind, pipeline.rng_streams, pipeline.generators)
                raise
        return original_container(img, call.spec.kind), call.spec
