"""What a rule is, and the one engine that applies every rule to a plan.

A rule declares what it matches, as tinygrad's `PatternMatcher` rows do: a window of
consecutive stages, each described by a `Stages` pattern (the kernel it runs, the traits
of its ops, the backends they have kernels for, its position after fill), and what the
window becomes. A decode rule matches the decode stage and the stage it feeds. The
engine walks the segments; no rule walks them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from reorder.ir import NO_TRAITS, LogicalPipeline, PhysicalPlan, Stage, Trait
from reorder.ir.physical import Options
from reorder.ops.registry import runs_on


@dataclass(frozen=True)
class Stages:
    """What one stage must be for a rule (all conditions must hold)."""

    kernels: tuple[str, ...] = ()  # runs one of these stage kernels (() any)
    every: Trait = NO_TRAITS  # every op has all of these traits
    each_one_of: Trait = NO_TRAITS  # every op has at least one of these
    some: Trait = NO_TRAITS  # some op has one of these
    none: Trait = NO_TRAITS  # no op has any of these
    single: bool = False  # exactly one logical op
    runs_on: str = ""  # a backend with a kernel for every concrete op type its ops make
    after_fill: bool | None = None  # fill came (True) or did not (False) earlier in the segment
    many: bool = False  # zero or more such stages in a row (greedy), not exactly one

    def matches(self, stage: Stage, pipeline: LogicalPipeline, after_fill: bool) -> bool:
        if self.kernels and stage.kernel not in self.kernels:
            return False
        if not stage.ops or (self.single and len(stage.ops) != 1):
            return False
        if self.after_fill is not None and after_fill != self.after_fill:
            return False
        ops = [pipeline.ops[i] for i in stage.ops]
        if not all(self.every in op.traits for op in ops):
            return False
        if self.each_one_of and not all(op.traits & self.each_one_of for op in ops):
            return False
        if self.some and not any(op.traits & self.some for op in ops):
            return False
        if any(op.traits & self.none for op in ops):
            return False
        return not self.runs_on or all(
            op.produces and all(runs_on(cls, self.runs_on) for cls in op.produces) for op in ops
        )


Pattern = tuple[Stages, ...]
Window = tuple[Stage, ...]


@dataclass(frozen=True)
class Rule:
    """A rewrite of a window of consecutive stages in one segment."""

    name: str
    exact: bool  # same values up to float rounding; else approximate, verified
    why: str  # one sentence for plan.explain()
    match: tuple[Pattern, ...]  # alternatives
    rewrite: Callable[[Window], Window]
    # A condition across the window's stages that the patterns cannot say.
    where: Callable[[Window, LogicalPipeline], bool] | None = None
    every: bool = False  # rewrite all matches in a segment at once, not one per plan
    overlapping: bool = False  # also try windows that start inside a match
    pil_input: bool = True  # its kernels reproduce PIL's arithmetic on PIL-fed pipelines
    # For an approximate rule: the geometries where its error lives (what the envelope
    # must have covered), in a phrase for plan.explain().
    approximate_on: str = ""

    def __post_init__(self) -> None:
        if self.exact == bool(self.approximate_on):
            raise ValueError(f"rule {self.name}: say where it is approximate, and only then")


@dataclass(frozen=True)
class DecodeRule:
    """A change of the decode stage's options, where they and the first stage allow."""

    name: str
    exact: bool
    why: str
    requires: Options  # the decode's options must hold these values (None: absent)
    unless: Options  # and must not hold these
    sets: Options
    # The first stage of a first segment that is modelled, if given, matches one of these.
    first: tuple[Stages, ...] = ()
    approximate_on: str = ""

    def __post_init__(self) -> None:
        if self.exact == bool(self.approximate_on):
            raise ValueError(f"rule {self.name}: say where it is approximate, and only then")


AnyRule = Rule | DecodeRule


