"""Where the time goes: each step of the original and of a plan, timed on sample files.

The original's steps: the reference loader (which reads the file as it decodes it), then
each op as written. A plan's: reading the file (and a JPEG's header), the draws (the
user's transforms drawing their random parameters), decoding, each stage's kernel, each
opaque op as written, and handing back the original's container. Each sample runs
`repeats` times, both pipelines with the same seeds, interleaved; a step's time on a
sample is its mean over the repeats (a step some draws skip, such as the exact path
outside the verified envelope, counts for its share of the calls). The whole call is
timed as well, without the clocks, each time just before or just after the clocked call
(in turn: the second of two calls on one file finds it in the caches), so that the table
says how much of the whole the steps account for.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from reorder.ir import ConcreteOp, Envelope, ImageSpec, LogicalPipeline, PhysicalPlan
from reorder.measure.timing import one_thread
from reorder.ops import Kernel
from reorder.ops.decode import LOADERS
from reorder.rng import preserved_rng, seed_all
from reorder.runtime import Call, Executor, JpegSource, LazyImage
from reorder.runtime.transform import PlanTransform
from reorder.views import view


@dataclass(frozen=True)
class StepTime:
    name: str
    ms: tuple[float, ...]  # per sample: the mean over the repeats

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.ms)

    @property
    def low_ms(self) -> float:
        return min(self.ms)

    @property
    def high_ms(self) -> float:
        return max(self.ms)


@dataclass(frozen=True)
class PipelineSteps:
    name: str  # "original" or "plan"
    description: str
    steps: tuple[StepTime, ...]
    whole_ms: tuple[float, ...]  # per sample: the mean of the whole call, unclocked

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.whole_ms)

    @property
    def steps_ms(self) -> float:
        return sum(step.mean_ms for step in self.steps)

    @property
    def accounted(self) -> float:
        """The steps' sum over the whole call's time (1.0: they add up exactly)."""
        return self.steps_ms / self.mean_ms if self.mean_ms else 1.0

    def __getitem__(self, name: str) -> StepTime:
        return next(step for step in self.steps if step.name == name)


@dataclass(frozen=True)
class StepProfile:
    """What `reorder.profile` and `plan.profile()` return; `print` it for the table,
    `.plot()` for the chart (in a notebook, it shows as an HTML table)."""

    pipelines: tuple[PipelineSteps, ...]
    samples: tuple[str, ...]
    repeats: int

    def __getitem__(self, name: str) -> PipelineSteps:
        return next(p for p in self.pipelines if p.name == name)

    def __str__(self) -> str:
        return view(self, "text")(self)

    def _repr_html_(self) -> str:
        return view(self, "html")(self)

    def plot(self) -> Any:
        """A matplotlib figure: one horizontal bar per step, the range over images."""
        return view(self, "plot")(self)


class _Clock:
    """Seconds per step name. Steps nest (a decode inside handing back): each counts
    its own time, without the steps inside it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._inner.append(0.0)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            inner = self._inner.pop()
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - inner
            if self._inner:
                self._inner[-1] += elapsed


# The reference loaders read the file as they decode it: one step, as the original runs.
ORIGINAL_LOAD = "read + decode (the reference loader)"


def _original_steps(pipeline: LogicalPipeline, clock: _Clock, path: str) -> None:
    with clock(ORIGINAL_LOAD):
        img = LOADERS[pipeline.loader](path)
    if pipeline.prologue is not None:
        with clock("draw (the pipeline's own)"):
            pipeline.prologue()
    for op in pipeline.ops:
        with clock(op.name):
            img = pipeline.call(op.transform, img)


BOOKKEEPING = "the plan's own bookkeeping (kernel paths, envelope, RNG state)"


