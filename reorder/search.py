"""From the logical pipeline to a ranked list of equivalent physical plans.

Start from the plan that does what the user wrote (the reference loader, the user's library
op by op), apply every rule to every plan reached until nothing new appears, dedup by
canonical form, and rank by the cost model. The search knows rules only through `RULES`
and the engine that applies them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from reorder.ir import LogicalPipeline, PhysicalPlan, Segment, Stage
from reorder.ir.physical import make_options
from reorder.ops import REFERENCE
from reorder.rules import EXACT_RULES, RULES, AnyRule, rewrites


def as_written(pipeline: LogicalPipeline) -> PhysicalPlan:
    segments = []
    for start, stop, opaque in pipeline.runs():
        if opaque:
            segments.append(Segment(barrier=start))
        else:
            segments.append(Segment(tuple(Stage(REFERENCE, (i,)) for i in range(start, stop))))
    decode = Stage("decode", options=make_options(backend=pipeline.loader))
    return PhysicalPlan(decode, tuple(segments))


def enumerate_plans(
    pipeline: LogicalPipeline, rules: Sequence[AnyRule] = RULES, limit: int = 256
) -> list[PhysicalPlan]:
    """Every plan the rules reach from `as_written` (breadth first, at most `limit`)."""
    start = as_written(pipeline)
    seen = {start.key(): start}
    frontier = deque([start])
    while frontier and len(seen) < limit:
        plan = frontier.popleft()
        for rule in rules:
            for rewritten in rewrites(rule, plan, pipeline):
                key = rewritten.key()
                if key not in seen and len(seen) < limit:
                    seen[key] = rewritten
                    frontier.append(rewritten)
    return list(seen.values())


def reachable_keys(pipeline: LogicalPipeline) -> set[str]:
    """Canonical forms of every plan the planner could have chosen, under any tolerance."""
    keys = {p.key() for p in enumerate_plans(pipeline)}
    return keys | {p.key() for p in enumerate_plans(pipeline, EXACT_RULES)}