def fuse_into(kernel: str) -> Callable[[Window], Window]:
    """A rewrite that runs every op of the window with one stage of `kernel`."""
    return lambda window: (Stage(kernel, tuple(i for stage in window for i in stage.ops)),)


def rewrites(
    rule: AnyRule, plan: PhysicalPlan, pipeline: LogicalPipeline
) -> Iterator[PhysicalPlan]:
    """Every plan one application of `rule` makes of `plan`."""
    if isinstance(rule, DecodeRule):
        yield from _decode_rewrites(rule, plan, pipeline)
        return
    if rule.pil_input and pipeline.input_kind != "pil":
        return  # a pipeline fed tensors runs v2's tensor kernels, which these do not match
    for index, segment in enumerate(plan.segments):
        if segment.barrier is not None:
            continue
        stages = list(segment.stages)
        windows = list(_windows(rule, stages, pipeline))
        if rule.every and windows:
            yield plan.replace_stages(index, _replace(stages, windows, rule), rule.name)
        elif not rule.every:
            for window in windows:
                yield plan.replace_stages(index, _replace(stages, [window], rule), rule.name)


def _replace(stages: list[Stage], windows: list[tuple[int, int]], rule: Rule) -> list[Stage]:
    out, position = [], 0
    for start, stop in windows:
        out += stages[position:start] + list(rule.rewrite(tuple(stages[start:stop])))
        position = stop
    return out + stages[position:]


def _windows(
    rule: Rule, stages: Sequence[Stage], pipeline: LogicalPipeline
) -> Iterator[tuple[int, int]]:
    """(start, stop) of each match, leftmost first; past a match the scan resumes at its
    end unless the rule overlaps."""
    fill_before = _fill_before(stages, pipeline)
    start = 0
    while start < len(stages):
        stop = _first_match(rule, stages, start, pipeline, fill_before)
        if stop is None:
            start += 1
            continue
        yield start, stop
        start = start + 1 if rule.overlapping else stop


def _first_match(
    rule: Rule,
    stages: Sequence[Stage],
    start: int,
    pipeline: LogicalPipeline,
    fill_before: list[bool],
) -> int | None:
    for pattern in rule.match:
        stop = _match_at(pattern, stages, start, pipeline, fill_before)
        if stop is not None and stop > start:
            window = tuple(stages[start:stop])
            if rule.where is None or rule.where(window, pipeline):
                return stop
    return None


def _match_at(
    pattern: Pattern,
    stages: Sequence[Stage],
    position: int,
    pipeline: LogicalPipeline,
    fill_before: list[bool],
) -> int | None:
    """Where `pattern` matched from `position` ends (greedy, no backtracking), or None."""

    def fits(part: Stages, i: int) -> bool:
        return i < len(stages) and part.matches(stages[i], pipeline, fill_before[i])

    for part in pattern:
        if part.many:
            while fits(part, position):
                position += 1
        elif fits(part, position):
            position += 1
        else:
            return None
    return position


def _fill_before(stages: Sequence[Stage], pipeline: LogicalPipeline) -> list[bool]:
    """Per stage, whether an earlier stage of the segment adds fill."""
    seen, out = False, []
    for stage in stages:
        out.append(seen)
        seen = seen or any(Trait.FILLS in pipeline.ops[i].traits for i in stage.ops)
    return out


def _decode_rewrites(
    rule: DecodeRule, plan: PhysicalPlan, pipeline: LogicalPipeline
) -> Iterator[PhysicalPlan]:
    if any(plan.decode.option(key) != value for key, value in rule.requires):
        return
    if any(plan.decode.option(key) == value for key, value in rule.unless):
        return
    if rule.first:
        if not plan.segments or plan.segments[0].barrier is not None:
            return
        first = plan.segments[0].stages[0]
        if not any(p.matches(first, pipeline, after_fill=False) for p in rule.first):
            return
    yield plan.replace_decode(plan.decode.with_options(**dict(rule.sets)), rule.name)
