"""Verification: a candidate against the original, sample by sample, under coupled seeds.

For each sample and seed: seed every RNG stream, run the original on what its loader
returns; seed again, run the candidate on the lazy image; then compare the outcome (same
exception class, or same type, shape and dtype), the values in 0..255 units of the image
before normalization, and every RNG stream's state afterwards.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from reorder.ir import ImageSpec, LogicalPipeline
from reorder.rng import preserved_rng, rng_state, seed_all, states_equal

# Tolerances by name: (lowest PSNR in dB on any sample, largest absolute error allowed),
# in 0..255 units. "exact" allows float rounding only: a filter coefficient computed in
# another order may flip a uint8 rounding in each of a resample's two separable passes,
# so a value may move by up to two levels, never more (PSNR stays high: rare flips).
TOLERANCES: dict[str, tuple[float, float]] = {
    "exact": (48.0, 2.001),  # the 0.001: float32 noise when un-normalizing
    "close": (35.0, math.inf),
    "fast": (30.0, math.inf),
}


@dataclass(frozen=True)
class Outcome:
    """What one call produced: an output, or the class of the exception it raised (and
    its message, for the report)."""

    output: Any
    error: type[BaseException] | None
    rng: tuple[Any, ...]
    message: str = ""


@dataclass(frozen=True)
class Verification:
    worst_psnr: float
    max_abs: float
    mean_abs: float
    samples: int
    problem: str | None  # why the candidate is not equivalent at all, if it is not
    # Which outcome (an index into the compared lists) had the worst error, or the
    # problem; None when every output was identical.
    worst_index: int | None = None
    # How many outputs were compared (the rest raised, in the original and the plan).
    compared: int = 0

    def within(self, tolerance: str, margin_db: float = 0.0) -> bool:
        min_psnr, max_abs = TOLERANCES[tolerance]
        psnr_ok = self.worst_psnr >= min_psnr + margin_db
        return self.problem is None and psnr_ok and self.max_abs <= max_abs

    def merged(self, other: Verification) -> Verification:
        """The verdict over this one's outcomes followed by `other`'s."""
        if self.problem is not None:
            return self
        if other.problem is not None:
            shifted = None if other.worst_index is None else other.worst_index + self.samples
            return replace(other, samples=self.samples + other.samples, worst_index=shifted)
        count = self.samples + other.samples
        compared = self.compared + other.compared
        total = self.mean_abs * self.compared + other.mean_abs * other.compared
        worst, index = self.worst_psnr, self.worst_index
        if other.worst_psnr < worst:
            worst, index = other.worst_psnr, other.worst_index + self.samples
        max_abs = max(self.max_abs, other.max_abs)
        return Verification(worst, max_abs, total / max(1, compared), count, None, index, compared)

    def verdict(self, tolerance: str, margin_db: float = 0.0) -> str:
        """The acceptance rule the planner applies, in words: "holds", "holds by less
        than the margin" (within the tolerance, not by `margin_db`) or "broken"."""
        if self.within(tolerance, margin_db):
            return "holds"
        if self.within(tolerance):
            return "holds by less than the margin"
        return "broken"


def run_coupled(
    fn: Callable[[Any], Any], argument: Any, seed: int, generators: Sequence[Any] = ()
) -> Outcome:
    seed_all(seed, generators)
    try:
        output, error, message = fn(argument), None, ""
    except Exception as exc:  # the contract compares exception classes
        output, error, message = None, type(exc), str(exc)
    return Outcome(output, error, rng_state(generators=generators), message)


def digest(outcomes: Sequence[Outcome]) -> str:
    """Fingerprint of what a candidate computed on the samples (outputs and errors)."""
    h = hashlib.sha1()
    for outcome in outcomes:
        if outcome.error is not None:
            h.update(outcome.error.__name__.encode())
        elif isinstance(image := _image(outcome.output), torch.Tensor):
            h.update(image.detach().contiguous().numpy().tobytes())
        else:
            h.update(np.asarray(image).tobytes())
    return h.hexdigest()


