"""The physical plan: which kernel applies which logical ops, in which order. Pure data.

A plan is a decode stage followed by segments. A segment is either one opaque op (called
as the user wrote it) or a list of stages over a run of modeled ops. Each stage names a
kernel from `reorder.ops.KERNELS` and the logical ops whose concrete ops it applies.
Rules rewrite plans; the runtime executes them; JSON round-trips them.

The decode stage's options: `backend`, the reference loader's name or `FAST_DECODER`
(libjpeg-turbo, which can decode at a reduced DCT scale), and `min_shrink`, present when
the JPEG is decoded reduced: the source pixels per output pixel the first resample must
still have after the decode (so it still shrinks, with a filter of the right width).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

Options = tuple[tuple[str, Any], ...]

FAST_DECODER = "simplejpeg"
# Options renamed since plan files were first written: old name -> new name.
_RENAMED_OPTIONS = {"margin": "min_shrink"}


def make_options(**options: Any) -> Options:
    return tuple(sorted(options.items()))


@dataclass(frozen=True)
class Stage:
    kernel: str
    ops: tuple[int, ...] = ()
    options: Options = ()

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def with_options(self, **changes: Any) -> Stage:
        return replace(self, options=make_options(**{**dict(self.options), **changes}))

    def describe(self, op_names: list[str]) -> str:
        names = ", ".join(op_names[i] for i in self.ops)
        opts = ", ".join(f"{k}={v}" for k, v in self.options)
        inner = "; ".join(part for part in (names, opts) if part)
        return f"{self.kernel}({inner})"


@dataclass(frozen=True)
class Segment:
    stages: tuple[Stage, ...] = ()
    barrier: int | None = None  # index of the opaque op, for a barrier segment

    @property
    def ops(self) -> tuple[int, ...]:
        if self.barrier is not None:
            return (self.barrier,)
        return tuple(sorted(i for stage in self.stages for i in stage.ops))


@dataclass(frozen=True)
class PhysicalPlan:
    decode: Stage
    segments: tuple[Segment, ...]
    rules: tuple[str, ...] = ()  # names of the rules that produced it, in order

    @property
    def fast_decode(self) -> bool:
        return self.decode.option("backend") == FAST_DECODER

    @property
    def min_shrink(self) -> float:
        """> 0 when the first stage may decode the JPEG reduced (see the module docstring)."""
        return float(self.decode.option("min_shrink", 0.0))

    def replace_stages(self, segment_index: int, stages: list[Stage], rule: str) -> PhysicalPlan:
        segments = list(self.segments)
        segments[segment_index] = Segment(stages=tuple(stages))
        return PhysicalPlan(self.decode, tuple(segments), self.rules + (rule,))

    def replace_decode(self, decode: Stage, rule: str) -> PhysicalPlan:
        return PhysicalPlan(decode, self.segments, self.rules + (rule,))

    def key(self) -> str:
        """Canonical form for deduplication: the plan without its history."""
        return json.dumps(self.to_dict(with_rules=False), sort_keys=True)

    def describe(self, op_names: list[str], with_decode: bool = True) -> str:
        parts = [self.decode.describe(op_names)] if with_decode else []
        for segment in self.segments:
            if segment.barrier is not None:
                parts.append(f"[{op_names[segment.barrier]}]")
            else:
                parts.extend(stage.describe(op_names) for stage in segment.stages)
        return " -> ".join(parts)

    def to_dict(self, with_rules: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decode": _stage_to_dict(self.decode),
            "segments": [
                {"barrier": s.barrier}
                if s.barrier is not None
                else {"stages": [_stage_to_dict(st) for st in s.stages]}
                for s in self.segments
            ],
        }
        if with_rules:
            out["rules"] = list(self.rules)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhysicalPlan:
        """Rebuild from `to_dict` output. Checks shapes and types; kernels are checked by name
        in `plan.load`, which knows the registry."""
        segments = []
        for raw in _expect(data, "segments", list):
            if not isinstance(raw, dict):
                raise ValueError("each segment must be an object")
            if "barrier" in raw:
                segments.append(Segment(barrier=_expect(raw, "barrier", int)))
            else:
                stages = tuple(_stage_from_dict(s) for s in _expect(raw, "stages", list))
                segments.append(Segment(stages=stages))
        rules = tuple(_expect(data, "rules", list)) if "rules" in data else ()
        if not all(isinstance(r, str) for r in rules):
            raise ValueError("'rules' must be a list of names")
        return cls(_stage_from_dict(_expect(data, "decode", dict)), tuple(segments), rules)


_OPTION_TYPES = (str, int, float, bool, type(None))


def _stage_to_dict(stage: Stage) -> dict[str, Any]:
    return {"kernel": stage.kernel, "ops": list(stage.ops), "options": dict(stage.options)}


def _stage_from_dict(raw: Any) -> Stage:
    if not isinstance(raw, dict):
        raise ValueError("a stage must be an object")
    kernel = _expect(raw, "kernel", str)
    ops = _expect(raw, "ops", list)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ops):
        raise ValueError(f"stage {kernel!r}: 'ops' must be a list of integers")
    options = {_RENAMED_OPTIONS.get(k, k): v for k, v in _expect(raw, "options", dict).items()}
    for key, value in options.items():
        if not isinstance(value, _OPTION_TYPES):
            raise ValueError(f"stage {kernel!r}: option {key!r} must be a plain scalar")
    return Stage(kernel, tuple(ops), make_options(**options))


def _expect(data: dict[str, Any], key: str, kind: type) -> Any:
    if key not in data:
        raise ValueError(f"missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value
