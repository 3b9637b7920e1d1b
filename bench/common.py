"""What the benchmark scripts share: the decode floor, re-verification on fresh seeds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

import reorder
from reorder.measure.verify import Verification
from reorder.ops.decode import decode_jpeg, jpeg_size
from reorder.optimizer import reverify

DCT_FACTORS = (8, 4, 2, 1)
# The planner verifies on seeds 0 and 1; re-verify on others.
VERIFY_SEEDS = (100, 101, 102)


class FloorInput(NamedTuple):
    path: str
    size: tuple[int, int]
    factor: int


def output_short_side(original: Callable[[str], Any], path: str) -> int:
    out = original(path)
    out = out["image"] if isinstance(out, dict) else out
    if isinstance(out, torch.Tensor):
        return min(out.shape[-2:])
    return min(out.shape[:2]) if isinstance(out, np.ndarray) else min(out.size)


def floor_input(path: str, short_side: int) -> FloorInput:
    """The largest DCT reduction whose decoded short side still covers `short_side`."""
    size = jpeg_size(Path(path).read_bytes())
    if size is None:
        raise ValueError(f"{path}: not a JPEG libjpeg-turbo decodes; no decode floor")
    factor = next(f for f in DCT_FACTORS if math.ceil(min(size) / f) >= short_side or f == 1)
    return FloorInput(path, size, factor)


def decode_floor(source: FloorInput) -> np.ndarray:
    return decode_jpeg(Path(source.path).read_bytes(), source.size, source.factor)


def verify(plan: reorder.Plan, paths: Sequence[str]) -> Verification:
    """The plan against the original on `paths`, with seeds the planner did not use."""
    return reverify(plan, paths, VERIFY_SEEDS).verification


def factor_text(factors: Sequence[int]) -> str:
    return ",".join(f"1/{f}" for f in sorted(set(factors), reverse=True))