def output_units(
    pipeline: LogicalPipeline, references: Sequence[Outcome] = ()
) -> tuple[float, ...]:
    """Per-channel factors from output values to 0..255 units, from the modelled ops.

    An opaque op may change the values' scale (a Lambda dividing by 255), which the model
    cannot see past; there the original's own outputs (`references`) say it: their range
    spans at most 0..255 units, so 255 / range is a floor under the factor (stricter,
    never more lenient than the model)."""
    spec = ImageSpec(4096, 4096, kind=pipeline.input_kind)
    with preserved_rng(pipeline.generators):
        for op in pipeline.ops:
            if op.opaque:
                continue
            try:
                for concrete in op.sample(spec):
                    spec = concrete.output_spec(spec)
            except Exception:
                break
    units = spec.levels_per_unit
    if not any(op.opaque for op in pipeline.ops):
        return units
    spans = [_span(r.output) for r in references if r.error is None]
    spans = [s for s in spans if s > 0]
    if not spans:
        return units
    floor = 255.0 / max(spans)
    return tuple(max(u, floor) for u in units)


def _span(output: Any) -> float:
    """The range of the values in an output's image (0 when it has none)."""
    image = _image(output)
    if isinstance(image, torch.Tensor):
        values = image.detach().to(torch.float64)
        return float(values.max() - values.min()) if values.numel() else 0.0
    if isinstance(image, (np.ndarray, Image.Image)):
        values = np.asarray(image, dtype=np.float64)
        return float(values.max() - values.min()) if values.size else 0.0
    return 0.0


def _as_array(value: Any, units: Sequence[float]) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        arr = value.detach().to(torch.float64).numpy()
        channel_axis = -3 if arr.ndim >= 3 else None
    else:
        arr = np.asarray(value, dtype=np.float64)
        channel_axis = -1 if arr.ndim == 3 else None
    if channel_axis is None or arr.shape[channel_axis] != len(units):
        return arr * units[0]
    shape = [1] * arr.ndim
    shape[channel_axis] = len(units)
    return arr * np.asarray(units).reshape(shape)


def pixels(output: Any, units: Sequence[float]) -> np.ndarray:
    """The image in a pipeline output as an HxWxC (or HxW) float array in 0..255 units:
    what the errors are measured in (Normalize's scale undone, its offset not)."""
    arr = _as_array(_image(output), units)
    if isinstance(_image(output), torch.Tensor) and arr.ndim == 3:
        arr = np.moveaxis(arr, 0, -1)
    return arr


def _image(value: Any) -> Any:
    """The image in an output: albumentations returns {"image": ..., other targets}."""
    return value["image"] if isinstance(value, dict) else value


def _structure(value: Any) -> tuple[Any, ...]:
    if isinstance(value, dict):
        return ("dict", tuple((k, _structure(v)) for k, v in sorted(value.items())))
    if isinstance(value, torch.Tensor):
        return (type(value).__name__, tuple(value.shape), str(value.dtype))  # Image or Tensor
    if isinstance(value, Image.Image):
        return ("pil", value.size, value.mode)
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, str(value.dtype))
    return (type(value).__name__,)


def compare(
    references: Sequence[Outcome], candidates: Sequence[Outcome], units: Sequence[float]
) -> Verification:
    worst_psnr, max_abs, abs_sum, count, compared = math.inf, 0.0, 0.0, 0, 0
    worst: int | None = None
    for ref, got in zip(references, candidates, strict=True):
        if ref.error is not None or got.error is not None:
            # The plan may raise a subclass of the original's error (one that also names
            # the file): an `except` written for the original catches it.
            if ref.error is None or got.error is None or not issubclass(got.error, ref.error):
                names = (getattr(e, "__name__", "a result") for e in (ref.error, got.error))
                problem = "original {} vs plan {}".format(*names)
                return Verification(0.0, math.inf, math.inf, count, problem, count)
        elif _structure(ref.output) != _structure(got.output):
            problem = f"output {_structure(got.output)} differs from {_structure(ref.output)}"
            return Verification(0.0, math.inf, math.inf, count, problem, count)
        else:
            diff = np.abs(
                _as_array(_image(ref.output), units) - _as_array(_image(got.output), units)
            )
            mse = float(np.mean(diff**2)) if diff.size else 0.0
            psnr = 10 * math.log10(255.0**2 / mse) if mse > 0 else math.inf
            if psnr < worst_psnr:
                worst_psnr, worst = psnr, count
            max_abs = max(max_abs, float(diff.max()) if diff.size else 0.0)
            abs_sum += float(diff.mean()) if diff.size else 0.0
            compared += 1
        if not states_equal(ref.rng, got.rng):
            return Verification(
                0.0, math.inf, math.inf, count, "RNG state differs afterwards", count
            )
        count += 1
    mean = abs_sum / max(1, compared)
    return Verification(worst_psnr, max_abs, mean, count, None, worst, compared)