class _ClockedExecutor(Executor):
    """The plan as the runtime runs it, with a clock around each of its steps."""

    def __init__(
        self, pipeline: LogicalPipeline, physical: PhysicalPlan, envelope: Envelope | None
    ) -> None:
        super().__init__(pipeline, physical, envelope)
        self.clock = _Clock()
        self._names = [op.name for op in pipeline.ops]
        self._stages: Iterator[Any] = iter(())

    def __call__(self, image: Any) -> Any:
        # What is left of the call once its steps are taken out: choosing each segment's
        # kernel path, checking it against the envelope, keeping the RNG state to replay.
        with self.clock(BOOKKEEPING):
            return super().__call__(image)

    def start(self, image: Any) -> Call:
        with self.clock("read"):
            return super().start(image)

    def step(self, index: int, call: Call) -> Call:
        self._stages = iter([s for s in self.physical.segments[index].stages if s.ops])
        return super().step(index, call)

    def _draw(self, indices: tuple[int, ...], spec: ImageSpec) -> Any:
        with self.clock("draw (your transforms' random parameters)"):
            return super()._draw(indices, spec)

    def _decode(self, source: JpegSource, factor: int) -> tuple[Any, int]:
        with self.clock("decode"):
            return super()._decode(source, factor)

    def _apply(
        self, kernel: Kernel, img: Any, ops: list[ConcreteOp], spec: ImageSpec, factor: int
    ) -> Any:
        stage = next(self._stages, None)
        if stage is not None and stage.kernel == kernel.name:
            name = stage.describe(self._names)
        else:  # the segment's draws lie outside where the plan was verified
            name = f"{kernel.name} (the exact path, outside the verified envelope)"
        with self.clock(name):
            return super()._apply(kernel, img, ops, spec, factor)

    def _call_opaque(self, index: int, img: Any) -> Any:
        with self.clock(f"{self._names[index]} (opaque, as written)"):
            return super()._call_opaque(index, img)

    def _replay(self, img: Any, indices: tuple[int, ...]) -> Any:
        with self.clock("replayed as written (a draw raised)"):
            return super()._replay(img, indices)

    def _materialize(self, call: Call) -> tuple[Any, ImageSpec]:
        with self.clock("hand back (the original's container)"):
            return super()._materialize(call)


def _run(call: Callable[[], Any]) -> None:
    """One timed call; where a draw makes the original raise, every plan raises alike, so
    the error path is timed like any other."""
    try:
        call()
    except Exception:
        return


@dataclass
class _Contender:
    name: str
    description: str
    whole: Callable[[str], Any]
    clocked: Callable[[str], dict[str, float]]


def _contenders(
    pipeline: LogicalPipeline, physical: PhysicalPlan | None, envelope: Envelope | None
) -> list[_Contender]:
    load = LOADERS[pipeline.loader]

    def original_clocked(path: str) -> dict[str, float]:
        clock = _Clock()
        _run(lambda: _original_steps(pipeline, clock, path))
        return clock.seconds

    contenders = [
        _Contender(
            "original",
            "the pipeline as written, on the reference loader's image",
            lambda path: pipeline.invoke(pipeline.original, load(path)),
            original_clocked,
        )
    ]
    if physical is not None:
        transform = PlanTransform(pipeline, physical, envelope=envelope)

        def plan_clocked(path: str) -> dict[str, float]:
            executor = _ClockedExecutor(pipeline, physical, envelope)
            _run(lambda: executor(LazyImage(path)))
            return executor.clock.seconds

        contenders.append(
            _Contender(
                "plan",
                physical.describe([op.name for op in pipeline.ops]),
                lambda path: pipeline.invoke(transform, LazyImage(path)),
                plan_clocked,
            )
        )
    return contenders


def time_steps(
    pipeline: LogicalPipeline,
    physical: PhysicalPlan | None,
    envelope: Envelope | None,
    paths: Sequence[str],
    repeats: int = 5,
) -> StepProfile:
    """Each step of the original (and of `physical`, if given) on `paths`, one thread."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    contenders = _contenders(pipeline, physical, envelope)
    generators = pipeline.generators
    clocks = {c.name: [[] for _ in paths] for c in contenders}
    wholes = {c.name: [[] for _ in paths] for c in contenders}
    with one_thread(), preserved_rng(generators):
        for contender in contenders:  # warm-up: caches, lazy imports, tables
            for path in paths:
                seed_all(0, generators)
                _run(lambda: contender.whole(path))  # noqa: B023 (called at once)
        for repeat in range(repeats):
            order = contenders[repeat % len(contenders) :] + contenders[: repeat % len(contenders)]
            for sample, path in enumerate(paths):
                seed = repeat * 7919 + sample
                for contender in order:
                    for clocked in (True, False) if repeat % 2 else (False, True):
                        seed_all(seed, generators)
                        if clocked:
                            clocks[contender.name][sample].append(contender.clocked(path))
                            continue
                        start = time.perf_counter()
                        _run(lambda: contender.whole(path))  # noqa: B023 (called at once)
                        wholes[contender.name][sample].append(time.perf_counter() - start)
    return StepProfile(
        tuple(_summary(c, clocks[c.name], wholes[c.name]) for c in contenders),
        tuple(paths),
        repeats,
    )


def _summary(
    contender: _Contender, clocks: list[list[dict[str, float]]], wholes: list[list[float]]
) -> PipelineSteps:
    names = list(dict.fromkeys(name for runs in clocks for run in runs for name in run))
    steps = tuple(
        StepTime(
            name,
            tuple(1e3 * statistics.fmean(run.get(name, 0.0) for run in runs) for runs in clocks),
        )
        for name in names
    )
    whole = tuple(1e3 * statistics.fmean(runs) for runs in wholes)
    return PipelineSteps(contender.name, contender.description, steps, whole)
