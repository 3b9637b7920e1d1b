"""Where a plan was verified: the inputs it met, and the kernel paths it took on them.

The error of an approximate stage depends on the geometry it meets (the shrink on each
axis, the DCT factor of the decode, which branch a kernel takes), so a plan holds only as
far as its verification reached. An `Envelope` records that reach, per segment of the
plan: the range of input sizes and aspect ratios, and for each *path* (the kernels'
branches and the decode factor, as one key) the range of each stage's shrink per axis.
The runtime runs a segment as planned only inside it; elsewhere the segment takes the
exact path (the original's own kernels). Pure data: it round-trips through JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from reorder.ir.spec import ImageSpec

# Shrinks are compared with this relative slack: the same geometry computed by another
# float path (a box composed from a crop, a decode's rounded size) must still match.
_SLACK = 1e-9


@dataclass
class Bounds:
    """Closed ranges of a few numbers, grown by `include`."""

    low: list[float]
    high: list[float]

    @classmethod
    def of(cls, values: tuple[float, ...]) -> Bounds:
        return cls(list(values), list(values))

    def include(self, values: tuple[float, ...]) -> bool:
        """Grow to hold `values`; whether that grew the bounds."""
        low = [min(a, v) for a, v in zip(self.low, values, strict=True)]
        high = [max(a, v) for a, v in zip(self.high, values, strict=True)]
        grew = low != self.low or high != self.high
        self.low, self.high = low, high
        return grew

    def holds(self, values: tuple[float, ...]) -> bool:
        return len(values) == len(self.low) and all(
            lo * (1 - _SLACK) <= v <= hi * (1 + _SLACK)
            for lo, v, hi in zip(self.low, values, self.high, strict=True)
        )

    def to_list(self) -> list[list[float]]:
        return [self.low, self.high]

    @classmethod
    def from_list(cls, raw: Any, length: int | None = None) -> Bounds:
        """Bounds from `[low, high]` lists of finite numbers (of `length` each, if given)."""
        if not (
            isinstance(raw, list)
            and len(raw) == 2
            and all(isinstance(side, list) for side in raw)
            and len(raw[0]) == len(raw[1])
        ):
            raise ValueError("bounds must be [low, high] lists of one length")
        if length is not None and len(raw[0]) != length:
            raise ValueError(f"bounds must hold {length} values, not {len(raw[0])}")
        values = [_finite_number(v) for v in raw[0] + raw[1]]
        half = len(raw[0])
        return cls(values[:half], values[half:])


def _finite_number(value: Any) -> float:
    # A JSON integer may be 400 digits long: float() of it overflows.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"bounds must be numbers, not {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError("bounds must be finite numbers")
    return number


_SIZE_VALUES = 4


def size_values(spec: ImageSpec) -> tuple[float, ...]:
    """What the envelope bounds of an input: width, height, aspect ratio, channels
    (`_SIZE_VALUES` numbers)."""
    return (float(spec.width), float(spec.height), spec.width / spec.height, spec.channels)


@dataclass
class SegmentEnvelope:
    sizes: Bounds
    paths: dict[str, Bounds] = field(default_factory=dict)


@dataclass
class Envelope:
    """Per segment index: the input sizes met and, per path, the shrinks met."""

    segments: dict[int, SegmentEnvelope] = field(default_factory=dict)

    def record(self, segment: int, spec: ImageSpec, path: str, shrinks: tuple[float, ...]) -> bool:
        """Grow the envelope by one verified run of `segment`; whether it grew."""
        return self._include(segment, size_values(spec), path, shrinks)

    def _include(
        self, segment: int, sizes: tuple[float, ...], path: str, shrinks: tuple[float, ...]
    ) -> bool:
        known = self.segments.get(segment)
        if known is None:
            known = self.segments[segment] = SegmentEnvelope(Bounds.of(sizes))
            grew = True
        else:
            grew = known.sizes.include(sizes)
        if path in known.paths:
            return known.paths[path].include(shrinks) or grew
        known.paths[path] = Bounds.of(shrinks)
        return True

    def merge(self, other: Envelope) -> bool:
        """Grow to hold everything `other` holds; whether it grew."""
        grew = False
        for index, known in other.segments.items():
            for path, bounds in known.paths.items():
                for sizes in (known.sizes.low, known.sizes.high):
                    for shrinks in (bounds.low, bounds.high):
                        grew |= self._include(index, tuple(sizes), path, tuple(shrinks))
        return grew

    def admits(self, segment: int, spec: ImageSpec, path: str, shrinks: tuple[float, ...]) -> bool:
        """Whether this run of `segment` lies inside what was verified. A path of exact
        steps alone (key "") runs anywhere."""
        if not path:
            return True
        known = self.segments.get(segment)
        if known is None or not known.sizes.holds(size_values(spec)):
            return False
        bounds = known.paths.get(path)
        return bounds is not None and bounds.holds(shrinks)

    def describe(self) -> list[str]:
        """One line per segment, for the report."""
        lines = []
        for index, known in sorted(self.segments.items()):
            (w0, h0, a0, _), (w1, h1, a1, _) = known.sizes.low, known.sizes.high
            lines.append(
                f"segment {index}: inputs {w0:.0f}..{w1:.0f} x {h0:.0f}..{h1:.0f} px, "
                f"aspect {a0:.2f}..{a1:.2f}; {len(known.paths)} kernel path(s) verified"
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": [
                {
                    "index": index,
                    "sizes": known.sizes.to_list(),
                    "paths": {path: b.to_list() for path, b in sorted(known.paths.items())},
                }
                for index, known in sorted(self.segments.items())
            ]
        }

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
            raise ValueError("an envelope must be an object with a 'segments' list")
        envelope = cls()
        for raw in data["segments"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("paths"), dict):
                raise ValueError("each envelope segment must have 'index', 'sizes' and 'paths'")
            index = raw.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise ValueError("an envelope segment's 'index' must be an integer")
            paths = {str(k): Bounds.from_list(v) for k, v in raw["paths"].items()}
            sizes = Bounds.from_list(raw.get("sizes"), _SIZE_VALUES)
            envelope.segments[index] = SegmentEnvelope(sizes, paths)
        return envelope
