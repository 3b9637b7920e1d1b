"""What a rule is: a name, its exactness, why it is safe, and a rewrite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reorder.ir import LogicalPipeline, PhysicalPlan, Stage

Rewrite = Callable[[PhysicalPlan, LogicalPipeline], Iterator[PhysicalPlan]]


@dataclass(frozen=True)
class Rule:
    name: str
    exactness: str  # "exact": same values up to float rounding; "approximate": verified
    why: str  # one sentence for plan.explain()
    rewrite: Rewrite
    # For an approximate rule: the geometries where its error lives (what the envelope
    # must have covered), in a phrase for plan.explain().
    approximate_on: str = ""

    def __post_init__(self) -> None:
        if self.exactness not in ("exact", "approximate"):
            raise ValueError(f"rule {self.name}: exactness must be 'exact' or 'approximate'")
        if (self.exactness == "approximate") != bool(self.approximate_on):
            raise ValueError(f"rule {self.name}: say where it is approximate, and only then")


def stage_traits(stage: Stage, pipeline: LogicalPipeline) -> list[frozenset[str]]:
    return [pipeline.ops[i].traits for i in stage.ops]


def has(stage: Stage, pipeline: LogicalPipeline, trait: str) -> bool:
    return any(trait in t for t in stage_traits(stage, pipeline))


def all_have(stage: Stage, pipeline: LogicalPipeline, trait: str) -> bool:
    return bool(stage.ops) and all(trait in t for t in stage_traits(stage, pipeline))


def starts_from_pil(pipeline: LogicalPipeline) -> bool:
    """The PIL, OpenCV and table kernels reproduce torchvision's PIL arithmetic (and read
    HWC pixels); a pipeline fed tensors runs v2's tensor kernels, which they do not match."""
    return pipeline.input_kind == "pil"


def modelled_segments(plan: PhysicalPlan) -> Iterator[tuple[int, list[Stage]]]:
    for index, segment in enumerate(plan.segments):
        if segment.barrier is None:
            yield index, list(segment.stages)


def single(stage: Stage, pipeline: LogicalPipeline, trait: str, kernels: tuple[str, ...]) -> bool:
    """`stage` runs one op, having `trait`, with one of `kernels`."""
    return stage.kernel in kernels and len(stage.ops) == 1 and all_have(stage, pipeline, trait)


def convert_stages(
    plan: PhysicalPlan,
    pipeline: LogicalPipeline,
    eligible: Callable[[Stage], bool],
    kernel: str,
    rule: str,
) -> Iterator[PhysicalPlan]:
    """One rewrite per segment: every eligible stage runs with `kernel` instead."""
    for index, stages in modelled_segments(plan):
        if any(eligible(s) for s in stages):
            converted = [Stage(kernel, s.ops) if eligible(s) else s for s in stages]
            yield plan.replace_stages(index, converted, rule)
